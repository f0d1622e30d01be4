"""The import template: every column, and one example row per tracking type.

The examples use the organisation's own parts where it has one of each tracking type, so a
planner can change a few cells and upload it; otherwise placeholders show the shape.
"""

import csv
import datetime
import io

from openpyxl import Workbook
from openpyxl.styles import Font

from inventory.models import Part, TrackingType
from runs.models import AttributeType, RunAttributeDefinition, RunSource
from runs.spreadsheets.columns import attribute_column, columns_for

PLACEHOLDER_PARTS = {
    TrackingType.SERIAL: ("PART-SERIAL", "A"),
    TrackingType.LOT: ("PART-LOT", "A"),
    TrackingType.NONE: ("PART-QTY", "A"),
}


def _example_attribute(definition: RunAttributeDefinition, user, due: datetime.date):
    match definition.type:
        case AttributeType.NUMBER:
            return 1
        case AttributeType.BOOLEAN:
            return "no"
        case AttributeType.DATE:
            return due
        case AttributeType.SELECT | AttributeType.MULTISELECT:
            return definition.options[0] if definition.options else ""
        case AttributeType.USER:
            return user.username
        case _:
            return "text"


def template_rows(user) -> tuple[list[str], list[list]]:
    """The template's header and example rows, dates as dates (the XLSX keeps them as date cells)."""
    columns = columns_for(user.organisation_id)
    parts = {}
    for part in Part.objects.visible_to(user).order_by("number", "revision"):
        parts.setdefault(part.tracking_type, part)
        if len(parts) == len(TrackingType):
            break
    definitions = RunAttributeDefinition.objects.filter(organisation_id=user.organisation_id)
    due = datetime.date.today() + datetime.timedelta(days=14)
    rows = []
    for tracking, (number, revision) in PLACEHOLDER_PARTS.items():
        part = parts.get(tracking)
        example = {
            "part.number": part.number if part else number,
            "part.revision": part.revision if part else revision,
            "source": RunSource.BUILD,
            "tracking_type": tracking,
            "quantity": 1 if tracking == TrackingType.SERIAL else 10,
            "due_date": due,
            "export_controlled": "no",
        } | {attribute_column(d.key): _example_attribute(d, user, due) for d in definitions}
        rows.append([example.get(column, "") for column in columns])
    return columns, rows


def template_csv(user) -> str:
    """UTF-8 with a byte-order mark, which tells Excel the file is UTF-8."""
    columns, rows = template_rows(user)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(
        [cell.isoformat() if isinstance(cell, datetime.date) else cell for cell in row] for row in rows
    )
    return "\ufeff" + out.getvalue()


def template_xlsx(user) -> bytes:
    columns, rows = template_rows(user)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Runs"
    sheet.append(columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, datetime.date):
                cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
