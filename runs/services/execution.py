"""Executing a run (SPEC §12): step transitions, recorded values, and what follows from them.

Each public function is one thing an operator or planner does to a step. On a batched run
it reaches the sibling step (same procedure step, hence same position) of every other open
run of the batch the actor may see, unless the actor says "this run only" (issue 19): steps
in batched runs share sign-offs and values. A sibling is reached only where its own step
allows the action by the same rules (state, order, required and valid values); the others
are reported, with why. The run acted on is held to the rules strictly: if it refuses,
nothing is written anywhere.

One transaction, set-based: the runs are locked, their steps read and written, their
RunEvents inserted, and each run's status follows its steps (`_follow`) with, when a run
completes or fails, its unit; in a number of queries that does not grow with the batch.

Locks: every change to a run locks its row first (run_changes.lock_runs), and a batch's
runs are locked together in id order, so:
- two people completing the same step: the second waits, then finds the step complete and
  is told so (StepConflict), instead of completing it twice;
- a value saved while a planner cancels the run: whichever locks second sees the other's
  result (a canceled run refuses the value; a cancel after the value keeps it);
- a step started while the run is reassigned: the start re-reads the assignee after the
  lock and refuses the operator the run was taken from;
- two operators acting on two runs of one batch: both lock the batch's runs in the same
  order, so one waits for the other instead of deadlocking;
- a run joining or leaving the batch meanwhile: the batch's runs are read again once
  locked, so a run is either in (and reached) or out (and untouched).
"""

import dataclasses
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import BigIntegerField, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from inventory.models import InventoryStatus, PartInventory
from ion_runs.accounts.models import User
from procedures.models import FieldType
from runs.access import my_team_ids
from runs.models import (
    NAMED_IN_MESSAGE,
    Run,
    RunBatch,
    RunEvent,
    RunEventKind,
    RunSource,
    RunStatus,
    RunStep,
    RunStepField,
    named_in_message,
)
from runs.models.runs import ADMIN_PERMISSION, OPERATOR_PERMISSION, PLANNER_PERMISSION
from runs.models.steps import StepAction, StepStatus, derive_run_status
from runs.services.events import assignee_label
from runs.services.run_changes import CHANGED_RELATED, RunChangeError, checked_reason, lock_run, lock_runs


class StepConflict(RunChangeError):
    """The run's or step's state does not allow the action now; `status` is the state it is in."""

    def __init__(self, message: str, *, status: str):
        super().__init__(message)
        self.status = status


class NotYours(RunChangeError):
    """The user may see the run but not do this to it."""


class InvalidValues(RunChangeError):
    """Values that break their fields' rules, or required fields left empty: {field position: message}."""

    def __init__(self, errors: dict[int, str], message: str):
        super().__init__(message)
        self.errors = errors


@dataclasses.dataclass
class StepOutcome:
    run: Run
    step: RunStep
    message: str
    # The other runs of the batch the action reached, and those it did not, with why.
    reached: list[Run] = dataclasses.field(default_factory=list)
    not_reached: list[tuple[Run, str]] = dataclasses.field(default_factory=list)


EVENT_OF = {
    StepAction.START: RunEventKind.STEP_STARTED,
    StepAction.COMPLETE: RunEventKind.STEP_COMPLETED,
    StepAction.FAIL: RunEventKind.STEP_FAILED,
    StepAction.HOLD: RunEventKind.STEP_HELD,
    StepAction.RESUME: RunEventKind.STEP_RESUMED,
    StepAction.SKIP: RunEventKind.STEP_SKIPPED,
    StepAction.REOPEN: RunEventKind.STEP_REOPENED,
}

# What a step did, as the outcome's message says it: "Step 2 “Torque cover” failed."
DONE_WORDS = {
    StepAction.START: "is started",
    StepAction.COMPLETE: "is complete",
    StepAction.FAIL: "failed",
    StepAction.HOLD: "is on hold",
    StepAction.RESUME: "is resumed",
    StepAction.SKIP: "is skipped",
    StepAction.REOPEN: "is reopened for rework",
}
SAVE = "save"


def start_step(*, actor: User, step: RunStep, this_run_only: bool = False) -> StepOutcome:
    """Start the run's next step; on a pool run, an operator who starts it picks the run up."""
    return _act(actor=actor, step=step, action=StepAction.START, this_run_only=this_run_only)


def complete_step(
    *,
    actor: User,
    step: RunStep,
    values: dict[int, object] | None = None,
    files: dict[int, UploadedFile] | None = None,
    this_run_only: bool = False,
) -> StepOutcome:
    """Record `values` (by field position) and complete the step, once every required field holds one."""
    return _act(
        actor=actor,
        step=step,
        action=StepAction.COMPLETE,
        values=values,
        files=files,
        this_run_only=this_run_only,
    )


def fail_step(*, actor: User, step: RunStep, reason: str, this_run_only: bool = False) -> StepOutcome:
    return _act(actor=actor, step=step, action=StepAction.FAIL, reason=reason, this_run_only=this_run_only)


def hold_step(*, actor: User, step: RunStep, reason: str, this_run_only: bool = False) -> StepOutcome:
    return _act(actor=actor, step=step, action=StepAction.HOLD, reason=reason, this_run_only=this_run_only)


def resume_step(*, actor: User, step: RunStep, reason: str, this_run_only: bool = False) -> StepOutcome:
    return _act(actor=actor, step=step, action=StepAction.RESUME, reason=reason, this_run_only=this_run_only)


def skip_step(*, actor: User, step: RunStep, reason: str, this_run_only: bool = False) -> StepOutcome:
    """A planner's: the step does not apply to this run."""
    return _act(actor=actor, step=step, action=StepAction.SKIP, reason=reason, this_run_only=this_run_only)


def reopen_step(*, actor: User, step: RunStep, reason: str, this_run_only: bool = False) -> StepOutcome:
    """A planner's: a failed step back to to-do for rework, its values kept."""
    return _act(actor=actor, step=step, action=StepAction.REOPEN, reason=reason, this_run_only=this_run_only)


ACTIONS = {
    StepAction.START: start_step,
    StepAction.COMPLETE: complete_step,
    StepAction.FAIL: fail_step,
    StepAction.HOLD: hold_step,
    StepAction.RESUME: resume_step,
    StepAction.SKIP: skip_step,
    StepAction.REOPEN: reopen_step,
}


def record_values(
    *,
    actor: User,
    step: RunStep,
    values: dict[int, object] | None = None,
    files: dict[int, UploadedFile] | None = None,
    this_run_only: bool = False,
) -> StepOutcome:
    """Save values (by field position) on a step in progress; every one valid, or none saved."""
    return _act(actor=actor, step=step, action=SAVE, values=values, files=files, this_run_only=this_run_only)


def reopen_run(*, actor: User, run: Run, reason: str) -> Run:
    """An admin's: a complete run open again, its last completed step back in progress."""
    reason = checked_reason(reason, "Say why the run is reopened.")
    if not actor.has_perm(ADMIN_PERMISSION):
        raise NotYours("Only an admin can reopen a complete run.")
    with transaction.atomic():
        run = lock_run(run)
        if run.status != RunStatus.COMPLETE:
            raise StepConflict(
                f"Run {run.number} is {run.get_status_display().lower()}; only a complete run is reopened.",
                status=run.status,
            )
        last = run.steps.filter(status=StepStatus.COMPLETE).order_by("-position").first()
        target = _Target(run, last, _statuses([run.pk])[run.pk])
        last.status, last.finished_at, last.finished_by = StepStatus.IN_PROGRESS, None, None
        last.status_reason = reason
        last.save(update_fields=["status", "finished_at", "finished_by", "status_reason"])
        target.statuses[last.position] = (StepStatus.IN_PROGRESS, last.title)
        RunEvent.objects.create(
            run=run,
            kind=RunEventKind.REOPENED,
            actor=actor,
            step=last,
            reason=reason,
            before=RunStatus.COMPLETE,
            after=RunStatus.IN_PROGRESS,
        )
        RunEvent.objects.bulk_create(_follow(actor, [target], timezone.now(), reason=reason))
    return run


@dataclasses.dataclass(eq=False)
class _Target:
    """One run an action is taken on: the run, its step at the acted position, and every step's
    (status, title) by position, for the order rule and the run's status."""

    run: Run
    step: RunStep
    statuses: dict[int, tuple[str, str]]
    fields: list[RunStepField] = dataclasses.field(default_factory=list)
    checked: dict = dataclasses.field(default_factory=dict)
    refusal: str = ""
    followed: str = ""


def _act(
    *,
    actor: User,
    step: RunStep,
    action: StepAction | str,
    reason: str = "",
    values: dict[int, object] | None = None,
    files: dict[int, UploadedFile] | None = None,
    this_run_only: bool = False,
) -> StepOutcome:
    saving = action == SAVE
    if not saving and action.needs_reason:
        reason = checked_reason(reason, f"Say why the step {DONE_WORDS[action].removesuffix(' for rework')}.")
    with transaction.atomic():
        acted, siblings, batch = _lock_targets(actor, step, this_run_only)
        if not saving and action.for_planners and not actor.has_perm(PLANNER_PERMISSION):
            raise NotYours(f"Only a planner can {action.label.lower()} a step.")
        targets = [acted, *siblings]
        if saving or action == StepAction.COMPLETE:
            _load_fields(targets)
        # Read once for the whole batch: an actor in no team has an empty set, not None (which
        # would have worker_refusal read it again for every run assigned to a team).
        team_ids = set(my_team_ids(actor)) if siblings else None
        for target in targets:
            try:
                _check(actor, target, action, values or {}, files or {}, team_ids)
            except RunChangeError as refused:
                if target is acted:
                    raise
                target.refusal = str(refused)
        reached = [target for target in targets if not target.refusal]
        now = timezone.now()
        events = _write_values(actor, reached, now)
        if saving and this_run_only and batch is not None and events:
            # Values kept to this run part it from its batch as much as an action would.
            RunStep.objects.filter(pk=acted.step.pk).update(worked_alone=True)
        if not saving:
            events += _transition(
                actor, reached, action, reason, now, worked_alone=this_run_only and batch is not None
            )
            events += _follow(actor, reached, now)
        for event in events:
            if event.run_id != acted.run.pk:
                event.acted_on = acted.run
        RunEvent.objects.bulk_create(events)
    return _outcome(acted, siblings, batch, action, events)


def _lock_targets(
    actor: User, step: RunStep, this_run_only: bool
) -> tuple[_Target, list[_Target], RunBatch | None]:
    """The run acted on and, unless `this_run_only`, the other open runs of its batch the actor may
    see: locked, read as they are now, with their steps at the acted position; or why not."""
    batch_id = Run.objects.filter(pk=step.run_id).values_list("batch_id", flat=True).first()
    ids = {step.run_id}
    # A batch holding a run the actor may not see is not theirs to work as one (nor to name).
    if batch_id and not this_run_only and RunBatch.objects.visible_to(actor).filter(pk=batch_id).exists():
        members = Run.objects.visible_to(actor).filter(batch_id=batch_id, status__in=RunStatus.open())
        ids |= set(members.values_list("pk", flat=True))
    lock_runs(ids)
    runs = Run.objects.select_related(*CHANGED_RELATED, "part_inventory").in_bulk(ids)
    run = runs.pop(step.run_id)
    if run.is_closed:
        raise StepConflict(
            f"Run {run.number} is {run.get_status_display().lower()}; its steps can no longer be changed.",
            status=run.status,
        )
    if refusal := run.worker_refusal(actor):
        raise NotYours(refusal)
    # Read again once locked: a run that left the batch (or closed) meanwhile is out.
    others = [
        other
        for other in runs.values()
        if run.batch_id
        and len(ids) > 1
        and other.batch_id == run.batch_id
        and not other.is_closed
        and other.procedure_version_id == run.procedure_version_id
    ]
    others.sort(key=lambda other: other.number)
    statuses = _statuses([run.pk, *(other.pk for other in others)])
    steps = {s.run_id: s for s in RunStep.objects.filter(run_id__in=statuses, position=step.position)}
    if run.pk not in steps or steps[run.pk].pk != step.pk:
        raise StepConflict(f"Run {run.number} no longer has this step.", status="")
    acted = _Target(run, steps[run.pk], statuses[run.pk])
    siblings = [_Target(other, steps[other.pk], statuses[other.pk]) for other in others if other.pk in steps]
    for target in [acted, *siblings]:
        target.step.run = target.run
    return acted, siblings, run.batch if run.batch_id else None


def _statuses(run_ids) -> dict[int, dict[int, tuple[str, str]]]:
    statuses = defaultdict(dict)
    rows = RunStep.objects.filter(run_id__in=run_ids).values_list("run_id", "position", "status", "title")
    for run_id, position, status, title in rows:
        statuses[run_id][position] = (status, title)
    return {run_id: statuses[run_id] for run_id in run_ids}


def _load_fields(targets: list[_Target]) -> None:
    by_step = defaultdict(list)
    fields = RunStepField.objects.filter(run_step_id__in=[t.step.pk for t in targets]).select_related(
        "recorded_by"
    )
    for field in fields.order_by("position"):
        by_step[field.run_step_id].append(field)
    for target in targets:
        target.fields = by_step[target.step.pk]


def _check(actor, target: _Target, action, values: dict, files: dict, team_ids: set[int] | None) -> None:
    """Raise why the action may not be taken on this target now; fill in its checked values."""
    run, step = target.run, target.step
    if run.is_closed:
        raise StepConflict(f"run {run.number} is {run.get_status_display().lower()}", status=run.status)
    if refusal := run.worker_refusal(actor, team_ids=team_ids):
        raise NotYours(refusal)
    if action == SAVE:
        _refuse_unless(step, {StepStatus.IN_PROGRESS}, "record values on it")
    else:
        _refuse_unless(step, action.transition[0], action.label.lower() + " it")
        if action.waits_its_turn and step.status == StepStatus.TODO:
            _refuse_out_of_turn(target)
    if action in (SAVE, StepAction.COMPLETE):
        target.checked = _checked_values(actor, target, values, files)
    if action == StepAction.COMPLETE:
        missing = {
            f.position: f"{f.label} is required."
            for f in target.fields
            if f.required
            and (target.checked[f.position] is None if f.position in target.checked else not f.has_value)
        }
        if missing:
            labels = ", ".join(f.label for f in target.fields if f.position in missing)
            raise InvalidValues(missing, f"Step {step.position} cannot be completed yet: fill in {labels}.")


def _refuse_unless(step: RunStep, states, what: str) -> None:
    if step.status not in states:
        raise StepConflict(
            f"Step {step.position} is {step.get_status_display().lower()}; you cannot {what}.",
            status=step.status,
        )


def _refuse_out_of_turn(target: _Target) -> None:
    for position in sorted(target.statuses):
        if position >= target.step.position:
            return
        status, title = target.statuses[position]
        if status not in StepStatus.done():
            raise StepConflict(
                f"Step {position} “{title}” comes first: it is {StepStatus(status).label.lower()}.",
                status=target.step.status,
            )


def _checked_values(actor: User, target: _Target, values: dict, files: dict) -> dict:
    """Every value checked against its field, ready to store, by position; InvalidValues if any is not."""
    by_position = {field.position: field for field in target.fields}
    errors, checked = {}, {}
    for position in sorted(set(values) | set(files)):
        field = by_position.get(position)
        if field is None:
            errors[position] = f"Step {target.step.position} has no field {position}."
            continue
        try:
            if position in files:
                field.checked_file(files[position])
                checked[position] = files[position]
            else:
                checked[position] = field.checked_value(values[position])
                if field.type == FieldType.SIGNOFF:
                    _check_signer(actor, field, checked[position])
        except ValidationError as error:
            errors[position] = " ".join(error.messages)
    if errors:
        labels = ", ".join(by_position[p].label if p in by_position else f"field {p}" for p in errors)
        verb = "needs" if len(errors) == 1 else "need"
        raise InvalidValues(errors, f"Nothing was saved: {labels} {verb} fixing.")
    return checked


def _check_signer(actor: User, field: RunStepField, value) -> None:
    """A sign-off is one person's: only they withdraw it, and nobody signs over it."""
    if field.value and field.recorded_by_id != actor.pk:
        signer = field.recorded_by or "a user since removed"
        raise ValidationError(f"{field.label} is signed off by {signer}; only they can change it.")


def _write_values(actor: User, reached: list[_Target], now) -> list[RunEvent]:
    """Set the checked values on every target reached; the events for those that changed.

    On a batch, one UPDATE per field position and value, however many runs share it. A file is stored once
    and named by every run it reaches; should the transaction then fail, it stays in storage
    unreferenced: a rare leftover, preferred to a recorded value without its file.
    """
    events, groups, stored = [], {}, {}
    for target in reached:
        for field in target.fields:
            if field.position not in target.checked:
                continue
            value = target.checked[field.position]
            before = field.shown_value
            if isinstance(value, UploadedFile):
                if field.position not in stored:
                    field.file.save(value.name, value, save=False)
                    stored[field.position] = field.file.name
                field.file.name, value = stored[field.position], value.name
            elif value == field.value:
                continue
            field.value, field.recorded_by, field.recorded_at = value, actor, now
            groups.setdefault((field.position, repr(value), field.file.name), (value, []))[1].append(field.pk)
            signed = field.type == FieldType.SIGNOFF
            events.append(
                RunEvent(
                    run=target.run,
                    kind=RunEventKind.SIGNED_OFF if signed else RunEventKind.VALUE_RECORDED,
                    actor=actor,
                    at=now,
                    step=target.step,
                    field_label=field.label,
                    # A sign-off's event names its signer as its actor already.
                    before="Signed" if signed and before else before,
                    after=("Signed" if signed else field.shown_value) if value is not None else "",
                )
            )
    if len(reached) == 1:
        # One run: its changed fields in one statement.
        changed = [f for f in reached[0].fields if f.recorded_at == now]
        RunStepField.objects.bulk_update(changed, ["value", "file", "recorded_by", "recorded_at"])
    else:
        # A batch: a statement per field and value, each reaching every run that shares it.
        for (_, _, file_name), (value, pks) in groups.items():
            RunStepField.objects.filter(pk__in=pks).update(
                value=value, file=file_name, recorded_by=actor, recorded_at=now
            )
    return events


def _transition(
    actor: User, reached: list[_Target], action: StepAction, reason: str, now, *, worked_alone
) -> list[RunEvent]:
    """Move every reached step to the action's state in one UPDATE; their events (and pick-ups)."""
    to_state = action.transition[1]
    changes = {"status": to_state}
    if action.needs_reason:
        changes["status_reason"] = reason
    if to_state in StepStatus.done() or to_state == StepStatus.FAILED:
        changes["finished_at"], changes["finished_by"] = now, actor
    if action == StepAction.REOPEN:
        changes["finished_at"], changes["finished_by"] = None, None
    if worked_alone:
        changes["worked_alone"] = True
    if to_state == StepStatus.IN_PROGRESS:
        # Started, or resumed after a hold put on before it was started: the first start stays.
        changes["started_at"] = Coalesce("started_at", Value(now))
        changes["started_by"] = Coalesce("started_by", Value(actor.pk), output_field=BigIntegerField())
    RunStep.objects.filter(pk__in=[t.step.pk for t in reached]).update(**changes)
    events = []
    for target in reached:
        step = target.step
        events.append(
            RunEvent(
                run=target.run,
                kind=EVENT_OF[action],
                actor=actor,
                at=now,
                step=step,
                before=step.status,
                after=to_state,
                reason=reason,
            )
        )
        if to_state == StepStatus.IN_PROGRESS and step.started_at is None:
            step.started_at, step.started_by = now, actor
        step.status = to_state
        target.statuses[step.position] = (to_state, step.title)
    if action == StepAction.START:
        events += _pick_up_pooled(actor, reached)
    return events


def _pick_up_pooled(actor: User, reached: list[_Target]) -> list[RunEvent]:
    """An operator who starts a step of a pool run picks it up."""
    if not actor.has_perm(OPERATOR_PERMISSION):
        return []
    pooled = [t.run for t in reached if not (t.run.assigned_user_id or t.run.assigned_team_id)]
    Run.objects.filter(pk__in=[run.pk for run in pooled]).update(assigned_user=actor)
    for run in pooled:
        run.assigned_user = actor
    after = assignee_label(actor, None)
    return [RunEvent(run=run, kind=RunEventKind.PICKED_UP, actor=actor, after=after) for run in pooled]


def _follow(actor: User, reached: list[_Target], now, *, reason: str = "") -> list[RunEvent]:
    """Each run's status follows its steps; a complete or failed run moves its unit. The events."""
    moved = defaultdict(list)
    for target in reached:
        run = target.run
        status = derive_run_status(
            (s for s, _ in target.statuses.values()), started=run.started_at is not None
        )
        if status != run.status:
            moved[(run.status, status)].append(target)
    events = []
    for (before, status), targets in moved.items():
        runs = [t.run for t in targets]
        # A run leaving to-do starts now (one that started before and was reopened is never to do).
        started = {"started_at": now, "started_by": actor} if before == RunStatus.TODO else {}
        Run.objects.filter(pk__in=[run.pk for run in runs]).update(
            status=status, completed_at=now if status == RunStatus.COMPLETE else None, **started
        )
        for target in targets:
            run = target.run
            run.status, run.completed_at = status, now if status == RunStatus.COMPLETE else None
            if before == RunStatus.TODO and run.started_at is None:
                run.started_at, run.started_by = now, actor
            target.followed = f"Run {run.number} is {RunStatus(status).label.lower()}"
            event = RunEvent(
                run=run, kind=RunEventKind.STATUS_CHANGED, actor=actor, before=before, after=status
            )
            event.reason = reason
            events.append(event)
    _move_units({target: before for (before, _), targets in moved.items() for target in targets})
    return events


def _move_units(before: dict[_Target, str]) -> None:
    """Completion into inventory (SPEC §12): the units these runs built or worked on, as they leave them.

    Complete: available again (a build's unit "becomes inventory"), unless another open run
    still holds it. Failed: on hold until the rework completes. Reopened by an admin: held by
    the run again, as creating it left it.
    """
    wanted = {}
    for target, was in before.items():
        run = target.run
        if run.status == RunStatus.COMPLETE:
            wanted[target] = InventoryStatus.AVAILABLE
        elif run.status == RunStatus.FAILED:
            wanted[target] = InventoryStatus.ON_HOLD
        elif was == RunStatus.COMPLETE:
            wanted[target] = (
                InventoryStatus.IN_BUILD if run.source == RunSource.BUILD else InventoryStatus.WIP
            )
    if not wanted:
        return
    # Locked in id order, so two batches finishing runs of one unit cannot each see the other open.
    unit_ids = sorted({t.run.part_inventory_id for t in wanted})
    units = {
        u.pk: u for u in PartInventory.objects.select_for_update().filter(pk__in=unit_ids).order_by("pk")
    }
    moving = {t.run.pk for t in wanted}
    held = set(
        Run.objects.filter(part_inventory_id__in=unit_ids, status__in=RunStatus.open())
        .exclude(pk__in=moving)
        .values_list("part_inventory_id", flat=True)
    )
    to_status = defaultdict(set)
    for target, status in wanted.items():
        unit = units[target.run.part_inventory_id]
        if (status == InventoryStatus.AVAILABLE and unit.pk in held) or unit.status == status:
            continue
        to_status[status].add(unit.pk)
        unit.status = status
        target.run.part_inventory = unit
        target.followed += f"; {unit.identity} is now {unit.get_status_display().lower()}"
    for status, pks in to_status.items():
        PartInventory.objects.filter(pk__in=pks).update(status=status)


def _outcome(acted: _Target, siblings: list[_Target], batch, action, events: list[RunEvent]) -> StepOutcome:
    step = acted.step
    if action == SAVE:
        saved = sum(1 for e in events if e.run_id == acted.run.pk)
        message = (
            f"Saved {saved} value{'s' if saved > 1 else ''} on step {step.position}."
            if saved
            else f"Nothing changed on step {step.position}."
        )
    else:
        message = f"Step {step.position} “{step.title}” {DONE_WORDS[action]}."
        if acted.followed:
            message += f" {acted.followed}."
        if action in (StepAction.COMPLETE, StepAction.SKIP):
            message += _next_step(acted)
    reached = [t.run for t in siblings if not t.refusal]
    not_reached = [(t.run, t.refusal) for t in siblings if t.refusal]
    if siblings:
        message += " " + _batch_words(batch, reached, not_reached)
    return StepOutcome(acted.run, step, message, reached, not_reached)


def _batch_words(batch, reached: list[Run], not_reached: list[tuple[Run, str]]) -> str:
    """What the batch got: "It reached the 19 other runs of batch “W48”." and who did not, why."""
    where = f"batch “{batch}”"
    said = []
    if reached:
        named = _numbers(reached)
        said.append(
            f"It reached {len(reached)} other run{'s' if len(reached) > 1 else ''} of {where}: {named}."
        )
    else:
        said.append(f"It reached no other run of {where}.")
    if not_reached:
        shown = "; ".join(f"run {run.number}: {why}" for run, why in not_reached[:NAMED_IN_MESSAGE])
        more = len(not_reached) - NAMED_IN_MESSAGE
        said.append(f"Not reached — {shown}" + (f"; and {more:,} more." if more > 0 else "."))
    return " ".join(said)


def _numbers(runs: list[Run]) -> str:
    return named_in_message([f"#{run.number}" for run in runs])


def _next_step(target: _Target) -> str:
    for position in sorted(target.statuses):
        status, title = target.statuses[position]
        if status not in StepStatus.done():
            return f" Next: step {position} “{title}”." if status == StepStatus.TODO else ""
    return ""
