"""Parts and inventory over the JSON API (SPEC §8): what runs are made of, as the wizard's pickers see it."""

from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from inventory.models import Part, PartInventory
from ion_runs.api import ERRORS, Id, SearchText, require
from ion_runs.api_paging import PageQuery, keyset_page

router = Router(tags=["parts and inventory"])


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


class PartPage(Schema):
    parts: list[PartOut]
    next: str | None


class UnitPage(Schema):
    inventory: list[UnitOut]
    next: str | None


class PartQuery(PageQuery):
    q: SearchText = Field("", description="Part number or description contains.")


class UnitQuery(PageQuery):
    part: Id | None = Field(None, description="Only this part's units.")
    q: SearchText = Field("", description="Serial, lot or location contains.")


@router.get("/parts", response={200: PartPage, **ERRORS}, url_name="parts", summary="Search parts")
def list_parts(request: HttpRequest, query: Query[PartQuery]):
    """Parts you may see whose number or description contains `q`, by number and revision; follow
    `next` for more."""
    user = require(request, "inventory.view_part")
    parts = Part.objects.visible_to(user)
    if query.q:
        parts = parts.filter(Q(number__icontains=query.q) | Q(description__icontains=query.q))
    # Number and revision are unique in an organisation: its unique index serves every page.
    page, following = keyset_page(request, parts, query, keys=("number", "revision"), descending=False)
    return {"parts": page, "next": following}


@router.get(
    "/inventory", response={200: UnitPage, **ERRORS}, url_name="inventory", summary="Search inventory"
)
def list_inventory(request: HttpRequest, query: Query[UnitQuery]):
    """Inventory units of parts you may see, oldest first; `part` narrows to one part's, `q`
    matches serial, lot or location; follow `next` for more."""
    user = require(request, "inventory.view_partinventory")
    units = PartInventory.objects.filter(
        organisation_id=user.organisation_id, part__in=Part.objects.visible_to(user).values("pk")
    )
    if query.part is not None:
        units = units.filter(part_id=query.part)
    if query.q:
        units = units.filter(
            Q(serial_number__icontains=query.q)
            | Q(lot_number__icontains=query.q)
            | Q(location__icontains=query.q)
        )
    # In the order they were recorded: new units join the end, and the primary key's index
    # serves every page.
    page, following = keyset_page(request, units, query, keys=("pk",), descending=False)
    return {"inventory": page, "next": following}
