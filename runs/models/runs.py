"""Runs: what a run is, its states, and the queries that find runs."""

import datetime
from collections.abc import Collection

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format

from inventory.models import Part, PartInventory, TrackingType, VisibleQuerySet
from ion_runs.accounts.models import Organisation, Team
from procedures.models import ProcedureVersion

# What makes a planner (SPEC §7): the New Run wizard asks for it, and so does every change
# to runs and batches after creation. Operators, without it, see those pages read-only.
PLANNER_PERMISSION = "runs.add_run"
# Operators pick runs up from the pool and work on them.
OPERATOR_PERMISSION = "runs.pick_up_run"
# Admins curate, and may reopen a complete run.
ADMIN_PERMISSION = "runs.change_run"


class RunSource(models.TextChoices):
    BUILD = "build", "Build a new item"
    ATTACH = "attach", "Use an item already in inventory"


class RunStatus(models.TextChoices):
    TODO = "todo", "To do"
    IN_PROGRESS = "in_progress", "In progress"
    HOLD = "hold", "On hold"
    # A step failed: the run stays open until a planner reopens the step for rework or cancels it.
    FAILED = "failed", "Failed"
    COMPLETE = "complete", "Complete"
    CANCELED = "canceled", "Canceled"

    @classmethod
    def open(cls) -> list[str]:
        return list(OPEN_STATUSES)

    @classmethod
    def closed(cls) -> list[str]:
        """Done with: a closed run is no longer reassigned, rescheduled, renamed or batched."""
        return [cls.COMPLETE, cls.CANCELED]


# Spelled out for the partial indexes below, whose conditions a migration keeps as literals.
OPEN_STATUSES = ("todo", "in_progress", "hold", "failed")


class RunQuerySet(VisibleQuerySet):
    def open(self):
        return self.filter(status__in=RunStatus.open())

    def assigned_to_me_or_my_teams(self, user):
        return self.filter(Q(assigned_user=user) | Q(assigned_team__members=user)).distinct()

    def unassigned(self):
        return self.filter(assigned_user__isnull=True, assigned_team__isnull=True)


class Run(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="runs")
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    part = models.ForeignKey(Part, on_delete=models.PROTECT, related_name="runs")
    procedure_version = models.ForeignKey(
        ProcedureVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    source = models.CharField(max_length=10, choices=RunSource, default=RunSource.BUILD)
    part_inventory = models.ForeignKey(PartInventory, on_delete=models.PROTECT, related_name="runs")
    tracking_type = models.CharField(max_length=10, choices=TrackingType)
    due_date = models.DateField(null=True, blank=True)
    export_controlled = models.BooleanField(default=False)
    assigned_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_runs",
    )
    assigned_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    batch = models.ForeignKey(
        "RunBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    attributes = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=RunStatus, default=RunStatus.TODO)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Execution (SPEC §12): who first started a step, and when the last step made it complete.
    started_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    # Idempotency: the review row (or API request) a run was made from; a second
    # press of Create finds the run instead of making another.
    request_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    # Shared by the runs made in one create call: the "created" page lists them.
    creation_token = models.UUIDField(null=True, blank=True, db_index=True, editable=False)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-number"]
        permissions = [("pick_up_run", "Can pick up runs from the unassigned pool")]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "number"], name="run_number_unique_per_org"),
            models.CheckConstraint(
                condition=Q(assigned_user__isnull=True) | Q(assigned_team__isnull=True),
                name="run_assigned_to_user_or_team",
            ),
        ]
        indexes = [
            # Runs page, default sort (newest first): walks the index and stops at one page.
            models.Index(fields=["organisation", "created_at", "number"], name="run_org_created_idx"),
            # Runs page sorted or filtered by due date, and the Schedule's date range.
            models.Index(fields=["organisation", "due_date", "number"], name="run_org_due_idx"),
            # Runs page sorted by name.
            models.Index(fields=["organisation", "name", "number"], name="run_org_name_idx"),
            # Unassigned pool: open runs with nobody on them, soonest due first.
            models.Index(
                fields=["organisation", "due_date", "number"],
                condition=Q(assigned_user__isnull=True, assigned_team__isnull=True)
                & Q(status__in=OPEN_STATUSES),
                name="run_pool_idx",
            ),
            # Open runs by due date, export flag included: the Schedule's per-day counts and
            # overdue lane, and the capped counts of open runs, read this index alone.
            models.Index(
                fields=["organisation", "due_date", "number"],
                include=["export_controlled"],
                condition=Q(status__in=OPEN_STATUSES),
                name="run_open_due_idx",
            ),
            # My work and team queues: a person's or a team's open runs, soonest due first.
            models.Index(
                fields=["assigned_user", "due_date", "number"],
                include=["organisation", "export_controlled"],
                condition=Q(assigned_user__isnull=False, status__in=OPEN_STATUSES),
                name="run_open_user_due_idx",
            ),
            models.Index(
                fields=["assigned_team", "due_date", "number"],
                include=["organisation", "export_controlled"],
                condition=Q(assigned_team__isnull=False, status__in=OPEN_STATUSES),
                name="run_open_team_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.assigned_user_id and self.assigned_team_id:
            raise ValidationError("Assign the run to a user or to a team, not both.")

    @property
    def assignee(self):
        return self.assigned_user or self.assigned_team

    @property
    def is_closed(self) -> bool:
        return self.status in RunStatus.closed()

    def closed_refusal(self) -> str:
        """Why this run can no longer be changed (SPEC §9), or ""."""
        if not self.is_closed:
            return ""
        return f"Run {self.number} is {self.get_status_display().lower()}; it can no longer be changed."

    def assignee_refusal(self, user) -> str:
        """The Details rule (SPEC §9): an export-controlled run goes only to export-cleared users.

        A team is always allowed: only its cleared members see the run.
        """
        if user is not None and self.export_controlled and not user.export_cleared:
            return f"{user} is not export-cleared and could not see this export-controlled run."
        return ""

    def worker_refusal(self, user, *, team_ids: Collection[int] | None = None) -> str:
        """Why `user` may not work on this run's steps (SPEC §12), or "".

        Planners and admins may; so may the assignee and the assigned team's members; and on
        a pool run, anyone who may pick runs up (starting a step picks the run up). `team_ids`,
        the user's teams when already known, spares a query per run across a batch.
        """
        # The access helpers keep others from ever reaching the run; said again for the services.
        if user.organisation_id != self.organisation_id or (
            self.export_controlled and not user.export_cleared
        ):
            return f"Run {self.number} is not one you may see."
        if user.has_perm(PLANNER_PERMISSION) or user.has_perm(ADMIN_PERMISSION):
            return ""
        if self.assigned_user_id:
            if self.assigned_user_id == user.pk:
                return ""
            return (
                f"Run {self.number} is assigned to {self.assigned_user}; "
                "only they or a planner can work on it."
            )
        if self.assigned_team_id:
            if team_ids is None:
                team_ids = set(user.teams.values_list("pk", flat=True))
            if self.assigned_team_id in team_ids:
                return ""
            return (
                f"Run {self.number} is assigned to team {self.assigned_team}; "
                "only its members or a planner can work on it."
            )
        if user.has_perm(OPERATOR_PERMISSION):
            return ""
        return f"Run {self.number} is in the unassigned pool; pick it up before working on it."

    @property
    def is_overdue(self) -> bool:
        return (
            self.due_date is not None
            and self.due_date < timezone.localdate()
            and self.status in RunStatus.open()
        )


def shown_due_date(due: datetime.date | None) -> str:
    """A due date as a sentence shows it (a message, the history)."""
    return date_format(due, "j M Y") if due else "no due date"
