import datetime
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.formats import date_format

from inventory.models import Part, PartInventory, TrackingType, VisibleQuerySet
from ion_runs.accounts.models import Organisation, Team
from ion_runs.accounts.patterns import next_in_sequence
from procedures.models import FieldSpec, ProcedureVersion


class RunSource(models.TextChoices):
    BUILD = "build", "Build a new item"
    ATTACH = "attach", "Use an item already in inventory"


class RunStatus(models.TextChoices):
    TODO = "todo", "To do"
    IN_PROGRESS = "in_progress", "In progress"
    HOLD = "hold", "On hold"
    COMPLETE = "complete", "Complete"
    CANCELED = "canceled", "Canceled"

    @classmethod
    def open(cls) -> list[str]:
        return [cls.TODO, cls.IN_PROGRESS, cls.HOLD]

    @classmethod
    def closed(cls) -> list[str]:
        """Done with: a closed run is no longer reassigned, rescheduled, renamed or batched."""
        return [cls.COMPLETE, cls.CANCELED]


CLOSED_RUNS_STAY = "complete and canceled runs cannot be added to a batch."


class StepStatus(models.TextChoices):
    TODO = "todo", "To do"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETE = "complete", "Complete"


class RunBatchQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The user's organisation's batches; for the uncleared, none holding an export-controlled run.

        A batch's name and its size describe all of its runs, so one controlled run hides the
        batch whole, even though its other runs stay visible on their own.
        """
        batches = self.filter(organisation_id=user.organisation_id)
        if not user.export_cleared:
            controlled_runs = Run.objects.filter(batch=OuterRef("pk"), export_controlled=True)
            batches = batches.exclude(Exists(controlled_runs))
        return batches


# A message names at most this many rows or runs per version, then says how many more.
NAMED_IN_MESSAGE = 20


def mixed_versions_message(groups: dict[ProcedureVersion | None, list], noun: str) -> str:
    """The batch rule's message: which rows (or runs) use which procedure version.

    `groups` maps a version (None: no procedure) to the rows or run numbers that use it, in
    the order to name them; one group means no conflict (""). Review, create_runs and adding
    runs to a batch later all say it this way.
    """
    if len(groups) < 2:
        return ""

    def clause(version: ProcedureVersion | None, items: list) -> str:
        shown = ", ".join(map(str, items[:NAMED_IN_MESSAGE]))
        if len(items) > NAMED_IN_MESSAGE:
            shown += f" and {len(items) - NAMED_IN_MESSAGE:,} more"
        many = len(items) > 1
        return f"{noun}{'s' if many else ''} {shown} {'use' if many else 'uses'} {version or 'no procedure'}"

    return (
        "Runs in a batch share one procedure version, but "
        + "; ".join(clause(version, items) for version, items in groups.items())
        + "."
    )


class RunBatch(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="batches")
    name = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RunBatchQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "run batches"
        ordering = ["-created_at"]
        constraints = [
            # "Order 4711" and "order 4711" would be one batch to a person, and to the
            # runs filter, which matches names in any case (iexact, UPPER() on PostgreSQL).
            models.UniqueConstraint(F("organisation"), Upper("name"), name="batch_name_unique_per_org")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        twins = RunBatch.objects.filter(organisation_id=self.organisation_id, name__iexact=self.name)
        if self.organisation_id and twins.exclude(pk=self.pk).exists():
            raise ValidationError({"name": f"A batch named “{self.name}” already exists."})

    def procedure_versions(self) -> list[ProcedureVersion | None]:
        """The procedure versions its runs use: one, or none for an empty batch (the rule)."""
        ids = set(self.runs.order_by().values_list("procedure_version_id", flat=True).distinct())
        versions = ProcedureVersion.objects.in_bulk(ids - {None})
        return [versions.get(pk) for pk in sorted(ids, key=lambda pk: pk or 0)]

    def problems_adding(self, runs: "list[Run]", *, user) -> list[str]:
        """Why these runs cannot join this batch (SPEC §9), as `user` may read it, or [].

        A run is in at most one batch; complete and canceled runs stay as they are; and
        every run of a batch shares one procedure version (or all have none), said as on
        Review, naming the runs that differ.
        """
        problems = []
        named = self._batches_named_to(user, runs)
        for run in runs:
            if run.is_closed:
                problems.append(f"Run {run.number} is {run.get_status_display().lower()}; {CLOSED_RUNS_STAY}")
            elif run.batch_id and run.batch_id != self.pk:
                where = f"batch “{run.batch}”" if run.batch_id in named else "another batch"
                problems.append(
                    f"Run {run.number} is already in {where}: a run is in one batch at most. "
                    "Remove it from that batch first."
                )
        joining = sorted((run for run in runs if run.batch_id != self.pk), key=lambda run: run.number)
        current = self.procedure_versions()
        version_ids = {v.pk if v else None for v in current} | {r.procedure_version_id for r in joining}
        if len(version_ids) < 2:
            return problems
        # Only on a conflict: the batch's own runs are named by number, for the message.
        groups: dict[ProcedureVersion | None, list[int]] = {}
        versions = {version.pk if version else None: version for version in current}
        for number, version_id in self.runs.order_by("number").values_list("number", "procedure_version_id"):
            groups.setdefault(versions.get(version_id), []).append(number)
        for run in joining:
            groups.setdefault(run.procedure_version, []).append(run.number)
        if conflict := mixed_versions_message(groups, "run"):
            problems.append(conflict)
        return problems

    def _batches_named_to(self, user, runs: "list[Run]") -> set[int]:
        """The other batches of these runs that `user` may see, so a message may name them.

        A batch holding an export-controlled run is hidden from the uncleared, and its name
        with it, even when one of its runs (visible on its own) is being added here.
        """
        others = {run.batch_id for run in runs if run.batch_id and run.batch_id != self.pk}
        if not others:
            return set()
        return set(RunBatch.objects.visible_to(user).filter(pk__in=others).values_list("pk", flat=True))


class AttributeType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    BOOLEAN = "boolean", "Yes / no"
    DATE = "date", "Date"
    SELECT = "select", "Select"
    MULTISELECT = "multiselect", "Multi-select"
    USER = "user", "User"


class RunAttributeDefinition(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="run_attributes")
    key = models.SlugField(max_length=50)
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=20, choices=AttributeType, default=AttributeType.TEXT)
    options = models.JSONField(default=list, blank=True, help_text="Choices for selects.")
    required = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "label"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "key"], name="run_attribute_key_unique")
        ]

    def __str__(self) -> str:
        return self.label

    def clean(self):
        if self.type in (AttributeType.SELECT, AttributeType.MULTISELECT) and not self.options:
            raise ValidationError({"options": "A select attribute needs at least one option."})
        twins = RunAttributeDefinition.objects.filter(organisation_id=self.organisation_id, key=self.key)
        if self.organisation_id and twins.exclude(pk=self.pk).exists():
            raise ValidationError({"key": f"An attribute with key “{self.key}” already exists."})


def display_value(value) -> str:
    """A custom attribute's value as a page shows it."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


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
    batch = models.ForeignKey(RunBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    attributes = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=RunStatus, default=RunStatus.TODO)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
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
                & Q(status__in=["todo", "in_progress", "hold"]),
                name="run_pool_idx",
            ),
            # Open runs by due date, export flag included: the Schedule's per-day counts and
            # overdue lane, and the capped counts of open runs, read this index alone.
            models.Index(
                fields=["organisation", "due_date", "number"],
                include=["export_controlled"],
                condition=Q(status__in=["todo", "in_progress", "hold"]),
                name="run_open_due_idx",
            ),
            # My work and team queues: a person's or a team's open runs, soonest due first.
            models.Index(
                fields=["assigned_user", "due_date", "number"],
                include=["organisation", "export_controlled"],
                condition=Q(assigned_user__isnull=False, status__in=["todo", "in_progress", "hold"]),
                name="run_open_user_due_idx",
            ),
            models.Index(
                fields=["assigned_team", "due_date", "number"],
                include=["organisation", "export_controlled"],
                condition=Q(assigned_team__isnull=False, status__in=["todo", "in_progress", "hold"]),
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

    @property
    def is_overdue(self) -> bool:
        return (
            self.due_date is not None
            and self.due_date < timezone.localdate()
            and self.status in RunStatus.open()
        )


class RunStep(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=StepStatus, default=StepStatus.TODO)

    class Meta:
        ordering = ["run_id", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "position"], name="run_step_position_unique")]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class RunStepField(FieldSpec):
    """A copy of a procedure step field, so later revisions leave this run alone."""

    run_step = models.ForeignKey(RunStep, on_delete=models.CASCADE, related_name="fields")

    class Meta:
        ordering = ["run_step_id", "position"]


class RunDraft(models.Model):
    """A row on the planner's Review list: everything needed to create one run."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="run_drafts")
    position = models.PositiveIntegerField(default=0)
    data = models.JSONField(default=dict)
    # Removed rows linger until the planner's next action, so Remove can be undone.
    removed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "created_at"]
        indexes = [models.Index(fields=["owner", "position"], name="draft_owner_position_idx")]

    def __str__(self) -> str:
        return f"Draft {self.pk} of {self.owner}"

    def duplicate(self, copies: int) -> list["RunDraft"]:
        """Insert `copies` rows right after this one.

        Auto-generated values stay auto; a typed lot is kept; a typed serial counts up
        from this row's, skipping serials already in inventory or on the planner's rows;
        a typed name gets a suffix so the runs stay distinguishable.
        """
        serials = self._next_serials(copies) if self.data.get("serial_number") else [""] * copies
        with transaction.atomic():
            RunDraft.objects.filter(owner_id=self.owner_id, position__gt=self.position).update(
                position=F("position") + copies
            )
            return RunDraft.objects.bulk_create(
                RunDraft(
                    organisation_id=self.organisation_id,
                    owner_id=self.owner_id,
                    position=self.position + i,
                    data=self.data | {"serial_number": serials[i - 1], "name": self._copy_name(i + 1)},
                )
                for i in range(1, copies + 1)
            )

    def _copy_name(self, number: int) -> str:
        """`Nose cone (2)`; a long name is shortened so that the suffix still fits."""
        name = self.data.get("name")
        if not name:
            return ""
        suffix = f" ({number})"
        return name[: Run._meta.get_field("name").max_length - len(suffix)] + suffix

    def _next_serials(self, count: int) -> list[str]:
        start, found, step = self.data["serial_number"], [], 1
        limit = PartInventory._meta.get_field("serial_number").max_length
        while len(found) < count:
            candidates = [next_in_sequence(start, step + i) for i in range(count - len(found) + 10)]
            step += len(candidates)
            # Counting up only ever lengthens a serial: once the first is too long, all are.
            if len(candidates[0]) > limit:
                raise ValidationError(
                    f"Serial number {start} cannot count up {count} more within {limit} characters. "
                    "Duplicate with fewer copies, or type the copies' serial numbers."
                )
            candidates = [c for c in candidates if len(c) <= limit]
            used = set(
                PartInventory.objects.filter(
                    organisation_id=self.organisation_id, serial_number__in=candidates
                ).values_list("serial_number", flat=True)
            ) | set(
                RunDraft.objects.filter(
                    owner_id=self.owner_id, data__serial_number__in=candidates
                ).values_list("data__serial_number", flat=True)
            )
            found += [c for c in candidates if c not in used][: count - len(found)]
        return found


def shown_due_date(due: datetime.date | None) -> str:
    """A due date as a sentence shows it (a message, the history)."""
    return date_format(due, "j M Y") if due else "no due date"


class RunEventKind(models.TextChoices):
    CREATED = "created", "Created"
    ASSIGNED = "assigned", "Reassigned"
    PICKED_UP = "picked_up", "Picked up"
    RESCHEDULED = "rescheduled", "Due date changed"
    RENAMED = "renamed", "Renamed"
    BATCHED = "batched", "Added to batch"
    UNBATCHED = "unbatched", "Removed from batch"
    CANCELED = "canceled", "Canceled"
    # A status set in the admin other than canceled (on hold, complete…).
    STATUS_CHANGED = "status_changed", "Status changed"

    @classmethod
    def batching(cls) -> list[str]:
        return [cls.BATCHED, cls.UNBATCHED]


class RunEvent(models.Model):
    """One change to a run: who, when, what before and after, and why (SPEC §9).

    Written by the service that makes the change, in its transaction. `before` and `after`
    keep what the page showed then (a person's or team's name, a batch's name, a due date
    as ISO text), so the history reads the same after people and batches are renamed.
    A "created" event names the batch the run was created in and the creation token.
    """

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(max_length=20, choices=RunEventKind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    before = models.CharField(max_length=300, blank=True)
    after = models.CharField(max_length=300, blank=True)
    reason = models.TextField(blank=True)
    batch = models.ForeignKey(
        RunBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    creation_token = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # A run's history, newest first (the run page); also serves the foreign key.
            models.Index(fields=["run", "-at", "-id"], name="run_event_run_idx"),
            # A batch's runs joining and leaving it, newest first (the batch page).
            models.Index(
                fields=["batch", "-at", "-id"],
                condition=Q(kind__in=["batched", "unbatched"]),
                name="run_event_batching_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · run {self.run_id} · {self.at:%Y-%m-%d %H:%M}"

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
            case RunEventKind.CANCELED | RunEventKind.STATUS_CHANGED:
                return RunStatus(value).label if value in RunStatus.values else value
            case RunEventKind.BATCHED | RunEventKind.UNBATCHED:
                return value or "no batch"
        return value
