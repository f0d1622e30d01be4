"""The Runs page's current filter and sort as CSV or XLSX: every run, never all in memory.

Runs are read with `.iterator()` in chunks, as plain values (no model instances), and
written as they come: the CSV streams to the browser row by row; the XLSX is written row by
row (runs.spreadsheets.xlsx, SpreadsheetML without openpyxl) into a temporary file that is then
streamed.

Any text cell a spreadsheet could take for a formula (starting with = + - @, a tab or a
carriage return) gets a leading apostrophe: a run name like `=HYPERLINK(…)` typed by one
planner must not run in another's spreadsheet.
"""

import csv
import io
import itertools
import json
import tempfile
from collections.abc import Iterable, Iterator

from django.db.models.fields.json import KT
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone

from runs.access import visible_runs
from runs.models import AttributeType, RunAttributeDefinition, RunBatch
from runs.run_filters import RunFilterForm
from runs.spreadsheets.columns import attribute_column
from runs.spreadsheets.xlsx import write_xlsx

CHUNK = 5_000
FORMULA_STARTS = "=+-@\t\r"
TEXT, FLAG, MOMENT = "text", "flag", "moment"
# (column, the value read from the run, how its cells are written) in the order of the file.
# TEXT is anything a person typed: it may start like a formula. Numbers, codes and dates
# are written as they come (csv writes None as an empty cell, str(date) is ISO).
FIELDS = (
    ("number", "number", None),
    ("name", "name", TEXT),
    ("status", "status", None),
    ("part.number", "part__number", TEXT),
    ("part.revision", "part__revision", TEXT),
    ("procedure", "procedure_version_id", None),
    ("procedure.title", "procedure_version__title", TEXT),
    ("procedure.version", "procedure_version__number", None),
    ("source", "source", None),
    ("tracking_type", "tracking_type", None),
    ("serial_number", "part_inventory__serial_number", TEXT),
    ("lot_number", "part_inventory__lot_number", TEXT),
    ("quantity", "part_inventory__quantity", None),
    ("due_date", "due_date", None),
    ("export_controlled", "export_controlled", FLAG),
    ("assignee.user", "assigned_user__username", TEXT),
    ("assignee.team", "assigned_team__name", TEXT),
    ("batch_name", "batch__name", TEXT),
    ("created_at", "created_at", MOMENT),
    ("created_by", "created_by__username", TEXT),
)
TEXT_AT = [i for i, (_, _, kind) in enumerate(FIELDS) if kind == TEXT]
FLAG_AT = [i for i, (_, _, kind) in enumerate(FIELDS) if kind == FLAG]
MOMENT_AT = [i for i, (_, _, kind) in enumerate(FIELDS) if kind == MOMENT]
BATCH_AT = [lookup for _, lookup, _ in FIELDS].index("batch__name")


def neutralise(value):
    """A text cell a spreadsheet will show as text, never evaluate."""
    if value and isinstance(value, str) and value[0] in FORMULA_STARTS:
        return "'" + value
    return value


def attribute(kind: str, text: str | None):
    """A custom attribute's cell from its JSON value's text: choices joined, flags as yes/no."""
    if text is None:
        return None
    if kind == AttributeType.MULTISELECT and text.startswith("["):
        return neutralise(", ".join(map(str, json.loads(text))))
    if kind == AttributeType.BOOLEAN:
        return "yes" if text == "true" else "no"
    return neutralise(text)


class Export:
    """The rows of one export: the runs the Runs page shows for this query string."""

    def __init__(self, user, query):
        form = RunFilterForm(query, user=user)
        form.is_valid()  # As on the page: invalid filters are left out.
        self.runs = form.apply(visible_runs(user))
        self.user = user
        self.attributes = list(
            RunAttributeDefinition.objects.filter(organisation_id=user.organisation_id).values_list(
                "key", "type"
            )
        )
        # A hidden batch's name would describe export-controlled runs (see runs.access).
        self.visible_batches: set[int] | None = None
        if not user.export_cleared:
            self.visible_batches = set(RunBatch.objects.visible_to(user).values_list("pk", flat=True))
        self.header = [column for column, _, _ in FIELDS] + [attribute_column(k) for k, _ in self.attributes]

    def rows(self) -> Iterator[list]:
        """Each run's cells: dates as dates (local time), flags as yes/no, text neutralised.

        Written column by column kind rather than cell by cell type: at 100,000 runs of 20
        columns, a function call per cell was most of the export's time.
        """
        lookups = [lookup for _, lookup, _ in FIELDS]
        # Each attribute as the text PostgreSQL holds (->>), so no row's JSON is decoded whole.
        texts = {f"attribute_{i}": KT(f"attributes__{key}") for i, (key, _) in enumerate(self.attributes)}
        values = self.runs.annotate(**texts).values_list(*lookups, "batch_id", *texts)
        tz = timezone.get_current_timezone()
        width, visible, kinds = len(FIELDS), self.visible_batches, [kind for _, kind in self.attributes]
        for row in values.iterator(chunk_size=CHUNK):
            cells = list(row[:width])
            for i in TEXT_AT:
                value = cells[i]
                if value and value[0] in FORMULA_STARTS:
                    cells[i] = "'" + value
            for i in FLAG_AT:
                cells[i] = "yes" if cells[i] else "no"
            for i in MOMENT_AT:
                cells[i] = cells[i].astimezone(tz).replace(tzinfo=None, microsecond=0)
            if visible is not None and row[width] not in visible:
                cells[BATCH_AT] = None
            if kinds:
                cells += [attribute(kind, text) for kind, text in zip(kinds, row[width + 1 :], strict=True)]
            yield cells

    def filename(self, extension: str) -> str:
        return f"runs-{timezone.localdate().isoformat()}.{extension}"


def csv_lines(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    """The file in pieces of many rows: a byte-order mark so Excel reads UTF-8, then the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield "\ufeff" + buffer.getvalue()
    for piece in itertools.batched(rows, 1_000):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(piece)
        yield buffer.getvalue()


def csv_response(export: Export) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        csv_lines(export.header, export.rows()), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{export.filename("csv")}"'
    return response


def xlsx_response(export: Export) -> FileResponse:
    # Spooled: a small export stays in memory, a large one goes to disk. FileResponse closes it.
    target = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    write_xlsx(export.header, export.rows(), target)
    target.seek(0)
    return FileResponse(
        target,
        as_attachment=True,
        filename=export.filename("xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
