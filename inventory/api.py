"""Parts and inventory over the JSON API (SPEC §8): what runs are made of, as the wizard's pickers see it."""

from django.db.models import Q
from django.http import HttpRequest
from ninja import Query, Router, Schema

from inventory.models import Part, PartInventory
from ion_runs.api import ERRORS, require

router = Router(tags=["parts and inventory"])

MAX_PAGE = 500


class PartOut(Schema):
    id: int
    number: str
    revision: str
    description: str
    tracking_type: str
    export_controlled: bool


class UnitOut(Schema):
    id: int
    part_id: int
    serial_number: str
    lot_number: str
    quantity: int
    location: str
    status: str
    identity: str


@router.get("/parts", response={200: list[PartOut], **ERRORS}, url_name="parts", summary="Search parts")
def list_parts(request: HttpRequest, q: str = "", limit: int = Query(100, ge=1, le=MAX_PAGE)):
    """Parts you may see whose number or description contains `q`, by number and revision."""
    user = require(request, "inventory.view_part")
    parts = Part.objects.visible_to(user)
    if q:
        parts = parts.filter(Q(number__icontains=q) | Q(description__icontains=q))
    return list(parts.order_by("number", "revision", "pk")[:limit])


@router.get(
    "/inventory", response={200: list[UnitOut], **ERRORS}, url_name="inventory", summary="Search inventory"
)
def list_inventory(
    request: HttpRequest, part: int | None = None, q: str = "", limit: int = Query(100, ge=1, le=MAX_PAGE)
):
    """Inventory units of parts you may see; `part` narrows to one part's, `q` matches serial, lot
    or location."""
    user = require(request, "inventory.view_partinventory")
    units = PartInventory.objects.filter(
        organisation_id=user.organisation_id, part__in=Part.objects.visible_to(user).values("pk")
    )
    if part is not None:
        units = units.filter(part_id=part)
    if q:
        units = units.filter(
            Q(serial_number__icontains=q) | Q(lot_number__icontains=q) | Q(location__icontains=q)
        )
    return list(units.order_by("part_id", "serial_number", "lot_number", "pk")[:limit])
