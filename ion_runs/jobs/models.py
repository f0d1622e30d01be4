from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

# A job's result (its file, its answer) is kept this long after it finishes (SPEC §13).
KEPT_FOR = timedelta(days=1)
# A running job reports progress at least this often; one silent for longer lost its worker
# (killed, out of memory, the host went down) and is reported as failed rather than left running.
SILENT_FOR = timedelta(minutes=5)


class JobKind(models.TextChoices):
    EXPORT = "export", "Export"
    IMPORT = "import", "Import"
    API_CREATE = "api_create", "Create over the API"
    TRAVELERS = "travelers", "Travelers"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for a worker"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED)


class JobQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The user's own jobs, and, for an organisation's admins, every job of theirs."""
        if not user.is_authenticated or user.organisation_id is None:
            return self.none()
        jobs = self.filter(organisation_id=user.organisation_id)
        if not user.is_staff:
            jobs = jobs.filter(owner=user)
        return jobs

    def expired(self):
        return self.filter(finished_at__lt=timezone.now() - KEPT_FOR)

    def silent(self):
        """Jobs whose worker stopped answering (see SILENT_FOR)."""
        cutoff = timezone.now() - SILENT_FOR
        return self.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff)


class Job(models.Model):
    """One piece of background work a person (or an API client) asked for, and how it went."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=20, choices=JobKind.choices)
    # What the list shows: "Export 100,000 runs as XLSX", "Import plan.xlsx (5,000 rows)".
    title = models.CharField(max_length=300)
    # What the task needs to do the work again from scratch (a query string, a stored upload).
    params = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    # What stopped the job, or what it found wrong: messages a person can act on.
    problems = models.JSONField(default=list)
    result_file = models.FileField(upload_to="jobs/%Y/%m/%d/", blank=True)
    result_name = models.CharField(max_length=200, blank=True)
    # Where the result is when it is a page rather than a file (an import's Review).
    result_url = models.CharField(max_length=500, blank=True)
    # An answer for an API client (what a synchronous call would have returned).
    result_data = models.JSONField(null=True, blank=True)
    # Whether the result holds export-controlled data: admins who are not cleared see the job, not it.
    export_controlled = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="job_owner_recent"),
            models.Index(fields=["finished_at"], name="job_finished_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(done__lte=models.F("total")), name="job_done_at_most_total"),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True) | Q(status__in=["done", "failed"]),
                name="job_finished_only_when_done_or_failed",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("jobs:detail", kwargs={"pk": self.pk})

    @property
    def finished(self) -> bool:
        return JobStatus(self.status).finished

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def expires_at(self):
        return self.finished_at + KEPT_FOR if self.finished_at else None

    def seconds_left(self) -> int | None:
        """A linear estimate from the rate so far; None until there is a rate to go on."""
        if self.status != JobStatus.RUNNING or not self.started_at or not self.done or not self.total:
            return None
        elapsed = (timezone.now() - self.started_at).total_seconds()
        return max(0, round(elapsed / self.done * (self.total - self.done)))

    def result_visible_to(self, user) -> bool:
        """Whether `user` (who sees the job) may have its result: export-controlled results
        only while cleared, the owner included, as their clearance may be gone since."""
        return user.export_cleared or not self.export_controlled

    def fail_if_silent(self) -> bool:
        """Mark a job whose worker went silent as failed; whether it was."""
        failed = (
            Job.objects.silent()
            .filter(pk=self.pk)
            .update(
                status=JobStatus.FAILED,
                finished_at=timezone.now(),
                problems=[
                    "The worker stopped while running this job (it was restarted or ran out "
                    "of memory). Nothing from it was kept: start it again."
                ],
            )
        )
        if failed:
            self.refresh_from_db()
        return bool(failed)
