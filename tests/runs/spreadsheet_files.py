"""Spreadsheet files for the import tests, built the way spreadsheet programs save them."""

import csv
import io
import re
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_file(rows: list[dict], *, name="runs.csv", delimiter=",", bom=False, encoding="utf-8"):
    """A CSV upload of `rows`; its header is every key, in first-seen order."""
    header = list(dict.fromkeys(key for row in rows for key in row))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows([row.get(key, "") for key in header] for row in rows)
    text = ("\ufeff" if bom else "") + out.getvalue()
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def xlsx_file(rows: list[dict], *, name="runs.xlsx"):
    """An XLSX upload; dates and numbers stay date and number cells, as Excel keeps them."""
    header = list(dict.fromkeys(key for row in rows for key in row))
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(key) for key in header])
    out = io.BytesIO()
    workbook.save(out)
    return SimpleUploadedFile(name, out.getvalue(), content_type=XLSX)


def damaged_xlsx(change, *, name="damaged.xlsx"):
    """An XLSX upload made by openpyxl, then damaged: `change(part_name, data)` answers each
    zip part's new bytes, or None to leave the part out."""
    good = xlsx_file([{"part.number": "BRKT-100", "part.revision": "A"}]).read()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = change(info.filename, source.read(info.filename))
            if data is not None:
                target.writestr(info, data)
    return SimpleUploadedFile(name, out.getvalue(), content_type=XLSX)


def xlsx_part_not_well_formed(part: str):
    """An XLSX whose XML `part` is cut off halfway, as an interrupted save leaves it."""
    return damaged_xlsx(lambda name, data: data[: len(data) // 2] if name == part else data)


def xlsx_without_sheets():
    """An XLSX whose workbook lists no sheet."""
    return damaged_xlsx(
        lambda name, data: (
            re.sub(rb"<sheets>.*</sheets>", b"<sheets/>", data) if name == "xl/workbook.xml" else data
        )
    )


def read_xlsx(content: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    # Empty cells at the end of a row are not stored: pad to the header's width.
    return [row + [None] * (len(rows[0]) - len(row)) for row in rows]


def read_csv(content: bytes) -> list[list[str]]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff"), "Excel needs the byte-order mark to read UTF-8"
    return list(csv.reader(io.StringIO(text[1:])))
