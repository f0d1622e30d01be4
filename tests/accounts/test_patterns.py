import datetime

import pytest
from django.core.exceptions import ValidationError

from ion_runs.accounts.patterns import next_in_sequence, render_pattern, validate_pattern


def test_it_renders_every_token():
    value = render_pattern(
        "{part}-{rev}-{yyyy}{mm}{dd}-{yy}-{seq:05}",
        part_number="BRKT-001",
        revision="B",
        seq=42,
        today=datetime.date(2026, 3, 7),
    )
    assert value == "BRKT-001-B-20260307-26-00042"


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [("SN-0007", 1, "SN-0008"), ("SN-0007", 2, "SN-0009"), ("SN-0999", 1, "SN-1000"), ("A9", 1, "A10")],
)
def test_it_increments_the_trailing_number(value, step, expected):
    assert next_in_sequence(value, step) == expected


def test_it_refuses_patterns_without_a_sequence():
    with pytest.raises(ValidationError, match=r"\{seq\}"):
        validate_pattern("{part}-X")


def test_it_refuses_unknown_tokens():
    with pytest.raises(ValidationError, match="Unknown token"):
        validate_pattern("{serial}-{seq}")
