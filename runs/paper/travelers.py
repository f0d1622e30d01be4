"""Travelers (SPEC §14): the paper that goes with a run, one or many runs in one PDF.

Each run starts on a new page: its name, number, part, identity, procedure version, due
date, assignee and batch, a QR code that opens its page, then every step in order with its
instructions and fields (type, rule, and a box to write the value in) and a sign-off line.
What the run has recorded prints instead of the blanks, so a worked run's traveler is its
as-built record. Every page carries the run, the export-control marking when the run is
controlled, and "Page x of y" counted within the run.
"""

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.formats import date_format
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from runs.models import Run
from runs.paper.fonts import BOLD, REGULAR, fitted, register_fonts
from runs.paper.look import INK, MARKING, MUTED, RULE
from runs.paper.qr import QRCode
from runs.paper.steps import StepBlock

PAGE = A4
MARGIN = 15 * mm
WIDTH = PAGE[0] - 2 * MARGIN
# What the running header and footer leave for the story, less the frame's own padding.
FRAME_HEIGHT = PAGE[1] - 2 * (MARGIN + 6 * mm) - 12
QR_SIZE = 28 * mm
# Field, type, rule and value columns of a step's table.
COLUMNS = (46 * mm, 24 * mm, 50 * mm, WIDTH - 120 * mm)
CELL_PADDING = 4
CONTROLLED_NOTICE = (
    "This traveler describes an export-controlled run. Share it only with export-cleared people, "
    "and keep it with the run."
)
# Every table starts from these: a cell with plain text takes the table's font, Helvetica
# unless told otherwise, even where it holds nothing.
TABLE_FONT = [("FONT", (0, 0), (-1, -1), REGULAR, 9), ("TEXTCOLOR", (0, 0), (-1, -1), INK)]


@dataclass(frozen=True)
class RunMark:
    """What the running header and footer of a run's pages say."""

    number: int
    name: str
    controlled: bool


@cache
def styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    base = ParagraphStyle("body", fontName=REGULAR, fontSize=9, leading=11.5, textColor=INK)
    return {
        "body": base,
        "kicker": ParagraphStyle("kicker", base, fontName=BOLD, fontSize=8, textColor=MUTED, leading=10),
        "title": ParagraphStyle("title", base, fontName=BOLD, fontSize=17, leading=21, spaceAfter=2),
        "subtitle": ParagraphStyle("subtitle", base, fontSize=10.5, leading=13, textColor=MUTED),
        "label": ParagraphStyle("label", base, fontName=BOLD, fontSize=8, leading=10, textColor=MUTED),
        "heading": ParagraphStyle("heading", base, fontName=BOLD, fontSize=12, leading=15, spaceBefore=8),
        "step": ParagraphStyle("step", base, fontName=BOLD, fontSize=10.5, leading=13),
        "status": ParagraphStyle("status", base, fontSize=8.5, leading=11, textColor=MUTED, alignment=2),
        "small": ParagraphStyle("small", base, fontSize=8, leading=10, textColor=MUTED),
        "marking": ParagraphStyle("marking", base, fontName=BOLD, fontSize=11, leading=14, textColor=MARKING),
        "value": ParagraphStyle("value", base, fontName=BOLD),
    }


def travelers_pdf(runs: Iterable[Run], *, url_for: Callable[[Run], str]) -> bytes:
    """One PDF with a traveler for each run, in the order given.

    The runs come with their part, unit, procedure version, assignee, batch and creator
    loaded, and their steps with fields in order (`printing.with_steps`). `url_for(run)` is the
    absolute address of the run's page, which its QR code opens.
    """
    sheet = styles()
    story: list[Flowable] = []
    for run in runs:
        if story:
            story.append(PageBreak())
        story.extend(run_story(run, url_for(run), sheet))
    if not story:
        story.append(Paragraph("No runs to print.", sheet["heading"]))
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + 6 * mm,
        bottomMargin=MARGIN + 6 * mm,
        title="Travelers",
        author="ion-runs",
        # Not Helvetica, even for a page's opening (empty) text state: nothing Latin-1 only.
        initialFontName=REGULAR,
    )
    document.build(story, canvasmaker=TravelerCanvas)
    return buffer.getvalue()


def run_story(run: Run, url: str, sheet) -> list[Flowable]:
    story: list[Flowable] = [StartOfRun(RunMark(run.number, run.name, run.export_controlled))]
    story.append(header(run, url, sheet))
    if run.export_controlled:
        story.append(Spacer(0, 3 * mm))
        story.append(controlled_box(sheet))
    story.append(Spacer(0, 4 * mm))
    story.append(facts(run, sheet))
    steps = list(run.steps.all())
    if not run.procedure_version_id:
        story.append(Paragraph("Steps", sheet["heading"]))
        story.append(
            Paragraph("No procedure yet: its steps print once one is added to the run.", sheet["body"])
        )
        return story
    count = f"{len(steps)} step{'s' if len(steps) != 1 else ''}"
    story.append(
        Paragraph(f"Steps <font name='{REGULAR}' size='9' color='#5f6b7a'>{count}</font>", sheet["heading"])
    )
    story.append(Spacer(0, 2 * mm))
    for step in steps:
        story.append(StepBlock(step, width=WIDTH, columns=COLUMNS, page_height=FRAME_HEIGHT))
        story.append(Spacer(0, 3 * mm))
    return story


def header(run: Run, url: str, sheet) -> Table:
    version = run.procedure_version
    left_width, right_width = WIDTH - QR_SIZE - 2 * mm, QR_SIZE + 2 * mm
    left = [
        line("TRAVELER", sheet["kicker"], left_width),
        line(run.name, sheet["title"], left_width),
        line(
            f"Run #{run.number} · {run.get_status_display()}"
            + (f" · {version.title} v{version.number}" if version else ""),
            sheet["subtitle"],
            left_width,
        ),
    ]
    right = [QRCode(url, QR_SIZE), line("Scan to open the run", sheet["small"], right_width)]
    table = Table([[left, right]], colWidths=(left_width, right_width))
    table.setStyle(HEADER_STYLE)
    return table


# The tables' styles are the same for every run: made once, as a TableStyle costs more to make
# than the table it styles.
HEADER_STYLE = TableStyle(
    [
        *TABLE_FONT,
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("ALIGN", (1, 0), (1, 0), "CENTER"),
        ("LINEBELOW", (0, 0), (-1, 0), 1.2, INK),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
)
FACTS_STYLE = TableStyle(
    [
        *TABLE_FONT,
        *(("FONT", (column, 0), (column, -1), BOLD, 8) for column in (0, 2)),
        *(("TEXTCOLOR", (column, 0), (column, -1), MUTED) for column in (0, 2)),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
    ]
)


def controlled_box(sheet) -> Table:
    table = Table(
        [[Paragraph("EXPORT CONTROLLED", sheet["marking"]), Paragraph(CONTROLLED_NOTICE, sheet["body"])]],
        colWidths=(58 * mm, WIDTH - 58 * mm),
    )
    table.setStyle(
        TableStyle(
            [
                *TABLE_FONT,
                ("BOX", (0, 0), (-1, -1), 1.5, MARKING),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return table


def facts(run: Run, sheet) -> Table:
    """The run's header facts, two pairs of label and value a row."""
    part, unit, version = run.part, run.part_inventory, run.procedure_version
    if unit.serial_number:
        identity = f"Serial number {unit.serial_number}"
    elif unit.lot_number:
        identity = f"Lot {unit.lot_number} × {unit.quantity}"
    else:
        identity = f"Quantity {unit.quantity}"
    if run.assigned_user:
        assignee = str(run.assigned_user)
    elif run.assigned_team:
        assignee = f"{run.assigned_team} (team)"
    else:
        assignee = "Unassigned"
    created = date_format(timezone.localtime(run.created_at), "j M Y, H:i")
    pairs = [
        (
            "Part",
            f"{part.number} rev {part.revision}" + (f" · {part.description}" if part.description else ""),
        ),
        ("Identity", identity),
        ("Procedure", f"{version.title} · v{version.number}" if version else "None yet"),
        ("Due date", date_format(run.due_date, "j M Y") if run.due_date else "No due date"),
        ("Assigned to", assignee),
        ("Batch", run.batch.name if run.batch else "None"),
        ("Status", run.get_status_display()),
        ("Created", f"{created} by {run.created_by}" if run.created_by else created),
    ]
    label_width, value_width = 24 * mm, WIDTH / 2 - 24 * mm
    rows = []
    for i in range(0, len(pairs), 2):
        row = []
        for label, value in pairs[i : i + 2]:
            row += [label, cell(value, sheet["body"], value_width)]
        rows.append(row)
    table = Table(rows, colWidths=(label_width, value_width) * 2)
    table.setStyle(FACTS_STYLE)
    return table


def cell(text: str, style: ParagraphStyle, width: float):
    """`text` for a table cell: as a plain string when it fits on one line, else a Paragraph.

    A plain string costs a table next to nothing; a Paragraph wraps, but has to be laid out.
    Two hundred travelers of thirty steps hold tens of thousands of cells. A plain string takes
    the table's font for its cell, so the table's style names the same font as `style`.
    """
    if "\n" not in text and stringWidth(text, style.fontName, style.fontSize) <= width - 2 * CELL_PADDING:
        return text
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def line(text: str, style: ParagraphStyle, width: float) -> Flowable:
    """`text` in `style` as a Paragraph would print it in `width` points, as one `Line` if it can be.

    A Paragraph parses, breaks and lays out its text; a header is mostly single short lines.
    The text must be on one line already as a Paragraph sets it: its spaces single, none at
    either end (a Paragraph collapses them), and narrower than `width`.
    """
    if " ".join(text.split()) == text and stringWidth(text, style.fontName, style.fontSize) < width - 0.01:
        return Line(text, style)
    return Paragraph(escape(text), style)


class Line(Flowable):
    """One line of text in a paragraph style, placed exactly where a one-line Paragraph puts it."""

    def __init__(self, text: str, style: ParagraphStyle):
        super().__init__()
        self.text, self.style = text, style

    def wrap(self, available_width, available_height):
        self.width, self.height = available_width, self.style.leading
        return self.width, self.height

    def draw(self):
        style, canvas = self.style, self.canv
        canvas.saveState()
        canvas.setFont(style.fontName, style.fontSize, style.leading)
        canvas.setFillColor(style.textColor)
        # A Paragraph's first baseline is its font size below its top.
        canvas.drawString(0, self.height - style.fontSize, self.text)
        canvas.restoreState()


class StartOfRun(Flowable):
    """Marks where a run begins, so the pages that follow carry its header and footer."""

    def __init__(self, mark: RunMark):
        super().__init__()
        self.mark = mark
        self.width = self.height = 0

    def draw(self):
        self.canv.run_mark = self.mark


class TravelerCanvas(Canvas):
    """Keeps every page until the end, to number the pages of each run ("Page 2 of 3").

    The page counts are only known when the last page of a run is laid out, so the header
    and footer are drawn on each kept page when the document is saved.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.run_mark: RunMark | None = None
        self.kept_pages: list[dict] = []

    def showPage(self):
        self.kept_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        marks = [page["run_mark"] for page in self.kept_pages]
        totals: dict[RunMark | None, int] = {}
        for mark in marks:
            totals[mark] = totals.get(mark, 0) + 1
        seen: dict[RunMark | None, int] = {}
        printed = date_format(timezone.localtime(), "j M Y, H:i")
        for page in self.kept_pages:
            self.__dict__.update(page)
            mark = self.run_mark
            seen[mark] = seen.get(mark, 0) + 1
            self.draw_frame(mark, seen[mark], totals[mark], printed)
            super().showPage()
        super().save()

    def draw_frame(self, mark: RunMark | None, page: int, pages: int, printed: str) -> None:
        width, height = PAGE
        top, bottom = height - MARGIN, MARGIN
        self.saveState()
        self.setFillColor(MUTED)
        self.setFont(REGULAR, 7.5)
        if mark:
            self.drawString(
                MARGIN, top, fitted(f"Traveler · Run #{mark.number} · {mark.name}", REGULAR, 7.5, WIDTH * 0.6)
            )
            if mark.controlled:
                self.setFillColor(MARKING)
                self.setFont(BOLD, 8)
                self.drawRightString(width - MARGIN, top, "EXPORT CONTROLLED")
                self.drawCentredString(width / 2, bottom, "EXPORT CONTROLLED")
                self.setFillColor(MUTED)
                self.setFont(REGULAR, 7.5)
            self.drawRightString(width - MARGIN, bottom, f"Page {page} of {pages}")
        self.drawString(MARGIN, bottom, f"Printed {printed}")
        self.setStrokeColor(RULE)
        self.setLineWidth(0.4)
        self.line(MARGIN, top - 2.5 * mm, width - MARGIN, top - 2.5 * mm)
        self.line(MARGIN, bottom + 3.5 * mm, width - MARGIN, bottom + 3.5 * mm)
        self.restoreState()
