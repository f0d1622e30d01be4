"""Reading an uploaded CSV or XLSX file into rows, or refusing it whole with one message.

CSV goes through the `csv` module (UTF-8, with or without the byte-order mark Excel writes,
comma- or semicolon-separated as European spreadsheets save it); XLSX through openpyxl in
read-only mode, so a large workbook is streamed rather than loaded. Cell values come out
as text, except date cells, which stay dates for the date columns to take as they are.
"""

import csv
import datetime
import io
import zipfile
import zlib
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from runs.spreadsheets.columns import REQUIRED

MAX_ROWS = 5_000
MAX_BYTES = 10 * 1024 * 1024
# A header row wider than this is not a runs file; it also bounds what a crafted one costs.
MAX_COLUMNS = 200

Cell = str | datetime.date

# What openpyxl raises on a damaged workbook, at opening or while the rows stream: a broken
# zip, a part compressed in a way zipfile cannot read (NotImplementedError) or damaged
# (zlib.error), an XML part that is not well-formed (ParseError) or holds values of the wrong
# kind (ValueError, TypeError), a part that is missing (KeyError), no sheet at all (IndexError).
BROKEN_XLSX = (
    zipfile.BadZipFile,
    NotImplementedError,
    zlib.error,
    InvalidFileException,
    ParseError,
    KeyError,
    IndexError,
    ValueError,
    TypeError,
    OSError,
)


class UnreadableFile(Exception):
    """The file cannot be imported at all; the message says why and what to do."""


@dataclass
class Sheet:
    filename: str
    headers: list[str]
    # (the row's number in the file, as the spreadsheet shows it; {column: value})
    rows: list[tuple[int, dict[str, Cell]]] = field(default_factory=list)


def read_upload(upload, columns: list[str]) -> Sheet:
    """The upload's rows under the known `columns`; UnreadableFile if it cannot be imported."""
    name = upload.name or "the file"
    if upload.size > MAX_BYTES:
        raise UnreadableFile(
            f"{name} is {upload.size / 1024 / 1024:.1f} MB; files of up to 10 MB can be imported."
        )
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    content = upload.read()
    if suffix == "csv":
        records = _csv_records(name, content)
    elif suffix == "xlsx":
        records = _xlsx_records(name, content)
    elif suffix in ("xls", "ods", "numbers"):
        raise UnreadableFile(f"{name} is a .{suffix} file: save it as .xlsx or .csv (UTF-8) and upload that.")
    else:
        raise UnreadableFile(f"{name} is not a spreadsheet: upload a .csv or .xlsx file.")
    return _sheet(name, records, columns)


def _sheet(name: str, records, columns: list[str]) -> Sheet:
    header = next(records, None)
    if header is None:
        raise UnreadableFile(f"{name} is empty: the first row must name the columns.")
    # An XLSX header's empty cell comes as None (a CSV's as ""): a column with no name.
    headers = ["" if cell is None else str(cell).strip().lower() for cell in header]
    while headers and not headers[-1]:
        headers.pop()
    missing = [column for column in REQUIRED if column not in headers]
    if missing:
        raise UnreadableFile(
            f"{name} has no {' or '.join(missing)} column. The first row must name the columns, "
            "as in the template."
        )
    known = set(columns)
    unknown = [h for h in headers if h and h not in known]
    if unknown:
        raise UnreadableFile(
            f"{name} has columns this organisation does not know: {', '.join(unknown)}. "
            "Rename or remove them (the template lists every column)."
        )
    doubled = sorted({h for h in headers if h and headers.count(h) > 1})
    if doubled:
        raise UnreadableFile(f"{name} has the column {', '.join(doubled)} more than once.")
    sheet = Sheet(filename=name, headers=headers)
    for number, record in enumerate(records, start=2):
        values = [_cell(value) for value in record[: len(headers)]]
        if not any(value != "" for value in values):
            continue  # Blank rows (a spreadsheet's trailing ones, a gap) are no runs.
        if len(sheet.rows) == MAX_ROWS:
            raise UnreadableFile(f"{name} has more than {MAX_ROWS:,} runs; split it into smaller files.")
        _check_row(name, number, headers, values)
        sheet.rows.append((number, {h: v for h, v in zip(headers, values, strict=False) if h}))
    if not sheet.rows:
        raise UnreadableFile(f"{name} has column names but no runs below them.")
    return sheet


def _check_row(name: str, number: int, headers: list[str], values: list[Cell]) -> None:
    """Refuse a row with a value the import would lose or PostgreSQL would refuse."""
    for index, (header, value) in enumerate(zip(headers, values, strict=False)):
        if not header and value != "":
            raise UnreadableFile(
                f"{name}: column {get_column_letter(index + 1)} has a value in row {number} but no name "
                "in the first row. Name it as in the template, or remove the column."
            )
        # PostgreSQL cannot store a NUL in text; dropping it silently would change the value.
        if isinstance(value, str) and "\x00" in value:
            raise UnreadableFile(
                f"{name}: row {number}, column {get_column_letter(index + 1)} contains a NUL character. "
                "Remove it and upload the file again."
            )


def _csv_records(name: str, content: bytes):
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableFile(
            f"{name} is not UTF-8 text. In your spreadsheet, save it as “CSV UTF-8” and upload it again."
        ) from None
    first_line = text.split("\n", 1)[0]
    # Spreadsheets set to a decimal comma save CSV with semicolons between the cells.
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from reader
    except csv.Error as error:
        raise UnreadableFile(
            f"{name} is not a readable CSV file (line {reader.line_num}: {error})."
        ) from None


def _xlsx_records(name: str, content: bytes):
    unreadable = UnreadableFile(
        f"{name} is not a readable .xlsx workbook. Open it and save it as .xlsx again."
    )
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except BROKEN_XLSX:
        raise unreadable from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS)
        header = next(rows, None)
        if header is None:
            return
        width = max((i + 1 for i, cell in enumerate(header) if cell not in (None, "")), default=0)
        yield header[:width]
        yield from sheet.iter_rows(min_row=2, max_col=max(width, 1), values_only=True)
    except BROKEN_XLSX:
        raise unreadable from None
    finally:
        workbook.close()


def _cell(value) -> Cell:
    """A cell as text, or as a date when the spreadsheet stored a date."""
    match value:
        case None:
            return ""
        case bool():
            return "yes" if value else "no"
        case datetime.datetime():
            return value.date()
        case datetime.date():
            return value
        case float() if value.is_integer():
            # Spreadsheets keep every number as a float: 1001 comes back as 1001.0.
            return str(int(value))
        case _:
            return str(value).strip()
