"""A run's history: one RunEvent per change (SPEC §9, §12)."""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from runs.models.batches import RunBatch
from runs.models.runs import Run, RunStatus, shown_due_date


class RunEventKind(models.TextChoices):
    CREATED = "created", "Created"
    ASSIGNED = "assigned", "Reassigned"
    PICKED_UP = "picked_up", "Picked up"
    RESCHEDULED = "rescheduled", "Due date changed"
    RENAMED = "renamed", "Renamed"
    BATCHED = "batched", "Added to batch"
    UNBATCHED = "unbatched", "Removed from batch"
    # Written on each run of the batch, so that its history explains why an earlier
    # "Added to batch" names another batch than the run page does now; on a batch holding
    # no run, written once, on no run.
    BATCH_RENAMED = "batch_renamed", "Batch renamed"
    CANCELED = "canceled", "Canceled"
    # A status set in the admin other than canceled, or a run's status following its steps.
    STATUS_CHANGED = "status_changed", "Status changed"
    # Executing its steps (SPEC §12): each names its step.
    STEP_STARTED = "step_started", "Step started"
    STEP_COMPLETED = "step_completed", "Step completed"
    STEP_FAILED = "step_failed", "Step failed"
    STEP_HELD = "step_held", "Step put on hold"
    STEP_RESUMED = "step_resumed", "Step resumed"
    STEP_SKIPPED = "step_skipped", "Step skipped"
    STEP_REOPENED = "step_reopened", "Step reopened"
    VALUE_RECORDED = "value_recorded", "Value recorded"
    SIGNED_OFF = "signed_off", "Signed off"
    REOPENED = "reopened", "Run reopened"
    # A procedure given to a run created without one (SPEC §12): `after` names the version.
    PROCEDURE_ADDED = "procedure_added", "Procedure added"

    @classmethod
    def batching(cls) -> list[str]:
        return [cls.BATCHED, cls.UNBATCHED]

    @classmethod
    def naming_a_batch(cls) -> list[str]:
        """The kinds whose `before` and `after` are batch names."""
        return [*cls.batching(), cls.BATCH_RENAMED]


def batch_deleted(collector, field, sub_objs, using):
    """A deleted batch takes its own events (renames while it held no run) with it; its runs'
    events stay, naming no batch, as a run's history outlives its batch."""
    models.CASCADE(collector, field, sub_objs.filter(run__isnull=True), using)
    models.SET_NULL(collector, field, sub_objs.filter(run__isnull=False), using)


class RunEvent(models.Model):
    """One change to a run: who, when, what before and after, and why (SPEC §9).

    Written by the service that makes the change, in its transaction. `before` and `after`
    keep what the page showed then (a person's or team's name, a batch's name, a due date
    as ISO text), so the history reads the same after people and batches are renamed.
    A "created" event names the batch the run was created in and the creation token.

    A batch's rename is written on each of its runs; a batch that holds no run keeps it as an
    event of no run (the only kind that may have none), deleted with the batch.
    """

    run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    kind = models.CharField(max_length=20, choices=RunEventKind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    # Recorded values can be long texts: kept whole, as they were.
    before = models.TextField(blank=True)
    after = models.TextField(blank=True)
    reason = models.TextField(blank=True)
    batch = models.ForeignKey(RunBatch, null=True, blank=True, on_delete=batch_deleted, related_name="events")
    creation_token = models.UUIDField(null=True, blank=True)
    # A step's event names its step, and a recorded value its field (by label, kept in `field_label`).
    step = models.ForeignKey(
        "RunStep", null=True, blank=True, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    # Both defaults: the database's for rows inserted by SQL (record_created), Python's so that
    # events built in bulk all take PostgreSQL's fast multi-row insert.
    field_label = models.CharField(max_length=200, blank=True, default="", db_default="")
    # The run the action was taken on, when it reached this one through their batch (issue 19).
    acted_on = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(run__isnull=False) | Q(kind="batch_renamed", batch__isnull=False),
                name="run_event_of_a_run_or_a_batch_rename",
            )
        ]
        indexes = [
            # A run's history, newest first (the run page); also serves the foreign key.
            models.Index(fields=["run", "-at", "-id"], name="run_event_run_idx"),
            # A batch's runs joining and leaving it, newest first (the batch page).
            models.Index(
                fields=["batch", "-at", "-id"],
                condition=Q(kind__in=["batched", "unbatched"]),
                name="run_event_batching_idx",
            ),
            # Deleting a run's steps (or a run acted on for its batch) finds their events by
            # these, instead of scanning every event; most events name neither.
            models.Index(fields=["step"], condition=Q(step__isnull=False), name="run_event_step_idx"),
            models.Index(
                fields=["acted_on"], condition=Q(acted_on__isnull=False), name="run_event_acted_on_idx"
            ),
        ]

    def __str__(self) -> str:
        of = f"run {self.run_id}" if self.run_id else f"batch {self.batch_id}"
        return f"{self.get_kind_display()} · {of} · {self.at:%Y-%m-%d %H:%M}"

    @property
    def shown_before(self) -> str:
        return self._shown(self.before)

    @property
    def shown_after(self) -> str:
        return self._shown(self.after)

    def _shown(self, value: str) -> str:
        """A value as the history shows it: dates formatted, blanks named."""
        match self.kind:
            case RunEventKind.ASSIGNED | RunEventKind.PICKED_UP:
                return value or "the unassigned pool"
            case RunEventKind.RESCHEDULED:
                return shown_due_date(datetime.date.fromisoformat(value) if value else None)
            case RunEventKind.CANCELED | RunEventKind.STATUS_CHANGED | RunEventKind.REOPENED:
                return RunStatus(value).label if value in RunStatus.values else value
            case RunEventKind.BATCHED | RunEventKind.UNBATCHED | RunEventKind.BATCH_RENAMED:
                return value or "no batch"
            case RunEventKind.PROCEDURE_ADDED:
                return value or "no procedure"
        return value
