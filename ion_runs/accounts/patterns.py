"""Serial and lot number patterns such as ``{part}-{seq:05}``."""

import datetime
import re

from django.core.exceptions import ValidationError

TOKENS = ("part", "rev", "yyyy", "yy", "mm", "dd", "seq")


def render_pattern(pattern: str, *, part_number: str, revision: str, seq: int, today: datetime.date) -> str:
    return pattern.format(
        part=part_number,
        rev=revision,
        yyyy=f"{today:%Y}",
        yy=f"{today:%y}",
        mm=f"{today:%m}",
        dd=f"{today:%d}",
        seq=seq,
    )


def validate_pattern(pattern: str) -> None:
    if "{seq" not in pattern:
        raise ValidationError("A pattern needs a {seq} token, or its values would repeat.")
    try:
        render_pattern(pattern, part_number="P", revision="A", seq=1, today=datetime.date(2000, 1, 1))
    except (KeyError, ValueError, IndexError) as exc:
        raise ValidationError(
            f"Unknown token or format in pattern ({exc}). Tokens: " + ", ".join(f"{{{t}}}" for t in TOKENS)
        ) from exc


TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)$")


def next_in_sequence(value: str, step: int) -> str:
    """`SN-0007`, step 2 → `SN-0009`: increment the trailing number, keeping its width."""
    match = TRAILING_NUMBER.match(value)
    if not match:
        return f"{value}-{step + 1}"
    prefix, digits = match.groups()
    return f"{prefix}{int(digits) + step:0{len(digits)}d}"
