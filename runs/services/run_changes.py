"""Changing a run after creation: reassign, reschedule, rename, cancel, pick up (SPEC §9).

Each service locks the run's row, checks the rules on what is there now, makes the change
and writes its RunEvent in the same transaction. A form passes what it showed (`seen`):
when someone else changed that since the page was loaded, nothing is overwritten and
StaleChange says what it is now.
"""

import datetime

from django.db import transaction

from inventory.models import InventoryStatus, PartInventory
from ion_runs.accounts.models import Team, User
from runs.models import Run, RunEventKind, RunSource, RunStatus, shown_due_date
from runs.services.events import assignee_label, record

RUN_NAME_LENGTH = Run._meta.get_field("name").max_length
REASON_LENGTH = 2000
# What a change reads of a run besides the row: for its checks, and what its event says before.
CHANGED_RELATED = ("assigned_user", "assigned_team", "batch", "procedure_version")


class Unseen:
    """The caller showed no particular value (the admin, the API): nothing to be stale against."""

    def __repr__(self) -> str:
        return "UNSEEN"


UNSEEN = Unseen()


class RunChangeError(Exception):
    """Nothing was changed. `messages` say why; `field` is the form field they belong to."""

    def __init__(self, *messages: str, field: str | None = None):
        self.messages = list(messages)
        self.field = field
        super().__init__(" ".join(messages))


class StaleChange(RunChangeError):
    """What the form showed changed since (someone else's change): the caller shows it as it is now."""


def assignee_key(run: Run) -> str:
    """The assignment as a form remembers it: `user:7`, `team:3`, or "" for the pool."""
    if run.assigned_user_id:
        return f"user:{run.assigned_user_id}"
    if run.assigned_team_id:
        return f"team:{run.assigned_team_id}"
    return ""


def due_key(run: Run) -> str:
    return run.due_date.isoformat() if run.due_date else ""


def lock_run(run: Run) -> Run:
    """The run as it is now, its row locked until commit: changes to one run take turns."""
    lock_runs([run.pk])
    return Run.objects.select_related(*CHANGED_RELATED).get(pk=run.pk)


def lock_runs(pks) -> None:
    """Lock these runs' rows, in id order so that no two lockers deadlock.

    The rows are read again afterwards, with what they refer to: the rows joined to a
    locked row are those of the snapshot before the wait (PostgreSQL re-reads only the
    locked row), so a batch or assignee that changed meanwhile would come back stale.
    """
    list(Run.objects.select_for_update().filter(pk__in=pks).order_by("pk").values_list("pk", flat=True))


def checked_reason(reason: str, required: str) -> str:
    """A reason as stored: trimmed, there (else `required` says so), and not too long."""
    reason = (reason or "").strip()
    if not reason:
        raise RunChangeError(required, field="reason")
    if len(reason) > REASON_LENGTH:
        raise RunChangeError(
            f"The reason is {len(reason):,} characters long; at most {REASON_LENGTH:,} fit.", field="reason"
        )
    return reason


def refuse_if_closed(run: Run) -> None:
    if refusal := run.closed_refusal():
        raise RunChangeError(refusal)


def _check_seen(run: Run, seen: str | Unseen, current: str, what: str, now_shown: str) -> None:
    if seen is not UNSEEN and seen != current:
        raise StaleChange(
            f"The {what} of run {run.number} changed since this page was loaded: it is now {now_shown}. "
            "Nothing was changed; check the run as it is now and try again."
        )


def reassign_run(
    *,
    actor: User,
    run: Run,
    user: User | None = None,
    team: Team | None = None,
    seen: str | Unseen = UNSEEN,
    reason: str = "",
) -> Run:
    """Assign the run to a user, a team, or (neither) back to the unassigned pool."""
    if user is not None and team is not None:
        raise RunChangeError("Assign the run to a user or to a team, not both.", field="assignee")
    with transaction.atomic():
        run = lock_run(run)
        refuse_if_closed(run)
        before = assignee_label(run.assigned_user, run.assigned_team)
        _check_seen(run, seen, assignee_key(run), "assignee", before or "the unassigned pool")
        if user is not None and (user.organisation_id != run.organisation_id or not user.is_active):
            raise RunChangeError("The assignee is not an active user of your organisation.", field="assignee")
        if team is not None and team.organisation_id != run.organisation_id:
            raise RunChangeError("The team is not one of your organisation's.", field="assignee")
        if refusal := run.assignee_refusal(user):
            raise RunChangeError(refusal, field="assignee")
        if (run.assigned_user_id, run.assigned_team_id) == (user and user.pk, team and team.pk):
            return run
        run.assigned_user, run.assigned_team = user, team
        run.save(update_fields=["assigned_user", "assigned_team"])
        after = assignee_label(user, team)
        record(run=run, kind=RunEventKind.ASSIGNED, actor=actor, before=before, after=after, reason=reason)
    return run


def reschedule_run(
    *,
    actor: User,
    run: Run,
    due_date: datetime.date | None,
    seen: str | Unseen = UNSEEN,
    reason: str = "",
) -> Run:
    """Move the run's due date (None: no due date)."""
    with transaction.atomic():
        run = lock_run(run)
        refuse_if_closed(run)
        before = due_key(run)
        _check_seen(run, seen, before, "due date", shown_due_date(run.due_date))
        if run.due_date == due_date:
            return run
        run.due_date = due_date
        run.save(update_fields=["due_date"])
        after = due_key(run)
        record(run=run, kind=RunEventKind.RESCHEDULED, actor=actor, before=before, after=after, reason=reason)
    return run


def rename_run(*, actor: User, run: Run, name: str, seen: str | Unseen = UNSEEN) -> Run:
    name = " ".join(name.split())
    if not name:
        raise RunChangeError("Give the run a name.", field="name")
    if len(name) > RUN_NAME_LENGTH:
        raise RunChangeError(
            f"The name is {len(name)} characters long; at most {RUN_NAME_LENGTH} fit.", field="name"
        )
    with transaction.atomic():
        run = lock_run(run)
        refuse_if_closed(run)
        _check_seen(run, seen, run.name, "name", f"“{run.name}”")
        if run.name == name:
            return run
        before, run.name = run.name, name
        run.save(update_fields=["name"])
        record(run=run, kind=RunEventKind.RENAMED, actor=actor, before=before, after=name)
    return run


def cancel_run(*, actor: User, run: Run, reason: str) -> Run:
    """Cancel the run for a reason, which is required: a canceled run is closed for good.

    Its inventory unit is let go when no other open run holds it: a unit whose build was
    never finished is put on hold (nothing more is built on it; someone decides whether it
    is scrapped or finished another way), and one that was only attached is available again.
    """
    reason = checked_reason(reason, "Say why the run is canceled.")
    with transaction.atomic():
        run = lock_run(run)
        refuse_if_closed(run)
        before, run.status = run.status, RunStatus.CANCELED
        run.save(update_fields=["status"])
        record(
            run=run, kind=RunEventKind.CANCELED, actor=actor, before=before, after=run.status, reason=reason
        )
        _let_go_of_unit(run)
    return run


# The states creating runs puts a unit in: building it, or working on it.
HELD_BY_RUNS = (InventoryStatus.IN_BUILD, InventoryStatus.WIP)


def _let_go_of_unit(run: Run) -> None:
    if run.part_inventory_id is None:
        return
    # Locked, so two runs of one unit canceled at once cannot each see the other still open.
    unit = PartInventory.objects.select_for_update().get(pk=run.part_inventory_id)
    runs = Run.objects.filter(part_inventory=unit)
    if not runs.filter(status__in=RunStatus.open()).exists():
        builds = set(runs.filter(source=RunSource.BUILD).values_list("status", flat=True))
        unfinished = builds and RunStatus.COMPLETE not in builds
        if unfinished and unit.status in HELD_BY_RUNS:
            unit.status = InventoryStatus.ON_HOLD
            unit.save(update_fields=["status"])
        elif unit.status == InventoryStatus.WIP:
            unit.status = InventoryStatus.AVAILABLE
            unit.save(update_fields=["status"])
    run.part_inventory = unit


def pick_up_run(*, actor: User, run: Run) -> bool:
    """Assign an open run of the unassigned pool to `actor`; False if it no longer is one."""
    with transaction.atomic():
        # Two operators may press Pick up on the same run at once. The condition inside the
        # UPDATE settles it: the row is locked for the first, and the second's condition no
        # longer holds when it gets the row, so it updates nothing instead of overwriting.
        won = Run.objects.filter(
            pk=run.pk,
            assigned_user__isnull=True,
            assigned_team__isnull=True,
            status__in=RunStatus.open(),
        ).update(assigned_user=actor)
        if won:
            record(run=run, kind=RunEventKind.PICKED_UP, actor=actor, after=assignee_label(actor, None))
    return bool(won)
