"""Procedures over the JSON API (SPEC §8): the versions a run of a part can follow."""

from django.http import HttpRequest
from ninja import Router, Schema

from inventory.models import Part
from ion_runs.api import ERRORS, ApiError, require
from runs.forms import runnable_procedures

router = Router(tags=["procedures"])


class VersionOut(Schema):
    id: int
    procedure_id: int
    title: str
    number: int
    type: str
    export_controlled: bool


@router.get(
    "/parts/{part_id}/procedures",
    response={200: list[VersionOut], **ERRORS},
    url_name="part-procedures",
    summary="Runnable procedures of a part",
)
def part_procedures(request: HttpRequest, part_id: int):
    """Released, fully approved versions linked to the part (the wizard's choices); 404 for a
    part you may not see."""
    user = require(request, "procedures.view_procedureversion")
    part = Part.objects.visible_to(user).filter(pk=part_id).first()
    if part is None:
        raise ApiError(404, "No part with this id is visible to you.")
    return list(runnable_procedures(user, part))
