"""Starting a job, and the worker's side of one: claim it, report progress, finish or fail it."""

import logging
import time
from collections.abc import Iterator

from django.core.files import File
from django.db import transaction
from django.tasks import Task
from django.utils import timezone

from ion_runs.jobs.expiry import expire_jobs
from ion_runs.jobs.models import Job, JobStatus

logger = logging.getLogger(__name__)

# Progress is written at most this often: a 100,000-row export must not write 100,000 times.
PROGRESS_EVERY_SECONDS = 0.5
CRASHED = "Something went wrong in the worker; its log has the details."


class JobFailed(Exception):
    """The work cannot be done, for reasons a person can act on (no traceback is logged)."""

    def __init__(self, problems: list[str], *, data: dict | None = None):
        super().__init__("; ".join(problems))
        self.problems = problems
        # For an API client: the body a synchronous call would have answered with (a 422's).
        self.data = data


def start_job(task: Task, *, owner, kind: str, title: str, params: dict, total: int = 0) -> Job:
    """A new job for `owner`, handed to a worker once the caller's transaction commits.

    Enqueued after commit so the worker never looks for a job row that is not there yet (or
    that a rollback removed).
    """
    job = Job.objects.create(
        organisation_id=owner.organisation_id, owner=owner, kind=kind, title=title, params=params, total=total
    )
    transaction.on_commit(lambda: task.enqueue(job.pk))
    return job


class Progress:
    """The running job as its task sees it."""

    def __init__(self, job: Job):
        self.job = job
        self._written_at = 0.0

    def set_total(self, total: int) -> None:
        self.job.total = total
        Job.objects.filter(pk=self.job.pk).update(total=total, heartbeat_at=timezone.now())

    def advance(self, done: int) -> None:
        """`done` of the total are finished; written now and then, not every call."""
        self.job.done = min(done, self.job.total)
        if time.monotonic() - self._written_at >= PROGRESS_EVERY_SECONDS:
            self._written_at = time.monotonic()
            Job.objects.filter(pk=self.job.pk).update(done=self.job.done, heartbeat_at=timezone.now())

    def iterate(self, items, *, every: int = 500) -> Iterator:
        """`items`, advancing the progress as they are consumed."""
        for done, item in enumerate(items, start=1):
            yield item
            if done % every == 0:
                self.advance(done)

    def keep_file(self, name: str, content) -> None:
        """The job's result is this file, saved through the storage API (shared between hosts)."""
        self.job.result_file.save(name, File(content), save=False)
        self.job.result_name = name


def claim(job_id: int) -> Progress | None:
    """The queued job, now marked running by this worker; None if it is not waiting any more."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        logger.warning("Job %s is not waiting for a worker; not running it again.", job_id)
        return None
    return Progress(Job.objects.select_related("owner").get(pk=job_id))


def run_job(job_id: int, work) -> None:
    """Claim the job and call `work(progress)`; the job ends done, or failed with the reason.

    `work` reports progress and keeps its result on the job; what it returns is ignored.
    An unexpected error fails the job with a short message for the person and the whole
    traceback in the worker's log, then propagates so the task backend records it too.
    """
    progress = claim(job_id)
    if progress is None:
        return
    job = progress.job
    try:
        work(progress)
    except JobFailed as failure:
        job.result_data = failure.data
        _finish(job, JobStatus.FAILED, problems=failure.problems)
    except BaseException:
        logger.exception("Job %s (%s) failed", job.pk, job.title)
        _finish(job, JobStatus.FAILED, problems=[CRASHED])
        raise
    else:
        job.done = job.total
        _finish(job, JobStatus.DONE)
    # Workers clear out what has expired as they go, so no scheduler is needed for it.
    expire_jobs()


def _finish(job: Job, status: JobStatus, problems: list[str] | None = None) -> None:
    """Record the outcome, unless the job was meanwhile failed as silent (see SILENT_FOR):
    the person was told nothing was kept, so a late result is thrown away, not shown."""
    job.status = status
    job.finished_at = job.heartbeat_at = timezone.now()
    if problems is not None:
        job.problems = problems
    fields = {
        name: getattr(job, name)
        for name in (
            "status",
            "finished_at",
            "heartbeat_at",
            "problems",
            "done",
            "total",
            "title",
            "result_file",
            "result_name",
            "result_url",
            "result_data",
            "export_controlled",
        )
    }
    if not Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(**fields):
        logger.warning("Job %s was failed as silent before it finished; its result is dropped.", job.pk)
        if job.result_file:
            job.result_file.delete(save=False)
