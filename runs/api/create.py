"""Creating runs over the JSON API (SPEC §8): another door to `create_runs`, never a second one.

Creating resolves the request's references (parts by number and revision, units by serial
or lot, people by username, teams by name) in a fixed number of queries, then hands
`RunRequest`s to `runs.services.create_runs`, whose rules and messages are the wizard's.
"""

import hashlib
import json

from django import forms
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.tasks import task
from django.utils import timezone
from ninja import Status

from inventory.models import Part, PartInventory, TrackingType
from ion_runs.accounts.models import IdempotencyKey, Team, User
from ion_runs.api import ERRORS, ISO_DATE, NOTHING_CREATED, ApiError, ErrorOut, error_body, invalid, require
from ion_runs.jobs.api import JobOut, job_out
from ion_runs.jobs.models import Job, JobKind
from ion_runs.jobs.running import JobFailed, Progress, run_job, start_job
from runs.access import sees_all
from runs.api import router
from runs.api.schemas import PartRef, RunIn, RunLinks, RunsCreated, RunsIn, run_out
from runs.forms import attribute_field, attribute_value
from runs.models import AttributeType, RunAttributeDefinition, RunSource
from runs.services import RunCreationError, RunRequest, create_runs

REPLAYED = "Idempotent-Replayed"
LOCATION = {"description": "The job's URL, to poll.", "schema": {"type": "string", "format": "uri-reference"}}


class _References:
    """Every reference of the request, looked up in a fixed number of queries."""

    def __init__(self, user: User, runs: list[RunIn]):
        org = user.organisation_id
        refs = {(r.part.number, r.part.revision) for r in runs if isinstance(r.part, PartRef)}
        self.parts_by_ref = {}
        # The tracking type of every part named, by id: it decides which identity fields fit.
        self.tracking: dict[int, str] = {}
        if refs:
            found = Part.objects.visible_to(user).filter(number__in={number for number, _ in refs})
            self.parts_by_ref = {(p.number, p.revision): p.pk for p in found}
            self.tracking = {p.pk: p.tracking_type for p in found}
        self.part_ids = {r.part for r in runs if isinstance(r.part, int)}
        if self.part_ids:
            by_id = Part.objects.visible_to(user).filter(pk__in=self.part_ids)
            self.tracking |= dict(by_id.values_list("pk", "tracking_type"))
            self.part_ids &= set(self.tracking)
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
        # Only text names a user; any other value is refused by `_attribute`.
        people = {
            value
            for r in runs
            for key, value in r.attributes.items()
            if key in self.attributes
            and self.attributes[key].type == AttributeType.USER
            and isinstance(value, str)
            and value
        }
        self.people = (
            set(
                User.objects.filter(organisation_id=org, is_active=True, username__in=people).values_list(
                    "username", flat=True
                )
            )
            if people
            else set()
        )


# What each attribute type takes, in JSON: what the API answers for it, and nothing else.
ATTRIBUTE_JSON = {
    AttributeType.TEXT: "text",
    AttributeType.NUMBER: "a number or its decimal text",
    AttributeType.BOOLEAN: "true or false",
    AttributeType.DATE: "a date as text (YYYY-MM-DD)",
    AttributeType.SELECT: "one of its options (text)",
    AttributeType.MULTISELECT: "a list of its options",
    AttributeType.USER: "a username (text)",
}


def _json_type(value) -> str:
    match value:
        case bool():
            return "true/false"
        case int() | float():
            return "a number"
        case str():
            return "text"
        case list():
            return "a list"
        case dict():
            return "an object"
        case _:
            return "null"


def _json_type_fits(kind: str, value) -> bool:
    match kind:
        case AttributeType.NUMBER:
            return isinstance(value, str | int | float) and not isinstance(value, bool)
        case AttributeType.BOOLEAN:
            return isinstance(value, bool)
        case AttributeType.MULTISELECT:
            return isinstance(value, list) and all(isinstance(item, str) for item in value)
        case _:
            return isinstance(value, str)


def _attribute(definition: RunAttributeDefinition, value, people: set[str]):
    """The value the wizard's details form would store, or ValueError with its message.

    Values are never coerced: a boolean takes only true or false, a text only text. Null, or
    an empty value of the attribute's own type ("" or []), is no value.
    """
    if value is None:
        return None
    if not _json_type_fits(definition.type, value):
        given = _json_type(value)
        if isinstance(value, list) and definition.type == AttributeType.MULTISELECT:
            given = "a list holding " + next(_json_type(item) for item in value if not isinstance(item, str))
        raise ValueError(f"{definition.label} is {ATTRIBUTE_JSON[definition.type]}, not {given}.")
    if value in ("", []):
        return value
    if definition.type == AttributeType.USER:
        if value not in people:
            raise ValueError(f"{definition.label}: not an active user of your organisation.")
        return value
    if definition.type == AttributeType.DATE and not ISO_DATE.fullmatch(value):
        raise ValueError(f"{definition.label}: give a date as YYYY-MM-DD.")
    try:
        return attribute_value(definition, attribute_field(definition, User.objects.none()).clean(value))
    except forms.ValidationError as error:
        raise ValueError(f"{definition.label}: {' '.join(error.messages)}") from error


def _identity_problems(run: RunIn, part_tracking: str) -> list[tuple[str, str]]:
    """Identity fields the run could not use: refused, as the wizard never offers them."""
    if run.source == RunSource.ATTACH:
        unused = {
            "serial_number": "An attached run keeps its unit's serial number; leave serial_number out.",
            "lot_number": "An attached run keeps its unit's lot; leave lot_number out.",
            "quantity": "An attached run keeps its unit's quantity; leave quantity out.",
        }
    else:
        tracking = run.tracking_type or part_tracking
        unused = {
            TrackingType.SERIAL: {
                "lot_number": "A serialized run has a serial number, not a lot number.",
                "quantity": "A serialized run makes one unit: leave quantity out or 1.",
            },
            TrackingType.LOT: {"serial_number": "A lot-tracked run has a lot number, not a serial number."},
            TrackingType.NONE: {
                "serial_number": "An untracked run has no serial number.",
                "lot_number": "An untracked run has no lot number.",
            },
        }[tracking]
    given = {"serial_number": run.serial_number, "lot_number": run.lot_number, "quantity": run.quantity != 1}
    return [(field, message) for field, message in unused.items() if given[field]]


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
                say(f"attributes.{key}", f"There is no run attribute “{key}”.")
                continue
            try:
                attributes[key] = _attribute(definition, value, refs.people)
            except ValueError as error:
                say(f"attributes.{key}", str(error))
        if part_id is None:
            continue
        for field, message in _identity_problems(run, refs.tracking[part_id]):
            say(field, message)
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
        raise invalid(errors, detail=NOTHING_CREATED)
    return requests


def _create(user: User, payload: RunsIn) -> dict:
    batch_name = (payload.batch_name or "").strip()
    requests = _requests(user, payload)
    try:
        runs = create_runs(user=user, requests=requests, batch_name=batch_name)
    except RunCreationError as error:
        raise invalid(
            [
                {"row": row, "field": problem.field, "message": str(problem)}
                for row, problems in sorted(error.rows.items())
                for problem in problems
            ],
            error.batch,
            detail=NOTHING_CREATED,
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
    links = RunLinks()
    return {
        "runs": [run_out(run, links) for run in runs],
        "batch": batch and {"id": batch.pk, "name": batch.name, "created_at": batch.created_at},
    }


def _body_hash(payload: RunsIn) -> str:
    canonical = json.dumps(payload.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_replay(user: User, answer: dict) -> None:
    """404 unless `user` may still see all that the stored `answer` names (runs, batch).

    The answer was right for the user as they were; clearance may have been lost since.
    """
    run_ids = {run["id"] for run in answer["runs"]}
    batch_id = answer["batch"] and answer["batch"]["id"]
    if not sees_all(user, run_ids=run_ids, batch_id=batch_id):
        raise ApiError(404, "What this Idempotency-Key created is no longer visible to you.")


def create_answer(user: User, payload: RunsIn) -> dict:
    """What a `201` answers: the runs made, as JSON."""
    return RunsCreated.model_validate(_create(user, payload)).model_dump(mode="json")


def _answer(user: User, payload: RunsIn) -> tuple[int, dict]:
    """(201, the runs) at once; or, for more runs than a request should hold, (202, a job).

    A large request is still checked here, so a mistake in it is a `422` at once; the job
    then checks again and creates, as the data may change before a worker takes it.
    """
    count = len(payload.runs)
    if count <= settings.API_CREATE_IN_BACKGROUND_ABOVE:
        return 201, create_answer(user, payload)
    _requests(user, payload)
    job = start_job(
        create_over_api,
        owner=user,
        kind=JobKind.API_CREATE,
        title=f"Create {count:,} runs over the API",
        params={"payload": payload.model_dump(mode="json")},
        total=count,
    )
    return 202, JobOut.model_validate(job_out(job, user)).model_dump(mode="json")


@task
def create_over_api(job_id: int) -> None:
    run_job(job_id, _create_in_worker)


def _create_in_worker(progress: Progress) -> None:
    """The `201` answer made by a worker; a failure keeps what a `422` would have answered."""
    job = progress.job
    try:
        job.result_data = create_answer(job.owner, RunsIn.model_validate(job.params["payload"]))
    except ApiError as error:
        problems = error.batch_errors + [
            f"Row {e['row']}, {e['field']}: {e['message']}" if e.get("row") is not None else e["message"]
            for e in error.errors
        ]
        raise JobFailed(problems or [error.detail], data=error_body(error)) from None
    job.export_controlled = any(run["export_controlled"] for run in job.result_data["runs"])


def _create_once(user: User, key: str, payload: RunsIn, response: HttpResponse) -> Status:
    """Create under an Idempotency-Key: the first answer is stored and replayed.

    The key's row is inserted first, in the creation's transaction: a concurrent request
    with the same key waits on the unique index until this one commits (then replays its
    answer) or rolls back (then goes ahead itself). A failed creation stores nothing, so
    the request can be corrected and sent again with the same key. A `202`'s answer is its
    job, so a retry is pointed at the same job, never a second one.
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
            # So a client can tell a retry's answer from a fresh one (it made nothing new).
            response[REPLAYED] = "true"
            return _replay(user, first, response)
        status, answer = _answer(user, payload)
        row.status_code, row.response = status, answer
        row.save(update_fields=["status_code", "response"])
        return _status(status, answer, response)


def _replay(user: User, first: IdempotencyKey, response: HttpResponse) -> Status:
    if first.status_code == 202:
        job = Job.objects.visible_to(user).filter(pk=first.response["id"]).first()
        if job is None:
            raise ApiError(404, "What this Idempotency-Key started is no longer visible to you.")
        return _status(202, job_out(job, user), response)
    _check_replay(user, first.response)
    return Status(first.status_code, first.response)


def _status(status: int, answer: dict, response: HttpResponse) -> Status:
    if status == 202:
        # Where to poll: RFC 9110's Location for a 202.
        response["Location"] = answer["url"]
    return Status(status, answer)


@router.post(
    "",
    # 400: a body that is not JSON at all; 413: one larger than the server reads; 415: not JSON.
    response={
        201: RunsCreated,
        202: JobOut,
        400: ErrorOut,
        409: ErrorOut,
        413: ErrorOut,
        415: ErrorOut,
        **ERRORS,
    },
    url_name="runs",
    summary="Create runs (all or nothing)",
    openapi_extra={
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Makes retries safe: the same key and body within 24 hours replays the "
                "first answer; another body answers 409. At most 200 printable ASCII characters; "
                "surrounding spaces are ignored, and a blank key is no key.",
                "schema": {"type": "string", "maxLength": 200, "pattern": r"^[\x20-\x7E]*$"},
            }
        ],
        "responses": {
            status: {
                "headers": {
                    REPLAYED: {
                        "description": "`true` when this answer replays the first one sent with the "
                        "same Idempotency-Key: nothing new was made. Absent otherwise.",
                        "schema": {"type": "string", "enum": ["true"]},
                    },
                    **({"Location": LOCATION} if status == 202 else {}),
                }
            }
            for status in (201, 202)
        },
    },
)
def create(request: HttpRequest, payload: RunsIn, response: HttpResponse):
    """Create 1 to 5,000 runs, optionally in a new batch. Send an `Idempotency-Key` header to
    make retries safe: the same key and body within 24 hours replays the first answer, with
    the header `Idempotent-Replayed: true`.

    More runs than the server makes at once (1,000 by default) are checked, then made by a
    background job: the answer is `202 Accepted` with the job (and its URL in `Location`);
    poll `GET /api/v1/jobs/{id}` until it is `done` (its `result` is this call's `201` body)
    or `failed` (its `error` is the `422` body)."""
    user = require(request, "runs.add_run")
    key = request.headers.get("Idempotency-Key", "")
    # As the document's pattern says, checked before the spaces are trimmed: printable ASCII
    # (a header carries bytes; other characters arrive as whatever the client's encoding made).
    if len(key) > 200 or not (key.isascii() and key.isprintable()):
        message = "At most 200 printable ASCII characters."
        raise invalid([{"row": None, "field": "Idempotency-Key", "message": message}], detail=NOTHING_CREATED)
    key = key.strip()
    if key:
        return _create_once(user, key, payload, response)
    return _status(*_answer(user, payload), response)
