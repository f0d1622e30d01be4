"""Executing a run (SPEC §12): step transitions, recorded values, and what follows from them.

Each public function is one thing an operator or planner does to a step. It locks the run's
row, reads the steps as they are now, checks the transition against STEP_TRANSITIONS, writes
the step, its values and their RunEvents, then lets the run follow its steps
(`_follow_steps`): the derived status and, when the run completes or fails, its unit. All
in one transaction, so nothing is half applied.

The lock on the run row is the one every change to a run takes (run_changes.lock_run), so:
- two people completing the same step: the second waits, then finds the step complete and
  is told so (StepConflict), instead of completing it twice;
- a value saved while a planner cancels the run: whichever locks second sees the other's
  result (a canceled run refuses the value; a cancel after the value keeps it);
- a step started while the run is reassigned: the start re-reads the assignee after the
  lock and refuses the operator the run was taken from.
"""

import dataclasses

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from inventory.models import InventoryStatus, PartInventory
from ion_runs.accounts.models import User
from procedures.models import FieldType
from runs.models import Run, RunEvent, RunEventKind, RunSource, RunStatus, RunStep, RunStepField
from runs.models.runs import ADMIN_PERMISSION, OPERATOR_PERMISSION, PLANNER_PERMISSION
from runs.models.steps import StepAction, StepStatus, derive_run_status
from runs.services.events import assignee_label
from runs.services.run_changes import REASON_LENGTH, RunChangeError, lock_run


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


def start_step(*, actor: User, step: RunStep) -> StepOutcome:
    """Start the run's next step; on a pool run, an operator who starts it picks the run up."""
    return _act(actor=actor, step=step, action=StepAction.START)


def complete_step(
    *,
    actor: User,
    step: RunStep,
    values: dict[int, object] | None = None,
    files: dict[int, UploadedFile] | None = None,
) -> StepOutcome:
    """Record `values` (by field position) and complete the step, once every required field holds one."""
    return _act(actor=actor, step=step, action=StepAction.COMPLETE, values=values, files=files)


def fail_step(*, actor: User, step: RunStep, reason: str) -> StepOutcome:
    return _act(actor=actor, step=step, action=StepAction.FAIL, reason=reason)


def hold_step(*, actor: User, step: RunStep, reason: str) -> StepOutcome:
    return _act(actor=actor, step=step, action=StepAction.HOLD, reason=reason)


def resume_step(*, actor: User, step: RunStep, reason: str) -> StepOutcome:
    return _act(actor=actor, step=step, action=StepAction.RESUME, reason=reason)


def skip_step(*, actor: User, step: RunStep, reason: str) -> StepOutcome:
    """A planner's: the step does not apply to this run."""
    return _act(actor=actor, step=step, action=StepAction.SKIP, reason=reason)


def reopen_step(*, actor: User, step: RunStep, reason: str) -> StepOutcome:
    """A planner's: a failed step back to to-do for rework, its values kept."""
    return _act(actor=actor, step=step, action=StepAction.REOPEN, reason=reason)


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
) -> StepOutcome:
    """Save values (by field position) on a step in progress; every one valid, or none saved."""
    with transaction.atomic():
        run, _, step = _lock(actor, step)
        _refuse_unless(step, {StepStatus.IN_PROGRESS}, "record values on it")
        fields = list(step.fields.order_by("position"))
        checked = _checked_values(actor, step, fields, values or {}, files or {})
        events = _write_values(actor, run, step, fields, checked)
        RunEvent.objects.bulk_create(events)
    saved = len(events)
    if not saved:
        return StepOutcome(run, step, f"Nothing changed on step {step.position}.")
    return StepOutcome(run, step, f"Saved {saved} value{'s' if saved > 1 else ''} on step {step.position}.")


def reopen_run(*, actor: User, run: Run, reason: str) -> Run:
    """An admin's: a complete run open again, its last completed step back in progress."""
    reason = _checked_reason(reason, "Say why the run is reopened.")
    if not actor.has_perm(ADMIN_PERMISSION):
        raise NotYours("Only an admin can reopen a complete run.")
    with transaction.atomic():
        run = lock_run(run)
        if run.status != RunStatus.COMPLETE:
            raise StepConflict(
                f"Run {run.number} is {run.get_status_display().lower()}; only a complete run is reopened.",
                status=run.status,
            )
        steps = list(run.steps.order_by("position"))
        last = next(s for s in reversed(steps) if s.status == StepStatus.COMPLETE)
        last.status, last.finished_at, last.finished_by = StepStatus.IN_PROGRESS, None, None
        last.status_reason = reason
        last.save(update_fields=["status", "finished_at", "finished_by", "status_reason"])
        RunEvent.objects.create(
            run=run,
            kind=RunEventKind.REOPENED,
            actor=actor,
            step=last,
            reason=reason,
            before=RunStatus.COMPLETE,
            after=RunStatus.IN_PROGRESS,
        )
        _follow_steps(actor, run, steps, reason=reason)
    return run


def _act(
    *,
    actor: User,
    step: RunStep,
    action: StepAction,
    reason: str = "",
    values: dict[int, object] | None = None,
    files: dict[int, UploadedFile] | None = None,
) -> StepOutcome:
    if action.needs_reason:
        reason = _checked_reason(
            reason, f"Say why the step {DONE_WORDS[action].removesuffix(' for rework')}."
        )
    with transaction.atomic():
        run, steps, step = _lock(actor, step)
        if action.for_planners and not actor.has_perm(PLANNER_PERMISSION):
            raise NotYours(f"Only a planner can {action.label.lower()} a step.")
        from_states, to_state = action.transition
        _refuse_unless(step, from_states, action.label.lower() + " it")
        if action.waits_its_turn and step.status == StepStatus.TODO:
            _refuse_out_of_turn(steps, step)
        events = []
        if action == StepAction.COMPLETE:
            fields = list(step.fields.order_by("position"))
            checked = _checked_values(actor, step, fields, values or {}, files or {})
            # Refused before anything is written, files included: nothing to leave behind.
            missing = {
                f.position: f"{f.label} is required."
                for f in fields
                if f.required and (checked[f.position] is None if f.position in checked else not f.has_value)
            }
            if missing:
                labels = ", ".join(f.label for f in fields if f.position in missing)
                raise InvalidValues(
                    missing, f"Step {step.position} cannot be completed yet: fill in {labels}."
                )
            events += _write_values(actor, run, step, fields, checked)
        now = timezone.now()
        if action == StepAction.START:
            events += _pick_up_if_pooled(actor, run)
        if to_state == StepStatus.IN_PROGRESS and step.started_at is None:
            # Started, or resumed after a hold put on before it was started.
            step.started_at, step.started_by = now, actor
        if to_state in StepStatus.done() or to_state == StepStatus.FAILED:
            step.finished_at, step.finished_by = now, actor
        if action == StepAction.REOPEN:
            step.finished_at, step.finished_by = None, None
        before, step.status = step.status, to_state
        if action.needs_reason:
            step.status_reason = reason
        step.save(
            update_fields=[
                "status",
                "started_at",
                "started_by",
                "finished_at",
                "finished_by",
                "status_reason",
            ]
        )
        events.append(
            RunEvent(
                run=run,
                kind=EVENT_OF[action],
                actor=actor,
                at=now,
                step=step,
                before=before,
                after=to_state,
                reason=reason,
            )
        )
        RunEvent.objects.bulk_create(events)
        followed = _follow_steps(actor, run, steps)
    message = f"Step {step.position} “{step.title}” {DONE_WORDS[action]}."
    return StepOutcome(run, step, " ".join(filter(None, [message, followed, _next_step(steps, action)])))


def _lock(actor: User, step: RunStep) -> tuple[Run, list[RunStep], RunStep]:
    """The run locked, its steps as they are now, and this step among them; or why not."""
    run = lock_run(step.run)
    if run.is_closed:
        raise StepConflict(
            f"Run {run.number} is {run.get_status_display().lower()}; its steps can no longer be changed.",
            status=run.status,
        )
    if refusal := run.worker_refusal(actor):
        raise NotYours(refusal)
    steps = list(run.steps.order_by("position"))
    for current in steps:
        if current.pk == step.pk:
            current.run = run
            return run, steps, current
    raise StepConflict(f"Run {run.number} no longer has this step.", status="")


def _refuse_unless(step: RunStep, states, what: str) -> None:
    if step.status not in states:
        raise StepConflict(
            f"Step {step.position} is {step.get_status_display().lower()}; you cannot {what}.",
            status=step.status,
        )


def _refuse_out_of_turn(steps: list[RunStep], step: RunStep) -> None:
    for earlier in steps:
        if earlier.position >= step.position:
            return
        if not earlier.is_done:
            raise StepConflict(
                f"Step {earlier.position} “{earlier.title}” comes first: it is "
                f"{earlier.get_status_display().lower()}.",
                status=step.status,
            )


def _checked_reason(reason: str, required: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise RunChangeError(required, field="reason")
    if len(reason) > REASON_LENGTH:
        raise RunChangeError(
            f"The reason is {len(reason):,} characters long; at most {REASON_LENGTH:,} fit.", field="reason"
        )
    return reason


def _checked_values(
    actor: User,
    step: RunStep,
    fields: list[RunStepField],
    values: dict[int, object],
    files: dict[int, UploadedFile],
) -> dict:
    """Every value checked against its field, ready to store, by position; InvalidValues if any is not."""
    by_position = {field.position: field for field in fields}
    errors, checked = {}, {}
    for position in sorted(set(values) | set(files)):
        field = by_position.get(position)
        if field is None:
            errors[position] = f"Step {step.position} has no field {position}."
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
        raise InvalidValues(
            errors,
            f"Nothing was saved: {labels} needs fixing."
            if len(errors) == 1
            else f"Nothing was saved: {labels} need fixing.",
        )
    return checked


def _write_values(
    actor: User, run: Run, step: RunStep, fields: list[RunStepField], checked: dict
) -> list[RunEvent]:
    """Set the checked values; the events to write for those that changed.

    A file is stored as it is set. Should the transaction then fail, the file stays in
    storage unreferenced: a rare leftover, preferred to a recorded value without its file.
    """
    by_position = {field.position: field for field in fields}
    now, events, changed = timezone.now(), [], []
    for position, value in checked.items():
        field = by_position[position]
        before = field.shown_value
        if isinstance(value, UploadedFile):
            field.file.save(value.name, value, save=False)
            value = value.name
        elif value == field.value:
            continue
        field.value, field.recorded_by, field.recorded_at = value, actor, now
        changed.append(field)
        signed = field.type == FieldType.SIGNOFF
        events.append(
            RunEvent(
                run=run,
                kind=RunEventKind.SIGNED_OFF if signed else RunEventKind.VALUE_RECORDED,
                actor=actor,
                at=now,
                step=step,
                field_label=field.label,
                # A sign-off's event names its signer as its actor already.
                before="Signed" if signed and before else before,
                after=("Signed" if signed else field.shown_value) if value is not None else "",
            )
        )
    RunStepField.objects.bulk_update(changed, ["value", "file", "recorded_by", "recorded_at"])
    return events


def _check_signer(actor: User, field: RunStepField, value) -> None:
    """A sign-off is one person's: only they withdraw it, and nobody signs over it."""
    if field.value and field.recorded_by_id != actor.pk:
        signer = field.recorded_by or "a user since removed"
        raise ValidationError(f"{field.label} is signed off by {signer}; only they can change it.")


def _pick_up_if_pooled(actor: User, run: Run) -> list[RunEvent]:
    if run.assigned_user_id or run.assigned_team_id or not actor.has_perm(OPERATOR_PERMISSION):
        return []
    run.assigned_user = actor
    run.save(update_fields=["assigned_user"])
    return [RunEvent(run=run, kind=RunEventKind.PICKED_UP, actor=actor, after=assignee_label(actor, None))]


def _follow_steps(actor: User, run: Run, steps: list[RunStep], *, reason: str = "") -> str:
    """The run's status follows its steps; a complete or failed run moves its unit. What changed, in words."""
    status = derive_run_status((step.status for step in steps), started=run.started_at is not None)
    if status == run.status:
        return ""
    before, run.status = run.status, status
    now = timezone.now()
    if before == RunStatus.TODO and run.started_at is None:
        run.started_at, run.started_by = now, actor
    run.completed_at = now if status == RunStatus.COMPLETE else None
    run.save(update_fields=["status", "started_at", "started_by", "completed_at"])
    RunEvent.objects.create(
        run=run, kind=RunEventKind.STATUS_CHANGED, actor=actor, before=before, after=status, reason=reason
    )
    said = f"Run {run.number} is {status.label.lower()}"
    unit = _move_unit(run, before)
    if unit is not None:
        said += f"; {unit.identity} is now {unit.get_status_display().lower()}"
    return said + "."


def _move_unit(run: Run, before: str) -> PartInventory | None:
    """Completion into inventory (SPEC §12): the unit a run built or worked on, as the run leaves it.

    Complete: available again (a build's unit "becomes inventory"), unless another open run
    still holds it. Failed: on hold until the rework completes. Reopened by an admin: held by
    the run again, as creating it left it.
    """
    if run.part_inventory_id is None:
        return None
    if run.status == RunStatus.COMPLETE:
        target = InventoryStatus.AVAILABLE
    elif run.status == RunStatus.FAILED:
        target = InventoryStatus.ON_HOLD
    elif before == RunStatus.COMPLETE:
        target = InventoryStatus.IN_BUILD if run.source == RunSource.BUILD else InventoryStatus.WIP
    else:
        return None
    # Locked, so two runs of one unit finishing at once cannot each see the other still open.
    unit = PartInventory.objects.select_for_update().get(pk=run.part_inventory_id)
    if target == InventoryStatus.AVAILABLE:
        others = Run.objects.filter(part_inventory=unit, status__in=RunStatus.open()).exclude(pk=run.pk)
        if others.exists():
            return None
    if unit.status == target:
        return None
    unit.status = target
    unit.save(update_fields=["status"])
    run.part_inventory = unit
    return unit


def _next_step(steps: list[RunStep], action: StepAction) -> str:
    if action not in (StepAction.COMPLETE, StepAction.SKIP):
        return ""
    following = next((s for s in steps if not s.is_done), None)
    if following is None or following.status != StepStatus.TODO:
        return ""
    return f"Next: step {following.position} “{following.title}”."
