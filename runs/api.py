"""Runs over the JSON API (SPEC §8): create through `create_runs`, read through the Runs page's filters.

Creating resolves the request's references (parts by number and revision, units by serial
or lot, people by username, teams by name) in a fixed number of queries, then hands
`RunRequest`s to `runs.services.create_runs`, whose rules and messages are the wizard's.
"""

import base64
import binascii
import hashlib
import json
from datetime import date, datetime
from typing import Annotated, Any, Literal

from django import forms
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict, model_validator

from inventory.models import Part, PartInventory, TrackingType
from ion_runs.accounts.models import IdempotencyKey, Team, User
from ion_runs.api import ERRORS, ApiError, ErrorOut, invalid, require
from runs.access import hide_hidden_batches, visible_runs
from runs.forms import attribute_field, attribute_value
from runs.models import AttributeType, Run, RunAttributeDefinition, RunBatch, RunSource
from runs.run_filters import RunFilterForm
from runs.services import RunCreationError, RunRequest, create_runs

router = Router(tags=["runs"])
batches_router = Router(tags=["batches"])

MAX_RUNS = 5_000
MAX_PAGE = 500
DEFAULT_PAGE = 100


# Ids as the database stores them: a larger number is a 422, never an out-of-range query.
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class PartRef(Strict):
    number: str = Field(max_length=100)
    revision: str = Field(max_length=20)


class AssigneeIn(Strict):
    """`{"user": username}` or `{"team": name}`."""

    user: str | None = Field(None, max_length=150)
    team: str | None = Field(None, max_length=100)

    @model_validator(mode="after")
    def one_of(self):
        if bool(self.user) == bool(self.team):
            raise ValueError("Give either a user or a team.")
        return self


class RunIn(Strict):
    part: Id | PartRef = Field(description="A part id, or its number and revision.")
    procedure: Id | None = Field(None, description="A released procedure version id; null for none.")
    source: Literal["build", "attach"] = "build"
    inventory: Id | Annotated[str, Field(max_length=100)] | None = Field(
        None, description="For attach: an inventory unit id, or its serial number or lot number."
    )
    tracking_type: Literal[tuple(TrackingType.values)] | None = Field(
        None, description="Defaults to the part's."
    )
    serial_number: str | None = Field(None, description="Omitted: auto-generated.")
    lot_number: str | None = Field(None, description="Omitted: auto-generated.")
    quantity: int = Field(1, ge=-(2**31), le=2**31 - 1)
    name: str | None = Field(None, max_length=1000, description="Omitted: auto-generated.")
    due_date: date | None = None
    export_controlled: bool = False
    assignee: AssigneeIn | None = None
    attributes: dict[str, Any] = Field(
        default_factory=dict, description="{key: value}, typed per definition."
    )


class RunsIn(Strict):
    runs: Annotated[list[RunIn], Field(min_length=1, max_length=MAX_RUNS)]
    batch_name: str | None = Field(None, description="Put every run in a new batch of this name.")


class PartOut(Schema):
    id: int
    number: str
    revision: str


class VersionOut(Schema):
    id: int
    title: str
    number: int


class AssigneeOut(Schema):
    user: str | None = None
    team: str | None = None


class LinksOut(Schema):
    self: str
    html: str


class RunOut(Schema):
    id: int
    number: int
    name: str
    identity: str
    part: PartOut
    procedure_version: VersionOut | None
    source: str
    tracking_type: str
    status: str
    due_date: date | None
    export_controlled: bool
    assignee: AssigneeOut | None
    batch: str | None
    attributes: dict[str, Any]
    created_at: datetime
    links: LinksOut


class BatchOut(Schema):
    id: int
    name: str
    created_at: datetime


class RunsCreated(Schema):
    runs: list[RunOut]
    batch: BatchOut | None


class RunPage(Schema):
    runs: list[RunOut]
    next: str | None


class StepFieldOut(Schema):
    position: int
    label: str
    type: str
    required: bool
    options: list[Any]


class StepOut(Schema):
    position: int
    title: str
    instructions: str
    status: str
    fields: list[StepFieldOut]


class RunDetail(RunOut):
    steps: list[StepOut]


def run_out(run: Run) -> dict:
    """A run as RunOut; its part, version, unit, assignee and batch must be loaded already."""
    version = run.procedure_version
    if run.assigned_user_id:
        assignee = {"user": run.assigned_user.username}
    elif run.assigned_team_id:
        assignee = {"team": run.assigned_team.name}
    else:
        assignee = None
    return {
        "id": run.pk,
        "number": run.number,
        "name": run.name,
        "identity": run.part_inventory.identity,
        "part": {"id": run.part.pk, "number": run.part.number, "revision": run.part.revision},
        "procedure_version": version and {"id": version.pk, "title": version.title, "number": version.number},
        "source": run.source,
        "tracking_type": run.tracking_type,
        "status": run.status,
        "due_date": run.due_date,
        "export_controlled": run.export_controlled,
        "assignee": assignee,
        "batch": run.batch.name if run.batch else None,
        "attributes": run.attributes,
        "created_at": run.created_at,
        "links": {
            "self": reverse("api:run", kwargs={"number": run.number}),
            "html": reverse("runs:detail", kwargs={"number": run.number}),
        },
    }


# ---------------------------------------------------------------------------------------------
# Create


class _References:
    """Every reference of the request, looked up in a fixed number of queries."""

    def __init__(self, user: User, runs: list[RunIn]):
        org = user.organisation_id
        refs = {(r.part.number, r.part.revision) for r in runs if isinstance(r.part, PartRef)}
        self.parts_by_ref = {}
        if refs:
            found = Part.objects.visible_to(user).filter(number__in={number for number, _ in refs})
            self.parts_by_ref = {(p.number, p.revision): p.pk for p in found}
        self.part_ids = {r.part for r in runs if isinstance(r.part, int)}
        if self.part_ids:
            self.part_ids = set(
                Part.objects.visible_to(user).filter(pk__in=self.part_ids).values_list("pk", flat=True)
            )
        spelled = {r.inventory for r in runs if isinstance(r.inventory, str)}
        self.units: dict[tuple[int, str], list[int]] = {}
        if spelled:
            units = PartInventory.objects.filter(organisation_id=org).filter(
                Q(serial_number__in=spelled) | Q(lot_number__in=spelled)
            )
            for pk, part_id, serial, lot in units.values_list("pk", "part_id", "serial_number", "lot_number"):
                for value in {serial, lot} & spelled:
                    self.units.setdefault((part_id, value), []).append(pk)
        usernames = {r.assignee.user for r in runs if r.assignee and r.assignee.user}
        # Users by name, active or not: an inactive one gets the service's own message.
        self.users = (
            dict(
                User.objects.filter(organisation_id=org, username__in=usernames).values_list("username", "pk")
            )
            if usernames
            else {}
        )
        team_names = {r.assignee.team for r in runs if r.assignee and r.assignee.team}
        self.teams = (
            dict(Team.objects.filter(organisation_id=org, name__in=team_names).values_list("name", "pk"))
            if team_names
            else {}
        )
        keys = {key for r in runs for key in r.attributes}
        self.attributes = (
            {d.key: d for d in RunAttributeDefinition.objects.filter(organisation_id=org, key__in=keys)}
            if keys
            else {}
        )
        people = {
            value
            for r in runs
            for key, value in r.attributes.items()
            if key in self.attributes and self.attributes[key].type == AttributeType.USER and value
        }
        self.people = (
            set(
                User.objects.filter(
                    organisation_id=org, is_active=True, username__in=[str(p) for p in people]
                ).values_list("username", flat=True)
            )
            if people
            else set()
        )


def _attribute(definition: RunAttributeDefinition, value, people: set[str]):
    """The value the wizard's details form would store, or ValueError with its message."""
    if value in (None, "", []):
        return value
    if definition.type == AttributeType.USER:
        if str(value) not in people:
            raise ValueError(f"{definition.label}: not an active user of your organisation.")
        return str(value)
    try:
        return attribute_value(definition, attribute_field(definition, User.objects.none()).clean(value))
    except forms.ValidationError as error:
        raise ValueError(f"{definition.label}: {' '.join(error.messages)}") from error


def _requests(user: User, payload: RunsIn) -> list[RunRequest]:
    refs = _References(user, payload.runs)
    errors: list[dict] = []
    requests = []
    for row, run in enumerate(payload.runs):

        def say(field, message, row=row):
            errors.append({"row": row, "field": field, "message": message})

        if isinstance(run.part, PartRef):
            part_id = refs.parts_by_ref.get((run.part.number, run.part.revision))
            if part_id is None:
                say("part", f"No part {run.part.number} revision {run.part.revision} is visible to you.")
        else:
            part_id = run.part if run.part in refs.part_ids else None
            if part_id is None:
                say("part", "The part no longer exists or is not visible to you.")
        inventory_id = None
        if run.source == RunSource.ATTACH:
            if run.inventory is None:
                say("inventory", "Attaching needs an inventory unit: its id, serial number or lot number.")
            elif isinstance(run.inventory, int):
                inventory_id = run.inventory
            elif part_id is not None:
                matches = refs.units.get((part_id, run.inventory), [])
                if len(matches) == 1:
                    inventory_id = matches[0]
                elif matches:
                    say("inventory", f"{len(matches)} units of this part are {run.inventory}; give its id.")
                else:
                    say("inventory", f"No unit of this part has serial or lot {run.inventory}.")
        elif run.inventory is not None:
            say("inventory", "Only attached runs take an inventory unit; this one builds a new item.")
        assigned_user_id = assigned_team_id = None
        if run.assignee and run.assignee.user:
            assigned_user_id = refs.users.get(run.assignee.user)
            if assigned_user_id is None:
                say("assignee", "The assignee is not an active user of your organisation.")
        elif run.assignee and run.assignee.team:
            assigned_team_id = refs.teams.get(run.assignee.team)
            if assigned_team_id is None:
                say("assignee", "The team is not one of your organisation's.")
        attributes = {}
        for key, value in run.attributes.items():
            definition = refs.attributes.get(key)
            if definition is None:
                say("attributes", f"There is no run attribute “{key}”.")
                continue
            try:
                attributes[key] = _attribute(definition, value, refs.people)
            except ValueError as error:
                say("attributes", str(error))
        if part_id is None:
            continue
        requests.append(
            RunRequest(
                part_id=part_id,
                procedure_version_id=run.procedure,
                source=run.source,
                inventory_id=inventory_id,
                tracking_type=run.tracking_type or "",
                serial_number=run.serial_number or "",
                lot_number=run.lot_number or "",
                quantity=run.quantity,
                name=run.name or "",
                due_date=run.due_date,
                export_controlled=run.export_controlled,
                assigned_user_id=assigned_user_id,
                assigned_team_id=assigned_team_id,
                attributes={k: v for k, v in attributes.items() if v not in (None, "", [])},
            )
        )
    if errors:
        raise invalid(errors)
    return requests


def _create(user: User, payload: RunsIn) -> dict:
    batch_name = (payload.batch_name or "").strip()
    requests = _requests(user, payload)
    try:
        runs = create_runs(user=user, requests=requests, batch_name=batch_name)
    except RunCreationError as error:
        raise invalid(
            [{"row": row, "field": None, "message": m} for row, ms in sorted(error.rows.items()) for m in ms],
            error.batch,
        ) from error
    # The service set part, version, unit and batch on the runs; fill in the assignees.
    ids = {r.assigned_user_id for r in runs if r.assigned_user_id}
    users = User.objects.in_bulk(ids) if ids else {}
    team_ids = {r.assigned_team_id for r in runs if r.assigned_team_id}
    teams = Team.objects.in_bulk(team_ids) if team_ids else {}
    for run in runs:
        run.assigned_user = users.get(run.assigned_user_id)
        run.assigned_team = teams.get(run.assigned_team_id)
    batch = runs[0].batch if runs else None
    return {
        "runs": [run_out(run) for run in runs],
        "batch": batch and {"id": batch.pk, "name": batch.name, "created_at": batch.created_at},
    }


def _body_hash(payload: RunsIn) -> str:
    canonical = json.dumps(payload.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _create_once(user: User, key: str, payload: RunsIn) -> tuple[int, dict]:
    """Create under an Idempotency-Key: the first answer is stored and replayed.

    The key's row is inserted first, in the creation's transaction: a concurrent request
    with the same key waits on the unique index until this one commits (then replays its
    answer) or rolls back (then goes ahead itself). A failed creation stores nothing, so
    the request can be corrected and sent again with the same key.
    """
    body_hash = _body_hash(payload)
    with transaction.atomic(durable=True):
        IdempotencyKey.objects.filter(
            user=user, key=key, created_at__lt=timezone.now() - IdempotencyKey.KEPT_FOR
        ).delete()
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(user=user, key=key, body_hash=body_hash)
        except IntegrityError:
            first = IdempotencyKey.objects.get(user=user, key=key)
            if first.body_hash != body_hash:
                raise ApiError(
                    409, "This Idempotency-Key was already used with a different request body."
                ) from None
            return Status(first.status_code, first.response)
        answer = RunsCreated.model_validate(_create(user, payload)).model_dump(mode="json")
        row.status_code, row.response = 201, answer
        row.save(update_fields=["status_code", "response"])
        return Status(201, answer)


@router.post(
    "",
    response={201: RunsCreated, 409: ErrorOut, **ERRORS},
    url_name="runs",
    summary="Create runs (all or nothing)",
)
def create(request: HttpRequest, payload: RunsIn):
    """Create 1 to 5,000 runs, optionally in a new batch. Send an `Idempotency-Key` header to
    make retries safe: the same key and body within 24 hours replays the first answer."""
    user = require(request, "runs.add_run")
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 200:
        raise invalid([{"row": None, "field": "Idempotency-Key", "message": "At most 200 characters."}])
    if key:
        return _create_once(user, key, payload)
    return Status(201, _create(user, payload))


# ---------------------------------------------------------------------------------------------
# Read


class RunFilters(Schema):
    """The Runs page's filters, under the API's names."""

    q: str | None = None
    status: str | None = Field(None, description="`open`, or todo, in_progress, hold, complete, canceled.")
    part: str | None = Field(None, description="Part number starts with.")
    procedure: str | None = Field(None, description="`none`, `v<version id>`, or `f<procedure id>`.")
    assignee: str | None = Field(None, description="`me`, `none` (unassigned) or a user id.")
    team: str | None = Field(None, description="A team id.")
    batch: str | None = Field(None, description="A batch name (exact, any case).")
    due_after: date | None = Field(None, description="Due on or after.")
    due_before: date | None = Field(None, description="Due on or before.")
    export_controlled: bool | None = Field(None, description="Only for export-cleared users.")
    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(None, description="The `next` link's cursor; opaque.")


# API name → RunFilterForm field name
FORM_FIELDS = {"due_after": "due_from", "due_before": "due_to", "export_controlled": "export"}
API_FIELDS = {form: name for name, form in FORM_FIELDS.items()}


def _encode_cursor(run: Run) -> str:
    raw = json.dumps([run.created_at.isoformat(), run.number]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        created, number = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        created = datetime.fromisoformat(created)
        if created.tzinfo is None:
            raise ValueError("naive")
        return created, int(number)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise invalid([{"row": None, "field": "cursor", "message": "Not a cursor this API gave."}]) from None


@router.get("", response={200: RunPage, **ERRORS}, url_name="runs", summary="List runs")
def list_runs(request: HttpRequest, filters: Query[RunFilters]):
    """Runs you may see, newest first, filtered as on the Runs page; follow `next` for more."""
    user = require(request, "runs.view_run")
    data = {
        FORM_FIELDS.get(name, name): value
        for name, value in filters.dict(exclude={"limit", "cursor"}).items()
        if value is not None
    }
    if "export" in data:
        data["export"] = "yes" if data["export"] else "no"
    form = RunFilterForm(data | {"sort": "-created"}, user=user)
    if not form.is_valid():
        raise invalid(
            [
                {"row": None, "field": API_FIELDS.get(name, name), "message": message}
                for name, messages in form.errors.items()
                for message in messages
            ]
        )
    runs = form.apply(visible_runs(user))
    if filters.cursor:
        created, number = _decode_cursor(filters.cursor)
        runs = runs.filter(Q(created_at__lt=created) | Q(created_at=created, number__lt=number))
    page = list(
        runs.select_related(
            "part", "procedure_version", "part_inventory", "assigned_user", "assigned_team", "batch"
        )[: filters.limit + 1]
    )
    following = None
    if len(page) > filters.limit:
        page = page[: filters.limit]
        query = request.GET.copy()
        query["cursor"] = _encode_cursor(page[-1])
        following = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    hide_hidden_batches(user, page)
    return {"runs": [run_out(run) for run in page], "next": following}


@router.get("/{int:number}", response={200: RunDetail, **ERRORS}, url_name="run", summary="One run")
def get_run(request: HttpRequest, number: int):
    """A run you may see, with its steps and their fields; 404 otherwise."""
    user = require(request, "runs.view_run")
    run = (
        visible_runs(user)
        .select_related(
            "part", "procedure_version", "part_inventory", "assigned_user", "assigned_team", "batch"
        )
        .prefetch_related("steps__fields")
        .filter(number=number)
        .first()
    )
    if run is None:
        raise ApiError(404, "No run with this number is visible to you.")
    hide_hidden_batches(user, [run])
    steps = [
        {
            "position": step.position,
            "title": step.title,
            "instructions": step.instructions,
            "status": step.status,
            "fields": [
                {
                    "position": f.position,
                    "label": f.label,
                    "type": f.type,
                    "required": f.required,
                    "options": f.options,
                }
                for f in step.fields.all()
            ],
        }
        for step in run.steps.all()
    ]
    return run_out(run) | {"steps": steps}


@batches_router.get("", response={200: list[BatchOut], **ERRORS}, url_name="batches", summary="Batches")
def list_batches(request: HttpRequest, q: str = "", limit: int = Query(100, ge=1, le=MAX_PAGE)):
    """Batches you may see (none holding a run hidden from you), newest first."""
    user = require(request, "runs.view_run")
    batches = RunBatch.objects.visible_to(user)
    if q:
        batches = batches.filter(name__icontains=q)
    return list(batches.order_by("-created_at", "-pk")[:limit])
