"""A one-sheet XLSX workbook written directly as SpreadsheetML, row by row, into a zip.

openpyxl (even in write-only mode) builds a Python element per cell and serialises it in
pure Python: at 100,000 runs of 20 columns that was nine tenths of an export's time. Here
each row is a few joined strings, written to the sheet's zip entry a few hundred rows at a
time, so neither the rows nor the sheet are ever held whole.

What is written: text as inline strings (no shared-string table to keep in memory), numbers
as numbers, dates and date-times as Excel serial numbers with a date format, None and empty
text as an empty cell, and the header row bold. Rows and cells carry no references (`r=`,
optional in the format): each cell is the next column of its row, so an empty one is `<c/>`.
"""

import datetime
import itertools
import re
import zipfile
from collections.abc import Iterable
from decimal import Decimal

SHEET_NAME = "Runs"
ROWS_PER_WRITE = 500

# The characters XML 1.0 cannot hold; the rest of Unicode is fine. Names and attributes may
# hold control characters (pasted text): they are left out, as openpyxl required.
ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Excel's day 0 for dates from March 1900 on (it counts a 29 February 1900 that never was).
EPOCH = datetime.datetime(1899, 12, 30)
ONE_DAY = datetime.timedelta(days=1)
# Styles (cellXfs) by position in STYLES: 1 the header, 2 a date-time, 3 a date.
HEADER, MOMENT, DAY = 1, 2, 3

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/worksheets/sheet1.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
<Override PartName="/xl/styles.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
</Types>"""

ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" Target="xl/workbook.xml" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>\
</Relationships>"""

WORKBOOK = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\
<sheets><sheet name="{SHEET_NAME}" sheetId="1" r:id="rId1"/></sheets></workbook>"""

WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" Target="worksheets/sheet1.xml" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>\
<Relationship Id="rId2" Target="styles.xml" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"/>\
</Relationships>"""

# The two fills and the border are the defaults Excel expects to find even when unused.
STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<numFmts count="2">\
<numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/>\
<numFmt numFmtId="165" formatCode="yyyy-mm-dd"/>\
</numFmts>\
<fonts count="2">\
<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>\
<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>\
</fonts>\
<fills count="2">\
<fill><patternFill patternType="none"/></fill>\
<fill><patternFill patternType="gray125"/></fill>\
</fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="4">\
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
</cellXfs>\
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
</styleSheet>"""

SHEET_START = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"""
SHEET_END = "</sheetData></worksheet>"


def write_xlsx(header: list[str], rows: Iterable[list], target) -> None:
    """The header (bold) and the rows as the one sheet of an XLSX workbook written to `target`
    (a path or a binary file, as for `zipfile.ZipFile`)."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", CONTENT_TYPES)
        package.writestr("_rels/.rels", ROOT_RELS)
        package.writestr("xl/workbook.xml", WORKBOOK)
        package.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        package.writestr("xl/styles.xml", STYLES)
        with package.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(SHEET_START.encode())
            titles = "".join(
                f'<c s="{HEADER}" t="inlineStr"><is><t xml:space="preserve">{_text(c)}</t></is></c>'
                for c in header
            )
            sheet.write(_legal(f"<row>{titles}</row>").encode())
            for batch in itertools.batched(rows, ROWS_PER_WRITE):
                sheet.write(_legal("".join(map(_row, batch))).encode())
            sheet.write(SHEET_END.encode())


def _row(row: list) -> str:
    """One row's XML; written cell by Python type, the common types first."""
    cells = []
    add = cells.append
    for value in row:
        kind = type(value)
        if kind is str and value:
            add(f'<c t="inlineStr"><is><t xml:space="preserve">{_text(value)}</t></is></c>')
        elif value is None or kind is str:
            add("<c/>")  # As openpyxl wrote it: empty text is no value.
        elif kind is int or kind is Decimal or kind is float:
            add(f"<c><v>{value}</v></c>")
        elif kind is datetime.datetime:
            add(f'<c s="{MOMENT}"><v>{(value - EPOCH) / ONE_DAY}</v></c>')
        elif kind is datetime.date:
            add(f'<c s="{DAY}"><v>{(value - EPOCH.date()).days}</v></c>')
        else:
            # Nothing else is exported today; as text, a new type shows rather than breaks.
            add(f'<c t="inlineStr"><is><t xml:space="preserve">{_text(str(value))}</t></is></c>')
    return f"<row>{''.join(cells)}</row>"


def _text(value: str) -> str:
    """Text escaped for an XML element (quotes need no escaping outside attributes)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _legal(xml: str) -> str:
    """The XML without the characters it cannot hold: searched once for many rows, as the
    markup itself has none and almost no text does."""
    return ILLEGAL.sub("", xml) if ILLEGAL.search(xml) else xml
