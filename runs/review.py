"""The Review step's rows (the planner's drafts) and what happens after creating."""

import re
from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from inventory.models import Part, PartInventory, TrackingType
from ion_runs.accounts.models import Team, User
from procedures.models import ProcedureVersion, VersionStatus
from runs.models import Run, RunDraft, RunSource

WIZARD_ID = re.compile(r"^[A-Za-z0-9_-]{8,32}$")


@dataclass
class ReviewRow:
    """A draft with the objects it names, loaded for display in bulk."""

    number: int
    draft: RunDraft
    part: Part | None
    procedure: ProcedureVersion | None
    newer_procedure: ProcedureVersion | None
    unit: PartInventory | None
    assignee: User | Team | None
    problems: list[str] = field(default_factory=list)

    @property
    def data(self) -> dict:
        return self.draft.data

    @property
    def is_attach(self) -> bool:
        return self.data.get("source") == RunSource.ATTACH

    @property
    def identity(self) -> str:
        if self.unit:
            return self.unit.identity
        data = self.data
        match data.get("tracking_type"):
            case TrackingType.SERIAL:
                return data.get("serial_number") or "Serial auto-generated"
            case TrackingType.LOT:
                lot = data.get("lot_number") or "Lot auto-generated"
                return f"{lot} × {data.get('quantity')}"
        return f"Quantity {data.get('quantity')}"

    @property
    def export_controlled(self) -> bool:
        return bool(
            self.data.get("export_controlled")
            or (self.part and self.part.export_controlled)
            or (self.procedure and self.procedure.export_controlled)
        )


def review_rows(user, problems: dict | None = None) -> dict:
    """The planner's rows with everything they show, in a fixed number of queries."""
    problems = problems or {}
    drafts = list(RunDraft.objects.filter(owner=user, organisation_id=user.organisation_id))
    wanted = {
        key: {d.data.get(key) for d in drafts} - {None}
        for key in ("part", "procedure", "inventory", "assigned_user", "assigned_team")
    }
    org = user.organisation_id
    parts = Part.objects.visible_to(user).in_bulk(wanted["part"])
    versions = ProcedureVersion.objects.visible_to(user).in_bulk(wanted["procedure"])
    released = {
        v.procedure_id: v
        for v in ProcedureVersion.objects.visible_to(user).filter(
            procedure_id__in={v.procedure_id for v in versions.values()},
            status=VersionStatus.RELEASED,
        )
    }
    units = PartInventory.objects.filter(organisation_id=org).in_bulk(wanted["inventory"])
    users = User.objects.filter(organisation_id=org).in_bulk(wanted["assigned_user"])
    teams = Team.objects.filter(organisation_id=org).in_bulk(wanted["assigned_team"])
    rows = []
    for number, draft in enumerate(drafts, start=1):
        version = versions.get(draft.data.get("procedure"))
        newer = version and released.get(version.procedure_id)
        rows.append(
            ReviewRow(
                number=number,
                draft=draft,
                part=parts.get(draft.data.get("part")),
                procedure=version,
                newer_procedure=newer if newer and newer.number > version.number else None,
                unit=units.get(draft.data.get("inventory")),
                assignee=users.get(draft.data.get("assigned_user"))
                or teams.get(draft.data.get("assigned_team")),
                problems=problems.get(draft.pk, []),
            )
        )
    return {"rows": rows}


def create_button_label(count: int, batched: bool) -> str:
    if batched:
        return "Create batched run"
    return "Create run" if count == 1 else f"Create {count} runs"


@login_required
@permission_required("runs.add_run", raise_exception=True)
@require_POST
def draft_row(request, draft_id):
    draft = get_object_or_404(RunDraft, pk=draft_id, owner=request.user)
    if request.POST.get("action") == "remove":
        draft.delete()
    return redirect(review_url(request))


def review_url(request) -> str:
    wizard_id = request.GET.get("wizard", "")
    if WIZARD_ID.match(wizard_id):
        return reverse("runs:wizard-step", kwargs={"wizard_id": wizard_id, "step": "review"})
    return reverse("runs:new")


@login_required
@require_GET
def created(request, token):
    runs = list(
        Run.objects.visible_to(request.user)
        .filter(creation_token=token)
        .select_related(
            "part", "part_inventory", "assigned_user", "assigned_team", "batch", "procedure_version"
        )
        .order_by("number")
    )
    if not runs:
        raise Http404("No runs were created with this link.")
    return render(request, "runs/created.html", {"runs": runs, "batch": runs[0].batch})
