"""Results are kept for a day (SPEC §13); a job whose worker stopped is failed, not left running."""

from django.core.files.storage import default_storage
from django.db import transaction

from ion_runs.jobs.models import Job


def expire_jobs() -> tuple[int, int]:
    """(silent jobs failed, expired jobs deleted with their files)."""
    failed = sum(job.fail_if_silent() for job in Job.objects.silent())
    deleted = 0
    for job in Job.objects.expired().iterator():
        # The row goes first: a file whose row is gone is harmless, a row whose file is gone is not.
        with transaction.atomic():
            job.delete()
        if job.result_file:
            job.result_file.delete(save=False)
        # What a job was given to work on (an import's upload), should its worker have died first.
        if upload := job.params.get("upload"):
            default_storage.delete(upload)
        deleted += 1
    return failed, deleted
