"""Creating runs: the one place runs are made, for the wizard, the API and the tests."""

import uuid
from collections import Counter as Tally
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Count
from django.utils import timezone
from django.utils.text import Truncator

from inventory.models import InventoryStatus, Part, PartInventory, TrackingType
from ion_runs.accounts.models import Counter, Team, User
from ion_runs.accounts.patterns import render_pattern
from procedures.models import FieldSpec, ProcedureStep, ProcedureVersion, VersionStatus
from runs.models import (
    Run,
    RunAttributeDefinition,
    RunBatch,
    RunDraft,
    RunSource,
    RunStatus,
    StepStatus,
    mixed_versions_message,
)
from runs.services.events import record_created

NOT_RUNNABLE_INVENTORY = "Part inventory is not in a state that allows a new run"
UNRELEASED_PROCEDURE = "Procedure has unreleased steps"
MAX_QUANTITY = 1_000_000
RUN_NAME_LENGTH = Run._meta.get_field("name").max_length
SERIAL_LENGTH = PartInventory._meta.get_field("serial_number").max_length
LOT_LENGTH = PartInventory._meta.get_field("lot_number").max_length
BATCH_NAME_LENGTH = RunBatch._meta.get_field("name").max_length


@dataclass(frozen=True, kw_only=True)
class RunRequest:
    """What one run should be. Blank serial, lot or name means auto-generated."""

    part_id: int
    procedure_version_id: int | None = None
    source: str = RunSource.BUILD
    inventory_id: int | None = None
    tracking_type: str = ""
    serial_number: str = ""
    lot_number: str = ""
    quantity: int = 1
    name: str = ""
    due_date: date | None = None
    export_controlled: bool = False
    assigned_user_id: int | None = None
    assigned_team_id: int | None = None
    attributes: dict = field(default_factory=dict)
    key: uuid.UUID | None = None

    @classmethod
    def from_draft(cls, draft: RunDraft) -> "RunRequest":
        data = draft.data
        return cls(
            part_id=data["part"],
            procedure_version_id=data.get("procedure"),
            source=data.get("source", RunSource.BUILD),
            inventory_id=data.get("inventory"),
            tracking_type=data.get("tracking_type", ""),
            serial_number=data.get("serial_number", ""),
            lot_number=data.get("lot_number", ""),
            quantity=int(data.get("quantity") or 1),
            name=data.get("name", ""),
            due_date=date.fromisoformat(data["due_date"]) if data.get("due_date") else None,
            export_controlled=bool(data.get("export_controlled")),
            assigned_user_id=data.get("assigned_user"),
            assigned_team_id=data.get("assigned_team"),
            attributes=data.get("attributes", {}),
            key=draft.pk,
        )


class Problem(str):
    """Why a request cannot become a run, in the planner's words, and the field it is about.

    A `str`, so Review, the importer and messages use it as the text it is; the API reads
    `field` to name the field of its 422 (the names of the API's run fields, which are the
    spreadsheet's columns too). None when the problem is the row as a whole.
    """

    field: str | None

    def __new__(cls, message: str, field: str | None = None) -> "Problem":
        problem = super().__new__(cls, message)
        problem.field = field
        return problem


class RunCreationError(Exception):
    """Nothing was created. `rows` maps a request's index to its problems."""

    def __init__(self, rows: dict[int, list[Problem]] | None = None, batch: list[str] | None = None):
        self.rows = rows or {}
        self.batch = batch or []
        super().__init__("; ".join([*self.batch, *(m for ms in self.rows.values() for m in ms)]))


def _families_locked(user: User, version_ids: set[int]) -> dict[int, ProcedureVersion]:
    """Every version of the families of these versions, by id, locked until our commit.

    A release locks the versions of its family FOR UPDATE, so it cannot slip in between
    our check of the released version and our copy of its steps: it waits for us, or we
    for it and then see what it released. FOR KEY SHARE (not offered by
    select_for_update()) is the weakest lock that does that: creators don't exclude each
    other, and editing a draft of the family doesn't wait for them. SQLite has no row
    locks; its writers take turns anyway.
    """
    visible = ProcedureVersion.objects.visible_to(user)
    families = visible.filter(pk__in=version_ids).values("procedure_id")
    sql, params = visible.filter(procedure_id__in=families).query.sql_with_params()
    if connection.features.has_select_for_update:
        sql += " FOR KEY SHARE"
    return {v.pk: v for v in ProcedureVersion.objects.raw(sql, params)}


class _Plan:
    """The objects the requests refer to, loaded (and locked) in a fixed number of queries."""

    def __init__(self, user: User, requests: Sequence[RunRequest]):
        org_id = user.organisation_id
        self.parts = (
            Part.objects.visible_to(user)
            .select_related("organisation")
            .in_bulk({r.part_id for r in requests})
        )
        # Locked so that a unit cannot be scrapped or consumed between our check and our write.
        self.inventory = (
            PartInventory.objects.select_for_update()
            .filter(organisation_id=org_id)
            .in_bulk({r.inventory_id for r in requests if r.inventory_id})
        )
        requested = {r.procedure_version_id for r in requests if r.procedure_version_id}
        self.versions = _families_locked(user, requested) if requested else {}
        # Export control belongs to the whole family (see procedures.models).
        self.controlled_families = {v.procedure_id for v in self.versions.values() if v.export_controlled}
        self.released = {
            v.procedure_id: v for v in self.versions.values() if v.status == VersionStatus.RELEASED
        }
        self.unapproved = dict(
            ProcedureStep.objects.filter(version_id__in=self.versions, approved=False)
            .values_list("version_id")
            .annotate(n=Count("pk"))
        )
        links = ProcedureVersion.parts.through.objects.filter(procedureversion_id__in=self.versions)
        self.links = set(links.values_list("procedureversion_id", "part_id"))
        self.users = User.objects.filter(organisation_id=org_id, is_active=True).in_bulk(
            {r.assigned_user_id for r in requests if r.assigned_user_id}
        )
        self.teams = Team.objects.filter(organisation_id=org_id).in_bulk(
            {r.assigned_team_id for r in requests if r.assigned_team_id}
        )
        typed = [r.serial_number for r in requests if r.serial_number]
        self.taken_serials = set(
            PartInventory.objects.filter(organisation_id=org_id, serial_number__in=typed).values_list(
                "serial_number", flat=True
            )
        )
        typed_lots = {r.lot_number for r in requests if r.lot_number}
        self.taken_lots = (
            set(
                PartInventory.objects.filter(
                    organisation_id=org_id, part_id__in=self.parts, lot_number__in=typed_lots
                ).values_list("part_id", "lot_number")
            )
            if typed_lots
            else set()
        )
        self.required_attributes = list(
            RunAttributeDefinition.objects.filter(organisation_id=org_id, required=True).values_list(
                "key", "label"
            )
        )

    def export_controlled(self, request: RunRequest, part: Part, version: ProcedureVersion | None) -> bool:
        """A run is export controlled when its part or procedure is, or the planner says so (SPEC §6)."""
        return bool(
            request.export_controlled
            or part.export_controlled
            or (version and version.procedure_id in self.controlled_families)
        )

    def resolve_version(self, request: RunRequest) -> tuple[ProcedureVersion | None, list[Problem]]:
        """The version a run is created on: the one released now (the revision lock)."""
        if not request.procedure_version_id:
            return None, []
        version = self.versions.get(request.procedure_version_id)
        if version is None:
            return None, [Problem("The procedure no longer exists or is not visible to you.", "procedure")]
        if version.status == VersionStatus.SUPERSEDED and version.procedure_id in self.released:
            version = self.released[version.procedure_id]
        if version.status != VersionStatus.RELEASED or self.unapproved.get(version.pk):
            return version, [
                Problem(
                    f"{UNRELEASED_PROCEDURE}: {version} is {version.get_status_display().lower()}"
                    + (" and has unapproved steps." if self.unapproved.get(version.pk) else "."),
                    "procedure",
                )
            ]
        return version, []


def problems_with(*, user: User, requests: Sequence[RunRequest]) -> dict[int, list[Problem]]:
    """What create_runs would refuse in each request, by index, without creating anything.

    The spreadsheet import shows these at the row on Review. The rows it reads are locked
    until the caller's transaction ends, as in create_runs.
    """
    problems, _ = _check(user, _Plan(user, requests), requests)
    return problems


def _check(user: User, plan: _Plan, requests: Sequence[RunRequest]) -> tuple[dict, dict]:
    problems: dict[int, list[Problem]] = defaultdict(list)
    versions: dict[int, ProcedureVersion | None] = {}
    serial_rows = Tally(r.serial_number for r in requests if r.serial_number)
    for i, request in enumerate(requests):

        def say(field: str, message: str, i: int = i) -> None:
            problems[i].append(Problem(message, field))

        part = plan.parts.get(request.part_id)
        if part is None:
            say("part", "The part no longer exists or is not visible to you.")
            continue
        version, version_problems = plan.resolve_version(request)
        versions[i] = version
        problems[i].extend(version_problems)
        if version and (version.pk, part.pk) not in plan.links:
            say("procedure", f"Procedure “{version}” is not linked to part {part}.")
        if request.source == RunSource.ATTACH:
            unit = plan.inventory.get(request.inventory_id)
            if unit is None or unit.part_id != part.pk:
                say("inventory", f"Pick an inventory unit of part {part}.")
            elif not unit.can_take_run:
                say(
                    "inventory",
                    f"{NOT_RUNNABLE_INVENTORY} ({unit.identity} is {unit.get_status_display().lower()}).",
                )
        else:
            tracking = request.tracking_type or part.tracking_type
            if request.serial_number and tracking == TrackingType.SERIAL:
                if request.serial_number in plan.taken_serials:
                    say(
                        "serial_number",
                        f"Serial number {request.serial_number} is already used in inventory.",
                    )
                elif serial_rows[request.serial_number] > 1:
                    say("serial_number", f"Serial number {request.serial_number} is on more than one row.")
            if tracking == TrackingType.LOT and (part.pk, request.lot_number) in plan.taken_lots:
                say("lot_number", f"Lot {request.lot_number} already exists for this part.")
            if tracking != TrackingType.SERIAL and not 1 <= request.quantity <= MAX_QUANTITY:
                say("quantity", f"Quantity must be between 1 and {MAX_QUANTITY:,}.")
        for name, label, value, limit in (
            ("name", "Run name", request.name, RUN_NAME_LENGTH),
            ("serial_number", "Serial number", request.serial_number, SERIAL_LENGTH),
            ("lot_number", "Lot number", request.lot_number, LOT_LENGTH),
        ):
            if len(value) > limit:
                say(name, f"{label} is {len(value)} characters long; at most {limit} fit.")
        if request.assigned_user_id and request.assigned_team_id:
            say("assignee", "Assign the run to a user or to a team, not both.")
        elif request.assigned_user_id and request.assigned_user_id not in plan.users:
            say("assignee", "The assignee is not an active user of your organisation.")
        elif request.assigned_user_id and not plan.users[request.assigned_user_id].export_cleared:
            if plan.export_controlled(request, part, version):
                say(
                    "assignee",
                    f"{plan.users[request.assigned_user_id]} is not export-cleared "
                    "and could not see this export-controlled run.",
                )
        elif request.assigned_team_id and request.assigned_team_id not in plan.teams:
            say("assignee", "The team is not one of your organisation's.")
        if request.export_controlled and not user.export_cleared:
            say("export_controlled", "Only export-cleared users can mark a run export controlled.")
        for key, label in plan.required_attributes:
            if request.attributes.get(key) in (None, "", []):
                say("attributes", f"{label} is required.")
    return {i: ms for i, ms in problems.items() if ms}, versions


def _batch_problems(user: User, batch_name: str, versions: dict) -> list[str]:
    problems = []
    if len(batch_name) > BATCH_NAME_LENGTH:
        problems.append(
            f"The batch name is {len(batch_name)} characters long; at most {BATCH_NAME_LENGTH} fit."
        )
    if RunBatch.objects.named(batch_name, user=user).exists():
        problems.append(f"A batch named “{batch_name}” already exists.")
    by_version = defaultdict(list)
    for i, version in sorted(versions.items()):
        by_version[version].append(i + 1)
    if conflict := mixed_versions_message(by_version, "row"):
        problems.append(conflict)
    return problems


def _allocate(
    counters: BaseDatabaseWrapper,
    organisation,
    parts_by_row: list[Part],
    kind: str,
    typed: set[str] = frozenset(),
) -> list[str]:
    """Serials or lots for these rows from their parts' patterns, never handed out twice."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row, part in enumerate(parts_by_row):
        own = getattr(part, f"{kind}_pattern")
        key = f"{kind}:part:{part.pk}" if own else kind
        groups[(key, own or getattr(organisation, f"{kind}_pattern"))].append(row)
    today = timezone.localdate()
    values = [""] * len(parts_by_row)
    # Counters are always taken in the same order, so two creators cannot deadlock.
    for (key, pattern), rows in sorted(groups.items()):
        pending = rows
        while pending:
            seqs = Counter.take(organisation, key, len(pending), connection=counters)
            for row, seq in zip(pending, seqs, strict=True):
                part = parts_by_row[row]
                values[row] = render_pattern(
                    pattern, part_number=part.number, revision=part.revision, seq=seq, today=today
                )
            if kind != "serial":
                break
            # A typed serial may already hold a value the pattern now produces: skip it.
            clashes = set(
                PartInventory.objects.filter(
                    organisation=organisation, serial_number__in=[values[r] for r in pending]
                ).values_list("serial_number", flat=True)
            )
            clashes |= typed
            pending = [r for r in pending if values[r] in clashes]
    return values


def _created_with(user: User, token: uuid.UUID) -> list[Run]:
    """The runs an earlier press of Create made with this token.

    A token belongs to the planner whose form carried it: someone else's token (a
    tampered form) must neither show their runs nor mix new runs in with them.
    """
    runs = list(Run.objects.filter(creation_token=token).order_by("number"))
    if any(run.created_by_id != user.pk for run in runs):
        raise RunCreationError(batch=["This form was already used. Reload the page and try again."])
    return runs


def create_runs(
    *,
    user: User,
    requests: Sequence[RunRequest],
    batch_name: str = "",
    token: uuid.UUID | None = None,
) -> list[Run]:
    """Create one run per request, all or none; raises RunCreationError with what to fix.

    Pressing Create twice sends the same token (and the same request keys): the
    second call returns the runs of the first instead of making them again.
    """
    if not requests:
        raise RunCreationError(batch=["There are no runs to create."])
    token = token or uuid.uuid4()
    organisation = user.organisation
    with _counter_connection() as counters, transaction.atomic():
        if already := _created_with(user, token):
            return already
        keys = [r.key for r in requests if r.key]
        if keys and Run.objects.filter(request_key__in=keys).exists():
            raise RunCreationError(batch=["Some of these runs were already created."])
        plan = _Plan(user, requests)
        problems, versions = _check(user, plan, requests)
        batch_problems = _batch_problems(user, batch_name, versions) if batch_name else []
        if problems or batch_problems:
            raise RunCreationError(problems, batch_problems)
        try:
            return _write(user, organisation, plan, requests, versions, batch_name, token, counters)
        except IntegrityError as exc:
            # Only a concurrent creator can get here: everything was checked under lock
            # except typed serials, which a parallel transaction may have just taken.
            raise RunCreationError(
                batch=["Another planner created conflicting runs at the same moment; try again."]
            ) from exc


def _write(user, organisation, plan, requests, versions, batch_name, token, counters) -> list[Run]:
    parts = [plan.parts[r.part_id] for r in requests]
    tracking = [r.tracking_type or p.tracking_type for r, p in zip(requests, parts, strict=True)]
    build = [r.source != RunSource.ATTACH for r in requests]
    auto_serial = [
        i
        for i, r in enumerate(requests)
        if build[i] and tracking[i] == TrackingType.SERIAL and not r.serial_number
    ]
    auto_lot = [
        i for i, r in enumerate(requests) if build[i] and tracking[i] == TrackingType.LOT and not r.lot_number
    ]
    serials = dict(
        zip(
            auto_serial,
            _allocate(
                counters,
                organisation,
                [parts[i] for i in auto_serial],
                "serial",
                {r.serial_number for r in requests if r.serial_number},
            ),
            strict=True,
        )
    )
    lots = dict(
        zip(auto_lot, _allocate(counters, organisation, [parts[i] for i in auto_lot], "lot"), strict=True)
    )
    too_long = {
        i: [
            Problem(
                f"The {kind} pattern makes “{value}”, longer than the {limit} characters that fit.",
                f"{kind}_number",
            )
        ]
        for kind, values, limit in (("serial", serials, SERIAL_LENGTH), ("lot", lots, LOT_LENGTH))
        for i, value in values.items()
        if len(value) > limit
    }
    if too_long:
        raise RunCreationError(too_long)
    numbers = Counter.take(organisation, "run", len(requests), connection=counters)

    new_units = {}
    for i, request in enumerate(requests):
        if not build[i]:
            continue
        serial = serials.get(i, request.serial_number) if tracking[i] == TrackingType.SERIAL else ""
        new_units[i] = PartInventory(
            organisation=organisation,
            part=parts[i],
            serial_number=serial,
            lot_number=lots.get(i, request.lot_number) if tracking[i] == TrackingType.LOT else "",
            quantity=1 if serial else request.quantity,
            status=InventoryStatus.IN_BUILD,
        )
    PartInventory.objects.bulk_create(new_units.values())
    attached = [r.inventory_id for i, r in enumerate(requests) if not build[i]]
    PartInventory.objects.filter(pk__in=attached).update(status=InventoryStatus.WIP)

    controlled = [plan.export_controlled(r, parts[i], versions.get(i)) for i, r in enumerate(requests)]
    batch = None
    if batch_name:
        batch = RunBatch.objects.create(
            organisation=organisation, name=batch_name, created_by=user, export_controlled=any(controlled)
        )
    now = timezone.now()
    runs = []
    for i, (request, number) in enumerate(zip(requests, numbers, strict=True)):
        unit = new_units.get(i) or plan.inventory[request.inventory_id]
        version = versions.get(i)
        runs.append(
            Run(
                organisation=organisation,
                number=number,
                name=request.name or auto_run_name(number, parts[i], unit),
                part=parts[i],
                procedure_version=version,
                source=request.source,
                part_inventory=unit,
                tracking_type=tracking[i],
                due_date=request.due_date,
                export_controlled=controlled[i],
                assigned_user_id=request.assigned_user_id,
                assigned_team_id=request.assigned_team_id,
                batch=batch,
                attributes=request.attributes,
                status=RunStatus.TODO,
                created_by=user,
                created_at=now,
                request_key=request.key,
                creation_token=token,
            )
        )
    Run.objects.bulk_create(runs)
    _copy_steps(token)
    record_created(token)
    return runs


def auto_run_name(number: int, part: Part, unit: PartInventory) -> str:
    """`Run 1234: BRKT-ASSY-001 · SN-00001`, shortened to fit when part number and serial are long."""
    return Truncator(f"Run {number}: {part.number} · {unit.identity}").chars(RUN_NAME_LENGTH)


def _copy_steps(token: uuid.UUID) -> None:
    """Copy the steps and step fields of each run's procedure version onto the runs made with `token`."""
    token = Run._meta.get_field("creation_token").get_db_prep_value(token, connection)
    _copy_steps_where("r.creation_token = %s", token)


# Which runs a copy is for: those made with a creation token, one run, or a batch's runs.
RunsPicked = Literal["r.creation_token = %s", "r.id = %s", "r.batch_id = %s"]


def _copy_steps_where(runs: RunsPicked, param) -> None:
    """Copy the steps and step fields of each run's procedure version onto the runs `runs` picks.

    `runs` is a condition on `runs_run r` with one placeholder, `param` its value: the
    creation token of the runs just made (create_runs), or the run or batch a procedure
    was just added to (procedures.add_procedure). The runs it picks have no steps yet.
    A run keeps its own copy, so later revisions of the procedure change nothing on it.

    Two INSERT … SELECT statements: run steps from the procedure's steps joined to the
    picked runs; then run step fields from the procedure's step fields, joined to those
    run steps through the run's version and the step position (unique in a version).
    Every value copied is in the database already: built as model instances in Python,
    the 120,000 rows of 1,000 runs of 30 steps of 3 fields took three quarters of the
    whole creation (issue 10); here they never leave the database, and the number of
    queries does not grow with runs or steps. Plain SQL that PostgreSQL and SQLite
    (3.35+) both run; the condition is one of RunsPicked's fixed texts, and only values
    are parameters.
    """
    copied = ", ".join(FieldSpec.COPIED)
    with connection.cursor() as cursor:
        # In run and position order, so the steps of a run are stored side by side.
        cursor.execute(
            f"""
            INSERT INTO runs_runstep (run_id, position, title, instructions, status)
            SELECT r.id, s.position, s.title, s.instructions, %s
            FROM runs_run r
            JOIN procedures_procedurestep s ON s.version_id = r.procedure_version_id
            WHERE {runs}
            ORDER BY r.id, s.position
            """,
            [StepStatus.TODO, param],
        )
        # MATERIALIZED: each run step is paired with its source step once, not once per
        # field; and in run step order, which the join to the fields keeps, so a run's
        # fields are stored side by side too without sorting the wide field rows.
        cursor.execute(
            f"""
            WITH copied_steps AS MATERIALIZED (
                SELECT rs.id AS run_step_id, s.id AS step_id
                FROM runs_run r
                JOIN runs_runstep rs ON rs.run_id = r.id
                JOIN procedures_procedurestep s
                    ON s.version_id = r.procedure_version_id AND s.position = rs.position
                WHERE {runs}
                ORDER BY rs.id
            )
            INSERT INTO runs_runstepfield (run_step_id, {copied})
            SELECT c.run_step_id, {", ".join(f"f.{column}" for column in FieldSpec.COPIED)}
            FROM copied_steps c
            JOIN procedures_stepfield f ON f.step_id = c.step_id
            """,
            [param],
        )


@contextmanager
def _counter_connection() -> Iterator[BaseDatabaseWrapper]:
    """The connection run numbers, serials and lots are taken on.

    On PostgreSQL, a connection of its own in autocommit: each take is a transaction of
    one statement, so the counter rows are not held while the runs and their steps are
    written, and creators in one organisation don't queue behind each other. A creation
    that then rolls back leaves a gap, which SPEC §5 allows; never a repeat.

    That connection sees committed rows only, so it is used when the transaction we are
    about to open is our own, or is the durable (outermost) one create_runs_from_drafts
    opens. Inside anyone else's transaction (a test's, a script's that has just made the
    organisation) counters are taken in it, as on SQLite, whose writers take turns anyway.
    """
    ours = not connection.in_atomic_block or connection.atomic_blocks[0].durable
    if connection.vendor != "postgresql" or not ours:
        yield connection
        return
    own = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        yield own
    finally:
        own.close()
