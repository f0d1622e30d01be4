"""The Review step's rows (the planner's drafts), their actions, and the created page.

Every row action is a plain form post that redirects back to Review; with htmx it
returns just the affected rows, rendered from the review template's partials.
"""

import datetime
import functools
import math
import re
import uuid
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import OuterRef, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRefresh, trigger_client_event

from inventory.models import InventoryStatus, Part, PartInventory, TrackingType
from ion_runs.accounts.models import Team, User
from procedures.models import ProcedureVersion, VersionStatus, has_export_controlled_version
from runs import forms
from runs.access import hide_hidden_batches
from runs.models import (
    Run,
    RunAttributeDefinition,
    RunDraft,
    RunSource,
    display_value,
    mixed_versions_message,
    too_many_rows,
)
from runs.services import RunRequest, problems_with

WIZARD_ID = re.compile(r"^[A-Za-z0-9_-]{8,32}$")
REVIEW_TEMPLATE = "runs/wizard/review.html"
# Review shows this many rows a page; Create still makes every row, on every page.
REVIEW_PAGE_ROWS = 200
# The work pages' date format (templates/runs/list.html), for every date Review shows.
DATE_FORMAT = "j M Y"


@dataclass
class ReviewRow:
    """A draft with the objects it names, loaded for display in bulk.

    Review renders hundreds of rows, and each template variable costs more than the Python
    behind it: rows offer their cells ready to print (`part_label`, `due_label`, `url`…).
    """

    draft: RunDraft
    part: Part | None
    procedure: ProcedureVersion | None
    newer_procedure: ProcedureVersion | None
    unit: PartInventory | None
    assignee: User | Team | None
    attribute_labels: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    url: str = ""
    # Rows wait on Review across sign-ins: one left from then must not be created unnoticed.
    from_earlier: bool = False

    def __getitem__(self, name: str):
        # A template looks `row.name` up as row["name"] first and falls back to the attribute
        # after an exception: answering the subscript spares that exception, 10,000 per Review.
        return getattr(self, name)

    @property
    def pk(self) -> str:
        return str(self.draft.pk)

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
    def due_label(self) -> str:
        due = self.data.get("due_date")
        return shown_date(due) if due else "—"

    @property
    def assignee_is_team(self) -> bool:
        return isinstance(self.assignee, Team)

    @property
    def data(self) -> dict:
        return self.draft.data

    @property
    def name(self) -> str:
        return self.data.get("name") or ""

    @property
    def file_row(self) -> str:
        """Where an imported row came from, shown beside Review's own number: its problems
        ("Row 8 of runs.csv: …") count the file's rows, header included, and Review its own."""
        number = self.data.get("import_row")
        return f"file row {number}" if number else ""

    @property
    def kind_label(self) -> str:
        return "Attach existing unit" if self.is_attach else "Build new unit"

    @property
    def is_attach(self) -> bool:
        return self.data.get("source") == RunSource.ATTACH

    @property
    def part_label(self) -> str:
        return f"{self.part.number} rev {self.part.revision}" if self.part else ""

    @property
    def procedure_label(self) -> str:
        return f"{self.procedure.title} · v{self.procedure.number}" if self.procedure else ""

    @property
    def label(self) -> str:
        """How Undo names the row: its run name, else its part and identity."""
        if self.name:
            return self.name
        return " · ".join(filter(None, [self.part.number if self.part else "", self.identity]))

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


@functools.lru_cache(maxsize=1024)
def shown_date(iso_date: str) -> str:
    """A stored date as the work pages print it; rows share a few dates, so each is formatted once."""
    return dateformat.format(datetime.date.fromisoformat(iso_date), DATE_FORMAT)


def row_url_maker(wizard_id: str, page: int = 1):
    """Each row's URL (with the wizard and Review page to return to) by string building:
    reversing it per row was a third of Review's time at 500 rows."""
    placeholder = uuid.UUID(int=0)
    prefix, suffix = reverse("runs:draft-row", kwargs={"draft_id": placeholder}).split(str(placeholder))
    query = f"?wizard={wizard_id}" + (f"&page={page}" if page > 1 else "")
    return lambda pk: f"{prefix}{pk}{suffix}{query}"


def review_rows(user, problems: dict | None = None, drafts=None, wizard_id: str = "", page: int = 1) -> dict:
    """The planner's rows with everything they show, in a fixed number of queries."""
    problems = problems or {}
    url_of = row_url_maker(wizard_id, page)
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
    earlier = left_from_earlier(user)
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
                # An imported row keeps its problems until a valid edit writes fresh data.
                problems=list(
                    dict.fromkeys([*draft.data.get("import_problems", []), *problems.get(draft.pk, [])])
                ),
                url=url_of(draft.pk),
                from_earlier=earlier(draft),
            )
        )
    return {
        "rows": rows,
        "batch_conflict": batch_conflict(rows),
        "shown_rows": ",".join(str(row.draft.pk) for row in rows),
    }


def left_from_earlier(user):
    """Whether a row was authored before the planner's current sign-in, or on an earlier day."""
    today = timezone.localdate()
    signed_in = user.last_login
    return lambda draft: bool(
        (signed_in and draft.created_at < signed_in) or timezone.localdate(draft.created_at) < today
    )


def earlier_notice(rows: list[ReviewRow]) -> str:
    earlier = [row for row in rows if row.from_earlier]
    if not earlier:
        return ""
    count = len(earlier)
    oldest = timezone.localtime(min(row.draft.created_at for row in earlier))
    were = "was" if count == 1 else "were"
    return (
        f"{count} row{'' if count == 1 else 's'} {were} left on Review from earlier (the oldest from "
        f"{dateformat.format(oldest, DATE_FORMAT)}), marked “From earlier”. "
        "Check or remove them before creating."
    )


def batch_conflict(rows: list[ReviewRow]) -> str:
    """Which rows could not share a batch, because they use different procedure versions."""
    groups: dict = {}
    for number, row in enumerate(rows, start=1):
        groups.setdefault(row.newer_procedure or row.procedure, []).append(number)
    return mixed_versions_message(groups, "row")


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
    """Review of the wizard the planner came from, at the page they were on."""
    wizard_id = request.GET.get("wizard", "")
    if not WIZARD_ID.match(wizard_id):
        return reverse("runs:new")
    url = reverse("runs:wizard-step", kwargs={"wizard_id": wizard_id, "step": "review"})
    page = page_of(request)
    return f"{url}?page={page}" if page > 1 else url


def page_of(request) -> int:
    """The Review page asked for; the paginator brings a number past the last page back."""
    page = request.GET.get("page", "")
    return int(page) if page.isdigit() and 0 < int(page) < 10_000 else 1


def review_full(held: int) -> str:
    """What Add another run and Import say when Review holds all the rows it takes, or ""."""
    return too_many_rows(held=held, adding=1, doing="Another run would be a new row")


def review_page(rows: list, number: int) -> Page:
    """The page of `rows` Review shows."""
    return Paginator(rows, REVIEW_PAGE_ROWS).get_page(number)


class RowEditor:
    """The three forms a row edits, filled from (and written back to) its draft data."""

    def __init__(self, user, draft: RunDraft, data=None):
        self.user = user
        self.draft = draft
        part = Part.objects.visible_to(user).filter(pk=draft.data.get("part")).first()
        if part is None:
            raise Http404("This row's part is no longer available.")
        self.part = part
        # Two rows may be open at once: each editor's ids are its own, so labels find their fields.
        auto_id = f"row-{draft.pk}-%s"
        self.procedure = forms.RowProcedureForm(
            data,
            user=user,
            part=part,
            prefix="procedure",
            auto_id=auto_id,
            initial={"procedure": draft.data.get("procedure")},
        )
        self.identify = forms.IdentifyForm(
            data,
            user=user,
            part=part,
            source=draft.data.get("source"),
            draft_id=draft.pk,
            prefix="identify",
            auto_id=auto_id,
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
            auto_id=auto_id,
            initial=forms.details_initial(draft.data),
        )

    @functools.cached_property
    def problems(self) -> list[str]:
        """What create_runs would refuse in the row, kept in sight while it is edited (until
        a save is tried: then each form's errors are at their fields). The row is checked on
        its own; what it clashes with in other rows shows when Create is pressed."""
        if self.identify.is_bound:
            return []
        if imported := self.draft.data.get("import_problems"):
            return imported  # checked by create_runs' rules when imported, with the file's row
        with transaction.atomic():
            found = problems_with(user=self.user, requests=[RunRequest.from_draft(self.draft)])
        return found.get(0, [])

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


# Where focus goes after a row swap (ion-runs.js moves it): the planner's next action.
FOCUS = {
    "field": "#row-{pk} form :is(input, select, textarea):not([type=hidden])",
    "invalid": "#row-{pk} .has-error :is(input, select, textarea):not([type=hidden])",
    "edit": "#row-{pk} .row-edit",
    "undo": "#row-{pk} button[value=restore]",
    "duplicate": "#row-{pk} button[value=duplicate]",
    "copies": "#row-{pk} input[name=copies]",
}


def wizard_of(request) -> str:
    wizard_id = request.GET.get("wizard", "")
    return wizard_id if WIZARD_ID.match(wizard_id) else ""


def removed_rows(user, wizard_id: str, page: int = 1) -> list[ReviewRow]:
    """Removed rows whose Undo is still offered, named as they were shown."""
    undoable = purge_removed(user)
    return review_rows(user, drafts=undoable, wizard_id=wizard_id, page=page)["rows"]


def render_rows(request, drafts, *, editor=None, undo=None, problems=None, focus=None) -> HttpResponse:
    """The affected rows, plus the create button (out of band) whose label counts them.

    `focus` names what ion-runs.js focuses once the rows are in: a key of FOCUS, for the
    first affected row (or the removed one).
    """
    user, wizard_id = request.user, wizard_of(request)
    context = review_rows(user, problems, drafts=drafts, wizard_id=wizard_id, page=page_of(request)) | {
        "wizard_id": wizard_id,
        "editor": editor,
        "back_url": review_url(request),
    }
    html = "".join(
        render_to_string(f"{REVIEW_TEMPLATE}#review-row", context | {"row": row}, request)
        for row in context["rows"]
    )
    if undo is not None:
        undone = review_rows(user, drafts=[undo], wizard_id=wizard_id, page=page_of(request))
        context["undo"] = undone["rows"][0]
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
    response = HttpResponse(html)
    focused = undo if undo is not None else (drafts[0] if drafts else None)
    if focus and focused is not None:
        selector = FOCUS[focus].format(pk=focused.pk)
        trigger_client_event(response, "ion-focus", {"selector": selector}, after="settle")
    return response


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
    focus = "edit"
    match action:
        case "edit" | "save" if draft.data.get("part") is None:
            # Imported naming no part of ours: nothing to edit; the row's problem says so.
            if not request.htmx:
                return redirect(review_url(request))
            editor = None
        case "edit":
            editor, focus = RowEditor(request.user, draft), "field"
        case "save":
            editor = RowEditor(request.user, draft, data=request.POST)
            if editor.save():
                editor = None
            else:
                focus = "invalid"
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
            return render_rows(
                request,
                [draft, *copies],
                problems={draft.pk: refusals},
                focus="copies" if refusals else "duplicate",
            )
        case "remove":
            draft.removed_at = timezone.now()
            draft.save(update_fields=["removed_at"])
            if not request.htmx:
                return redirect(review_url(request))
            draft.undo_seconds_left = UNDO_SECONDS
            return render_rows(request, [], undo=draft, focus="undo")
        case "restore":
            draft.removed_at = None
            draft.save(update_fields=["removed_at"])
            editor = None
        case "gone":
            return undo_gone(request)
        case _:
            editor = None
    if not request.htmx:
        if action == "edit" or (editor is not None):
            return render_plain_edit(request, draft, editor)
        return redirect(review_url(request))
    return render_rows(request, [draft], editor=editor, focus=focus)


def undo_gone(request) -> HttpResponse:
    """The page's Undo expired: it disappears. The row itself is discarded by the next purge,
    after the grace period another tab's last-second Undo may need. A list left with nothing
    on it becomes Review's empty state, which offers to author a run."""
    rows_left = RunDraft.objects.filter(owner=request.user, removed_at__isnull=True).exists()
    offered_since = timezone.now() - datetime.timedelta(seconds=UNDO_SECONDS)
    undos_left = RunDraft.objects.filter(owner=request.user, removed_at__gte=offered_since).exists()
    if not rows_left and not undos_left:
        return HttpResponseClientRefresh()
    return HttpResponse("")


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
    wizard_id = wizard_of(request)
    context = review_rows(request.user, drafts=[draft], wizard_id=wizard_id, page=page_of(request)) | {
        "editor": editor,
        "wizard_id": wizard_id,
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
    # The batch may have taken in an export-controlled run since: then it is not named.
    hide_hidden_batches(request.user, runs)
    return render(request, "runs/created.html", {"runs": runs, "batch": runs[0].batch})
