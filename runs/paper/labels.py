"""Labels (SPEC §14): part number, identity and a QR code that opens the run, per run.

Three layouts: a common A4 sheet, a common US Letter sheet of address-size labels, and one
label a page for a label printer. A controlled run's label says EXPORT CONTROLLED.
"""

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import inch, mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from runs.models import Run
from runs.paper.fonts import BOLD, REGULAR, fitted, register_fonts
from runs.paper.look import INK, MARKING, MUTED
from runs.paper.qr import draw_qr


@dataclass(frozen=True)
class LabelLayout:
    """Where the labels sit on a page: `columns` by `rows` of them, from the top left.

    `left` and `top` are the page's margins to the first label; `across` and `down` the
    distance from one label's corner to the next one's (the label plus the gap).
    """

    key: str
    title: str
    page: tuple[float, float]
    width: float
    height: float
    columns: int = 1
    rows: int = 1
    left: float = 0
    top: float = 0
    across: float = 0
    down: float = 0

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def corner(self, slot: int) -> tuple[float, float]:
        """The lower left corner of the label in `slot` (0 is the top left, along the rows)."""
        row, column = divmod(slot, self.columns)
        x = self.left + column * self.across
        y = self.page[1] - self.top - row * self.down - self.height
        return x, y


LAYOUTS = {
    layout.key: layout
    for layout in (
        # Avery L7160 and the many sheets made to its measures.
        LabelLayout(
            key="a4",
            title="A4 sheet of 21 (63.5 × 38.1 mm, Avery L7160)",
            page=A4,
            width=63.5 * mm,
            height=38.1 * mm,
            columns=3,
            rows=7,
            left=7.2 * mm,
            top=15.1 * mm,
            across=66.0 * mm,
            down=38.1 * mm,
        ),
        # Avery 5160, the US address label.
        LabelLayout(
            key="letter",
            title="US Letter sheet of 30 (2⅝ × 1 in, Avery 5160)",
            page=LETTER,
            width=2.625 * inch,
            height=1 * inch,
            columns=3,
            rows=10,
            left=0.1875 * inch,
            top=0.5 * inch,
            across=2.75 * inch,
            down=1 * inch,
        ),
        # Brother DK-11209 and other 62 mm rolls cut to 29 mm.
        LabelLayout(
            key="62x29",
            title="One 62 × 29 mm label a page (label printer)",
            page=(62 * mm, 29 * mm),
            width=62 * mm,
            height=29 * mm,
        ),
    )
}
DEFAULT_LAYOUT = "a4"
# Smaller print than this is hard to read off a bin across a bench.
MINIMUM_SIZE = 5


def labels_pdf(runs: Iterable[Run], *, url_for: Callable[[Run], str], layout: LabelLayout) -> bytes:
    """One label per run, in the order given, filling `layout`'s pages.

    The runs come with their part and unit loaded. `url_for(run)` is the absolute address of
    the run's page, which its QR code opens.
    """
    register_fonts()
    buffer = io.BytesIO()
    # Not Helvetica, even for the page's opening (empty) text state: nothing Latin-1 only.
    canvas = Canvas(buffer, pagesize=layout.page, initialFontName=REGULAR)
    canvas.setTitle("Labels")
    canvas.setAuthor("ion-runs")
    slot = 0
    for run in runs:
        if slot == layout.per_page:
            canvas.showPage()
            slot = 0
        draw_label(canvas, run, url_for(run), *layout.corner(slot), layout.width, layout.height)
        slot += 1
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def draw_label(canvas, run: Run, url: str, x: float, y: float, width: float, height: float) -> None:
    """The QR code on the left, the part, identity and run to its right."""
    pad = min(2 * mm, height * 0.08)
    qr = min(height - 2 * pad, width * 0.38)
    draw_qr(canvas, url, x + pad, y + (height - qr) / 2, qr)
    # The code's own quiet zone is blank: the text starts a little into it.
    text_x = x + pad + qr * 0.92
    text_width = x + width - pad - text_x
    unit, part = run.part_inventory, run.part
    # Sizes are shares of the label's height, so the layouts need no sizes of their own. The
    # part and identity shrink to fit whole; the run's name is cut rather than made tiny.
    lines = [
        (BOLD, 0.11, INK, f"{part.number} rev {part.revision}", True),
        (BOLD, 0.16, INK, unit.identity, True),
        (REGULAR, 0.085, MUTED, f"Run #{run.number} · {run.name}", False),
    ]
    if run.export_controlled:
        lines.append((BOLD, 0.085, MARKING, "EXPORT CONTROLLED", True))
    sizes = [
        shrunk(text, font, min(share * height, 14), text_width) if shrink else min(share * height, 14)
        for font, share, _, text, shrink in lines
    ]
    baseline = y + height / 2 + sum(size * 1.2 for size in sizes) / 2
    for (font, _, color, text, _), size in zip(lines, sizes, strict=True):
        baseline -= size * 1.2
        canvas.setFont(font, size)
        canvas.setFillColor(color)
        canvas.drawString(text_x, baseline + size * 0.25, fitted(text, font, size, text_width))


def shrunk(text: str, font: str, size: float, width: float) -> float:
    """`size`, made smaller (down to 5 points) until `text` fits in `width`; past that it is cut."""
    # A hair under the exact fit, so rounding never cuts the last character.
    return max(min(size, 0.98 * size * width / max(stringWidth(text, font, size), 1)), MINIMUM_SIZE)
