"""The spreadsheet's columns: the API's `RunIn` fields, nested ones spelled with a dot."""

from runs.models import RunAttributeDefinition

REQUIRED = ("part.number", "part.revision")
COLUMNS = (
    *REQUIRED,
    "procedure",
    "procedure.title",
    "procedure.version",
    "source",
    "inventory",
    "tracking_type",
    "serial_number",
    "lot_number",
    "quantity",
    "name",
    "due_date",
    "export_controlled",
    "assignee.user",
    "assignee.team",
    "batch_name",
)
ATTRIBUTE_PREFIX = "attributes."


def attribute_column(key: str) -> str:
    return ATTRIBUTE_PREFIX + key


def columns_for(organisation_id: int) -> list[str]:
    """Every column a file of this organisation may have, custom attributes last."""
    keys = RunAttributeDefinition.objects.filter(organisation_id=organisation_id).values_list(
        "key", flat=True
    )
    return [*COLUMNS, *(attribute_column(key) for key in keys)]
