"""Writing a run's history (SPEC §9): a RunEvent for every change, in the change's transaction.

The services that change runs call these; so does the admin, whose edits are changes too.
"""

import uuid

from django.db import connection

from ion_runs.accounts.models import Team, User
from runs.models import Run, RunBatch, RunEvent, RunEventKind, RunStatus


def assignee_label(user: User | None, team: Team | None) -> str:
    """Who a run is assigned to, as its history keeps it ("" is the unassigned pool)."""
    if user is not None:
        return str(user)
    if team is not None:
        return f"team {team}"
    return ""


def record(
    *,
    run: Run,
    kind: RunEventKind,
    actor: User | None,
    before: str = "",
    after: str = "",
    reason: str = "",
    batch: RunBatch | None = None,
) -> RunEvent:
    return RunEvent.objects.create(
        run=run, kind=kind, actor=actor, before=before, after=after, reason=reason, batch=batch
    )


def record_created(token: uuid.UUID) -> None:
    """A "created" event for each run made with `token`, in one INSERT … SELECT.

    Like the step copies (creation._copy_steps), the rows never leave the database, so
    creating 5,000 runs costs this one statement: who created each run, when, in which
    batch and with which token are all on the run rows just inserted.
    """
    token = Run._meta.get_field("creation_token").get_db_prep_value(token, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO runs_runevent
                (run_id, kind, actor_id, at, before, after, reason, batch_id, creation_token)
            SELECT r.id, %s, r.created_by_id, r.created_at, '', '', '', r.batch_id, r.creation_token
            FROM runs_run r
            WHERE r.creation_token = %s
            ORDER BY r.id
            """,
            [RunEventKind.CREATED.value, token],
        )


def record_changes(*, actor: User | None, was: Run, now: Run, reason: str = "") -> list[RunEvent]:
    """The events for what differs between two states of one run: an edit in the admin.

    A change to a canceled status is "canceled"; any other status change "status changed".
    """
    events = []

    def changed(kind, before, after):
        if before != after:
            events.append(
                RunEvent(run=now, kind=kind, actor=actor, before=before, after=after, reason=reason)
            )

    changed(
        RunEventKind.ASSIGNED,
        assignee_label(was.assigned_user, was.assigned_team),
        assignee_label(now.assigned_user, now.assigned_team),
    )
    changed(
        RunEventKind.RESCHEDULED,
        was.due_date.isoformat() if was.due_date else "",
        now.due_date.isoformat() if now.due_date else "",
    )
    changed(RunEventKind.RENAMED, was.name, now.name)
    if was.batch_id != now.batch_id:
        if was.batch_id:
            events.append(
                RunEvent(
                    run=now,
                    kind=RunEventKind.UNBATCHED,
                    actor=actor,
                    before=was.batch.name,
                    reason=reason,
                    batch_id=was.batch_id,
                )
            )
        if now.batch_id:
            events.append(
                RunEvent(
                    run=now,
                    kind=RunEventKind.BATCHED,
                    actor=actor,
                    after=now.batch.name,
                    reason=reason,
                    batch_id=now.batch_id,
                )
            )
    kind = RunEventKind.CANCELED if now.status == RunStatus.CANCELED else RunEventKind.STATUS_CHANGED
    changed(kind, was.status, now.status)
    return RunEvent.objects.bulk_create(events)
