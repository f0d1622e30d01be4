"""The XLSX writer behind the Runs export: a file openpyxl (and so Excel) reads back as written."""

import datetime
import io
import tempfile
import tracemalloc
import zipfile
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from runs.spreadsheets.xlsx import write_xlsx

HEADER = ["number", "name", "due_date", "created_at", "quantity"]


def written(header, rows) -> bytes:
    out = io.BytesIO()
    write_xlsx(header, rows, out)
    return out.getvalue()


def values(content: bytes, *, read_only: bool) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(content), read_only=read_only).worksheets[0]
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("read_only", [False, True])
def test_text_comes_back_as_written(read_only):
    texts = [
        "<b>&amp; \"quoted\" 'single'</b>",
        "]]> not the end of anything",
        "  spaces either side  ",
        "two\nlines\tand a tab",
        "Ünïcødé ✓ 部品 🚀",
    ]
    content = written(["text"], [[text] for text in texts])
    assert values(content, read_only=read_only) == [("text",)] + [(text,) for text in texts]


@pytest.mark.parametrize("read_only", [False, True])
def test_numbers_and_dates_keep_their_types(read_only):
    row = [
        7,
        "Run 007",
        datetime.date(2027, 1, 2),
        datetime.datetime(2026, 3, 4, 15, 16, 17),
        Decimal("2.5"),
    ]
    content = written(HEADER, [row, [8, "Run 008", None, None, 0.125]])

    header, first, second = values(content, read_only=read_only)
    assert header == tuple(HEADER)
    # Excel has one kind of date cell: a date comes back as midnight of its day.
    assert first == (7, "Run 007", datetime.datetime(2027, 1, 2), row[3], 2.5)
    assert second == (8, "Run 008", None, None, 0.125)


def test_dates_are_formatted_as_dates_and_the_header_is_bold():
    content = written(
        HEADER, [[7, "Run 007", datetime.date(2027, 1, 2), datetime.datetime(2026, 3, 4, 15, 16)]]
    )

    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    assert sheet.title == "Runs"
    assert all(cell.font.b for cell in sheet[1])
    number, name, due, created = sheet[2][:4]
    assert not name.font.b
    assert (due.is_date, due.number_format) == (True, "yyyy-mm-dd")
    assert created.is_date and created.number_format.startswith("yyyy-mm-dd hh:mm")
    assert (number.data_type, number.is_date) == ("n", False)


@pytest.mark.parametrize("read_only", [False, True])
def test_an_empty_cell_leaves_the_next_in_its_column(read_only):
    content = written(["a", "b", "c", "d"], [[None, "b", "", 4], [1, None, None, None]])
    assert values(content, read_only=read_only)[1:] == [(None, "b", None, 4), (1, None, None, None)]


@pytest.mark.parametrize("read_only", [False, True])
def test_an_empty_export_is_its_header(read_only):
    content = written(HEADER, iter([]))
    assert values(content, read_only=read_only) == [tuple(HEADER)]


def test_characters_xml_cannot_hold_are_left_out():
    content = written(["name", "note"], [["Bell\x07 and\x01 ack", "a\x1fb\ufffe"], ["x\x0by", "keep\ttab"]])
    # XML reads a carriage return back as a line feed, so none is tried here.
    assert values(content, read_only=True)[1:] == [("Bell and ack", "ab"), ("xy", "keep\ttab")]


def test_the_file_is_a_plain_zip_of_the_workbooks_parts():
    with zipfile.ZipFile(io.BytesIO(written(HEADER, [[1, "Run"]]))) as package:
        assert package.testzip() is None
        assert set(package.namelist()) == {
            "[Content_Types].xml",
            "_rels/.rels",
            "xl/workbook.xml",
            "xl/_rels/workbook.xml.rels",
            "xl/styles.xml",
            "xl/worksheets/sheet1.xml",
        }
        assert package.getinfo("xl/worksheets/sheet1.xml").compress_type == zipfile.ZIP_DEFLATED


def test_a_large_sheet_is_never_held_whole_in_memory():
    limit = 4 * 1024 * 1024
    created, due = datetime.datetime(2026, 1, 1, 8, 30), datetime.date(2027, 1, 1)
    texts = ["todo", "BRKT-100", "A", "manual", "serial", "no", "planner", "Night shift", "Batch one"]

    def rows():
        # Shaped like the export's: 20 columns of numbers, short texts, flags and dates.
        for i in range(10_000):
            yield [i, f"Run {i:05d} & <more>", *texts, 17, 3, None, 1, f"SN-{i:05d}", due, created, "planner"]

    with tempfile.TemporaryFile() as target:
        tracemalloc.start()
        try:
            write_xlsx([f"column {n}" for n in range(20)], rows(), target)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        target.seek(0)
        with zipfile.ZipFile(target) as package:
            sheet_size = package.getinfo("xl/worksheets/sheet1.xml").file_size

    assert sheet_size > 2 * limit, "the sheet must be larger than the limit for the test to mean anything"
    assert peak < limit
