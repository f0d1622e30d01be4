"""The Review step's rows (the planner's drafts), their actions, and the created page.

Every row action is a plain form post that redirects back to Review; with htmx it
returns just the affected rows, rendered from the review template's partials.
"""

import datetime
import math
import re
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from inventory.models import InventoryStatus, Part, PartInventory, TrackingType
from ion_runs.accounts.models import Team, User
from procedures.models import ProcedureVersion, VersionStatus, has_export_controlled_version
from runs import forms
from runs.models import Run, RunAttributeDefinition, RunDraft, RunSource, display_value

WIZARD_ID = re.compile(r"^[A-Za-z0-9_-]{8,32}$")
REVIEW_TEMPLATE = "runs/wizard/review.html"


@dataclass
class ReviewRow:
    """A draft with the objects it names, loaded for display in bulk."""

    draft: RunDraft
    part: Part | None
    procedure: ProcedureVersion | None
    newer_procedure: ProcedureVersion | None
    unit: PartInventory | None
    assignee: User | Team | None
    attribute_labels: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def attributes(self) -> list[tuple[str, str]]:
        """(label, shown value) of each custom attribute, so rows can be checked at a glance."""
        values = self.data.get("attributes") or {}
        return [(self.attribute_labels.get(key, key), display_value(value)) for key, value in values.items()]

    @property
    def due_date(self) -> datetime.date | None:
        due = self.data.get("due_date")
        return datetime.date.fromisoformat(due) if due else None

    @property
    def assignee_is_team(self) -> bool:
        return isinstance(self.assignee, Team)

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
            or (self.procedure and self.procedure.family_controlled)
        )


def review_rows(user, problems: dict | None = None, drafts=None) -> dict:
    """The planner's rows with everything they show, in a fixed number of queries."""
    problems = problems or {}
    if drafts is None:
        drafts = RunDraft.objects.filter(
            owner=user, organisation_id=user.organisation_id, removed_at__isnull=True
        )
    drafts = list(drafts)
    wanted = {
        key: {d.data.get(key) for d in drafts} - {None}
        for key in ("part", "procedure", "inventory", "assigned_user", "assigned_team")
    }
    org = user.organisation_id
    parts = Part.objects.visible_to(user).in_bulk(wanted["part"])
    versions = (
        ProcedureVersion.objects.visible_to(user)
        .annotate(family_controlled=has_export_controlled_version(OuterRef("procedure")))
        .in_bulk(wanted["procedure"])
    )
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
    attribute_labels = (
        dict(RunAttributeDefinition.objects.filter(organisation_id=org).values_list("key", "label"))
        if any(d.data.get("attributes") for d in drafts)
        else {}
    )
    rows = []
    for draft in drafts:
        version = versions.get(draft.data.get("procedure"))
        newer = version and released.get(version.procedure_id)
        rows.append(
            ReviewRow(
                draft=draft,
                part=parts.get(draft.data.get("part")),
                procedure=version,
                newer_procedure=newer if newer and newer.number > version.number else None,
                unit=units.get(draft.data.get("inventory")),
                assignee=users.get(draft.data.get("assigned_user"))
                or teams.get(draft.data.get("assigned_team")),
                attribute_labels=attribute_labels,
                problems=problems.get(draft.pk, []),
            )
        )
    return {
        "rows": rows,
        "batch_conflict": batch_conflict(rows),
        "shown_rows": ",".join(str(row.draft.pk) for row in rows),
    }


def batch_conflict(rows: list[ReviewRow]) -> str:
    """Which rows could not share a batch, because they use different procedure versions."""
    groups: dict[str, list[int]] = {}
    for number, row in enumerate(rows, start=1):
        version = row.newer_procedure or row.procedure
        groups.setdefault(str(version) if version else "no procedure", []).append(number)
    if len(groups) < 2:
        return ""
    return (
        "Runs in a batch share one procedure version, but "
        + "; ".join(
            f"{'rows' if len(numbers) > 1 else 'row'} {', '.join(map(str, numbers))} "
            f"{'use' if len(numbers) > 1 else 'uses'} {label}"
            for label, numbers in groups.items()
        )
        + "."
    )


def create_button_label(count: int, batched: bool) -> str:
    if batched:
        return "Create batched run"
    return "Create run" if count == 1 else f"Create {count} runs"


UNDO_SECONDS = 30
# Removed rows outlive their Undo a little, so a click in its last second still restores.
UNDO_GRACE_SECONDS = 15


def purge_removed(user) -> list[RunDraft]:
    """Discard removed rows whose Undo has expired; return those whose Undo is still offered.

    Each returned row carries `undo_seconds_left`, so every tab lets the same Undo expire
    at the same moment.
    """
    now = timezone.now()
    removed = RunDraft.objects.filter(owner=user, removed_at__isnull=False)
    offered_since = now - datetime.timedelta(seconds=UNDO_SECONDS)
    removed.filter(removed_at__lt=offered_since - datetime.timedelta(seconds=UNDO_GRACE_SECONDS)).delete()
    undoable = list(removed.filter(removed_at__gte=offered_since))
    for draft in undoable:
        draft.undo_seconds_left = max(1, math.ceil(UNDO_SECONDS - (now - draft.removed_at).total_seconds()))
    return undoable


def review_url(request) -> str:
    wizard_id = request.GET.get("wizard", "")
    if WIZARD_ID.match(wizard_id):
        return reverse("runs:wizard-step", kwargs={"wizard_id": wizard_id, "step": "review"})
    return reverse("runs:new")


class RowEditor:
    """The three forms a row edits, filled from (and written back to) its draft data."""

    def __init__(self, user, draft: RunDraft, data=None):
        self.draft = draft
        part = Part.objects.visible_to(user).filter(pk=draft.data.get("part")).first()
        if part is None:
            raise Http404("This row's part is no longer available.")
        self.part = part
        self.procedure = forms.RowProcedureForm(
            data,
            user=user,
            part=part,
            prefix="procedure",
            initial={"procedure": draft.data.get("procedure")},
        )
        self.identify = forms.IdentifyForm(
            data,
            user=user,
            part=part,
            source=draft.data.get("source"),
            draft_id=draft.pk,
            prefix="identify",
            initial=forms.identify_initial(draft.data),
        )
        version = ProcedureVersion.objects.visible_to(user).filter(pk=draft.data.get("procedure")).first()
        self.units = (
            PartInventory.objects.filter(organisation_id=user.organisation_id, part=part)
            .filter(Q(status__in=InventoryStatus.runnable()) | Q(pk=draft.data.get("inventory")))
            .order_by("serial_number", "lot_number", "pk")[:200]
        )
        self.details = forms.DetailsForm(
            data,
            user=user,
            part=part,
            procedure=version,
            prefix="details",
            initial=forms.details_initial(draft.data),
        )

    def save(self) -> bool:
        if not all([self.procedure.is_valid(), self.identify.is_valid(), self.details.is_valid()]):
            return False
        self.draft.data = forms.draft_data(
            source=self.draft.data.get("source"),
            part=self.part,
            procedure=self.procedure.cleaned_data["procedure"],
            identify=self.identify.cleaned_data,
            details=self.details.cleaned_data,
        )
        self.draft.save(update_fields=["data", "updated_at"])
        return True


def render_rows(request, drafts, *, editor=None, undo=None, problems=None) -> HttpResponse:
    """The affected rows, plus the create button (out of band) whose label counts them."""
    user = request.user
    context = review_rows(user, problems, drafts=drafts) | {
        "wizard_id": request.GET.get("wizard", ""),
        "editor": editor,
        "undo": undo,
        "back_url": review_url(request),
    }
    html = "".join(
        render_to_string(f"{REVIEW_TEMPLATE}#review-row", context | {"row": row}, request)
        for row in context["rows"]
    )
    if undo is not None:
        html += render_to_string(f"{REVIEW_TEMPLATE}#undo-row", context, request)
    every_row = review_rows(user)
    count = len(every_row["rows"])
    batched = bool(request.POST.get("review-batch") or request.GET.get("review-batch"))
    html += render_to_string(
        f"{REVIEW_TEMPLATE}#create-button",
        {"create_label": create_button_label(count, batched), "row_count": count, "oob": True},
        request,
    )
    html += render_to_string(
        f"{REVIEW_TEMPLATE}#batch-conflict",
        {"batch_conflict": every_row["batch_conflict"], "oob": True},
        request,
    )
    html += render_to_string(
        f"{REVIEW_TEMPLATE}#shown-rows", {"shown_rows": every_row["shown_rows"], "oob": True}, request
    )
    return HttpResponse(html)


@login_required
@permission_required("runs.add_run", raise_exception=True)
@require_http_methods(["GET", "POST"])
def draft_row(request, draft_id):
    """One review row: show it, edit it, duplicate it, remove it or undo the removal."""
    if request.method == "POST":
        action = request.POST.get("action")
    else:
        action = "edit" if request.GET.get("mode") == "edit" else None
    draft = RunDraft.objects.filter(pk=draft_id, owner=request.user).first()
    if draft is None and action in ("restore", "gone"):
        # Discarded since (its Undo expired, or the row was created in another tab).
        return undo_expired(request, draft_id, restoring=action == "restore")
    if draft is None or (draft.removed_at and action not in ("restore", "gone")):
        raise Http404("This row was removed.")
    match action:
        case "edit":
            editor = RowEditor(request.user, draft)
        case "save":
            editor = RowEditor(request.user, draft, data=request.POST)
            if editor.save():
                editor = None
        case "duplicate":
            form = forms.DuplicateForm(request.POST)
            copies = []
            if form.is_valid():
                try:
                    copies = draft.duplicate(form.cleaned_data["copies"])
                except ValidationError as error:
                    form.add_error("copies", error)
            refusals = [message for errors in form.errors.values() for message in errors]
            if not request.htmx:
                for refusal in refusals:
                    messages.error(request, refusal)
                return redirect(review_url(request))
            return render_rows(request, [draft, *copies], problems={draft.pk: refusals})
        case "remove":
            draft.removed_at = timezone.now()
            draft.save(update_fields=["removed_at"])
            if not request.htmx:
                return redirect(review_url(request))
            draft.undo_seconds_left = UNDO_SECONDS
            return render_rows(request, [], undo=draft)
        case "restore":
            draft.removed_at = None
            draft.save(update_fields=["removed_at"])
            editor = None
        case "gone":
            # The page's Undo expired: it disappears. The row itself is discarded by the
            # next purge, after the grace period another tab's last-second Undo may need.
            return HttpResponse("")
        case _:
            editor = None
    if not request.htmx:
        if action == "edit" or (editor is not None):
            return render_plain_edit(request, draft, editor)
        return redirect(review_url(request))
    return render_rows(request, [draft], editor=editor)


def undo_expired(request, draft_id, *, restoring: bool) -> HttpResponse:
    message = "Too late to undo: that row was discarded." if restoring else ""
    if not request.htmx:
        if message:
            messages.warning(request, message)
        return redirect(review_url(request))
    context = {"draft_id": draft_id, "message": message}
    return render(request, f"{REVIEW_TEMPLATE}#undo-expired", context)


def render_plain_edit(request, draft, editor) -> HttpResponse:
    """Without JavaScript, editing a row is a page of its own."""
    context = review_rows(request.user, drafts=[draft]) | {
        "editor": editor,
        "wizard_id": request.GET.get("wizard", ""),
        "back_url": review_url(request),
    }
    return render(request, "runs/edit_row.html", context)


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
