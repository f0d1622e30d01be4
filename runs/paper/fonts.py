"""The font every document prints in: DejaVu Sans, shipped in fonts/ with its licence.

reportlab's built-in fonts cover Latin-1 only, so a Cyrillic or Greek run name would print as
black boxes; DejaVu covers those scripts. A missing file is an error, never a silent fallback.
"""

from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont

FOLDER = Path(__file__).resolve().parent / "fonts"
REGULAR = "DejaVuSans"
BOLD = "DejaVuSans-Bold"


@cache
def register_fonts() -> None:
    """Register the regular and bold faces with reportlab, once per process."""
    for name in (REGULAR, BOLD):
        pdfmetrics.registerFont(TTFont(name, str(FOLDER / f"{name}.ttf")))
    pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR, boldItalic=BOLD)


def fitted(text: str, font: str, size: float, width: float) -> str:
    """`text`, cut with an ellipsis where it would run past `width` points."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"
