"""A traveler's step as one flowable: title and state, instructions, a row per field, sign-off.

Drawn with the canvas's own lines and strings rather than platypus Tables and Paragraphs:
two hundred travelers of thirty steps are 6,000 steps and 18,000 fields, and a Table of
Paragraphs lays each of them out several times over (wrap, split, draw), ten times slower.
Text is wrapped once, when the block is made; the block moves to the next page whole unless
it is taller than a page, when it splits between fields and repeats its title. A block drawn
once is kept as a form (a PDF XObject) and shown again wherever the same block recurs: a
batch's runs share their steps, and their blanks, so most are drawn once per PDF.
"""

import datetime
from functools import lru_cache
from typing import NamedTuple

from django.utils import timezone, translation
from django.utils.formats import date_format
from reportlab.lib.utils import simpleSplit
from reportlab.platypus import Flowable

from procedures.models import FieldType
from runs.models import RunStep, RunStepField, StepStatus
from runs.paper.fonts import BOLD, REGULAR, fitted
from runs.paper.look import INK, MUTED, RULE, SHADE

PAD = 4  # left and right of every cell
LEADING = 1.25  # line height as a share of the font size
TITLE = (BOLD, 10.5)
STATE = (REGULAR, 8.5)
TEXT = (REGULAR, 9)
RULE_TEXT = (REGULAR, 8)
VALUE = (BOLD, 9)
HEADING = (BOLD, 7.5)
# Room to write a value by hand below the cell's text.
WRITING_ROOM = 12
WRITE_NAME = "Name ____________________   Date ___________"
# Instructions longer than this print cut: a step is never taller than a page before its fields.
INSTRUCTION_LINES = 40
FINISHED = {StepStatus.COMPLETE: "Completed", StepStatus.CANCELED: "Skipped", StepStatus.FAILED: "Failed"}
# What get_type_display() and get_status_display() say, looked up once: each call of those
# flattens the field's choices again, and a batch's traveler makes 24,000 of them.
TYPE_NAMES = dict(FieldType.choices)
STATUS_NAMES = dict(StepStatus.choices)


# Named tuples rather than frozen dataclasses: as cheap to make as a tuple (a traveler of a
# batch makes 90,000 of them), and as hashable, for the block's key.
class Cell(NamedTuple):
    lines: tuple[str, ...]
    font: tuple[str, float]
    muted: bool = False


class Row(NamedTuple):
    cells: tuple[Cell, ...]
    blank: bool

    def height(self) -> float:
        text = max(len(cell.lines) * cell.font[1] * LEADING for cell in self.cells)
        return text + 6 + (WRITING_ROOM if self.blank else 0)


class StepBlock(Flowable):
    """One step of a run, `width` points wide, its field columns `columns` wide."""

    def __init__(self, step: RunStep, *, width: float, columns: tuple[float, ...], page_height: float):
        super().__init__()
        self.width, self.columns, self.page_height = width, columns, page_height
        # Centred as platypus centres tables, which are as wide as the frame less its padding.
        self.hAlign = "CENTER"
        self.title = f"{step.position}.  {step.title}"
        self.state = step_state(step)
        self.instructions = wrap(step.instructions, TEXT, width - 2 * PAD)
        if len(self.instructions) > INSTRUCTION_LINES:
            self.instructions = (
                *self.instructions[: INSTRUCTION_LINES - 1],
                "… (the rest is on the run's page)",
            )
        self.rows = [field_row(field, columns) for field in step.fields.all()]
        self.signoff = signoff(step)
        self.continued = False

    # -- layout -------------------------------------------------------------------------------

    def head_height(self) -> float:
        height = TITLE[1] * LEADING + 8
        if self.instructions and not self.continued:
            height += len(self.instructions) * TEXT[1] * LEADING + 4
        if self.rows:
            height += HEADING[1] * LEADING + 6
        return height

    def tail_height(self) -> float:
        return TEXT[1] * LEADING + 12

    def wrap(self, available_width, available_height):
        self.height = self.head_height() + sum(row.height() for row in self.rows) + self.tail_height()
        return self.width, self.height

    def split(self, available_width, available_height):
        """Whole on the next page, unless taller than a page: then split between two fields."""
        self.wrap(available_width, available_height)
        if self.height <= self.page_height:
            return []
        room = available_height - self.head_height()
        taken = 0
        for count, row in enumerate(self.rows):
            if room < row.height():
                break
            room -= row.height()
            taken = count + 1
        if taken == 0:
            return []
        first, rest = self.copy(self.rows[:taken]), self.copy(self.rows[taken:])
        first.signoff = None
        rest.continued = True
        return [first, rest]

    def copy(self, rows: list[Row]) -> "StepBlock":
        block = StepBlock.__new__(StepBlock)
        Flowable.__init__(block)
        block.__dict__.update({**self.__dict__, "rows": rows})
        return block

    # -- drawing ------------------------------------------------------------------------------

    def key(self) -> tuple:
        """Everything the block draws: two blocks with the same key look the same."""
        return (
            self.width,
            self.height,
            self.columns,
            self.title,
            self.state,
            tuple(self.instructions),
            self.continued,
            tuple(self.rows),
            self.signoff,
        )

    def draw(self):
        canvas = self.canv
        forms = canvas.__dict__.setdefault("step_forms", {})
        key = self.key()
        if key not in forms:
            forms[key] = f"step{len(forms)}"
            canvas.beginForm(forms[key], 0, 0, self.width, self.height)
            self.draw_block(canvas)
            canvas.endForm()
        canvas.doForm(forms[key])

    def draw_block(self, canvas):
        width = self.width
        y = self.height
        band = TITLE[1] * LEADING + 8
        canvas.setFillColor(SHADE)
        canvas.rect(0, y - band, width, band, stroke=0, fill=1)
        canvas.setStrokeColor(INK)
        canvas.setLineWidth(1)
        canvas.line(0, y, width, y)
        title = self.title + (" (continued)" if self.continued else "")
        text(canvas, PAD, y - band + 5, fitted(title, *TITLE, width * 0.6), TITLE, INK)
        if self.state:
            canvas.setFont(*STATE)
            canvas.drawRightString(width - PAD, y - band + 5.5, fitted(self.state, *STATE, width * 0.38))
        y -= band
        if self.instructions and not self.continued:
            y -= 2
            for line in self.instructions:
                y -= TEXT[1] * LEADING
                text(canvas, PAD, y + 2, line, TEXT, INK)
            y -= 2
        if self.rows:
            y -= HEADING[1] * LEADING + 6
            x = 0
            for heading, column in zip(("FIELD", "TYPE", "RULE", "VALUE"), self.columns, strict=True):
                text(canvas, x + PAD, y + 4, heading, HEADING, MUTED)
                x += column
            rule(canvas, y, width, 0.4)
        for row in self.rows:
            height = row.height()
            x = 0
            for cell, column in zip(row.cells, self.columns, strict=True):
                line_y = y - 3
                for line in cell.lines:
                    line_y -= cell.font[1] * LEADING
                    text(canvas, x + PAD, line_y + 2, line, cell.font, MUTED if cell.muted else INK)
                x += column
            if row.blank:
                # A box in the value column says where to write.
                canvas.setStrokeColor(RULE)
                canvas.setLineWidth(0.6)
                canvas.rect(
                    width - self.columns[-1], y - height + 2, self.columns[-1], height - 2, stroke=1, fill=0
                )
            y -= height
            rule(canvas, y, width, 0.3)
        if self.signoff is not None:
            bold, rest = self.signoff
            y -= TEXT[1] * LEADING + 6
            text(canvas, PAD, y + 4, bold, (BOLD, TEXT[1]), INK)
            canvas.setFont(*TEXT)
            canvas.drawString(PAD + canvas.stringWidth(bold + "  ", BOLD, TEXT[1]), y + 4, rest)
            canvas.setStrokeColor(INK)
            canvas.setLineWidth(0.8)
            canvas.line(0, y - 6 + 2, width, y - 6 + 2)


def text(canvas, x, y, line: str, font: tuple[str, float], color) -> None:
    canvas.setFont(*font)
    canvas.setFillColor(color)
    canvas.drawString(x, y, line)


def rule(canvas, y: float, width: float, weight: float) -> None:
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(weight)
    canvas.line(0, y, width, y)


# A batch's runs repeat the same labels, rules and blanks thousands of times: measure each once.
@lru_cache(maxsize=4096)
def wrap(text: str, font: tuple[str, float], width: float) -> tuple[str, ...]:
    return tuple(simpleSplit(text, font[0], font[1], width)) if text else ()


def field_row(field: RunStepField, columns: tuple[float, ...]) -> Row:
    """A field's label, type, rule, and its value or what to write it on."""
    value = field.shown_value
    if field.type == FieldType.FILE and field.file:
        value = field.file.name.rsplit("/", 1)[-1]
    label = f"{field.label} *" if field.required else field.label
    return row(
        label, TYPE_NAMES.get(field.type, field.type), field.rule, value or blank(field), bool(value), columns
    )


# The same field prints the same row on every run of a batch: its texts are worked out per
# field, the row they make (four wrapped cells) once.
@lru_cache(maxsize=4096)
def row(label: str, kind: str, rule: str, value: str, filled: bool, columns: tuple[float, ...]) -> Row:
    inner = [column - 2 * PAD for column in columns]
    return Row(
        (
            Cell(wrap(label, TEXT, inner[0]), TEXT),
            Cell(wrap(kind, TEXT, inner[1]), TEXT),
            Cell(wrap(rule, RULE_TEXT, inner[2]), RULE_TEXT, muted=True),
            Cell(wrap(value, VALUE, inner[3]), VALUE) if filled else Cell(wrap(value, TEXT, inner[3]), TEXT),
        ),
        blank=not filled,
    )


def blank(field: RunStepField) -> str:
    """What an empty value cell shows: choices to tick, sign-off lines, or nothing to write in."""
    match field.type:
        case FieldType.BOOLEAN:
            return "☐ Yes    ☐ No"
        case FieldType.SELECT | FieldType.MULTISELECT:
            return "   ".join(f"☐\u00a0{option}" for option in field.options)
        case FieldType.SIGNOFF:
            return "Name ________________\n\nDate ________________"
    return ""


def step_state(step: RunStep) -> str:
    """How far the step got, for its title row ("" while it is still to do)."""
    if step.status == StepStatus.TODO:
        return ""
    state = STATUS_NAMES.get(step.status, step.status)
    if step.status == StepStatus.IN_PROGRESS and step.started_at:
        state += f" since {moment(step.started_at)}"
    if step.status_reason:
        state += f": {step.status_reason}"
    return state


def moment(when: datetime.datetime) -> str:
    """`when` in local time, as the run's page shows it ("7 Dec 2026, 14:30")."""
    return local_moment(when, timezone.get_current_timezone_name(), translation.get_language())


# A batch's runs finish each step together: the same moments, formatted once (per time zone
# and language, which the request may have switched).
@lru_cache(maxsize=1024)
def local_moment(when: datetime.datetime, zone: str, language: str | None) -> str:
    return date_format(timezone.localtime(when), "j M Y, H:i")


def signoff(step: RunStep) -> tuple[str, str]:
    """Who finished the step and when, or lines to write both on: (the bold words, the rest)."""
    if step.finished_at and step.status in FINISHED:
        who = step.finished_by or "a user since removed"
        return f"{FINISHED[step.status]} by {who}", moment(step.finished_at)
    return "Step done by", WRITE_NAME
