"""Which jobs a user may see: organisation scoping and ownership in one place."""

from django.shortcuts import get_object_or_404

from ion_runs.jobs.models import Job


def get_job_for_user(user, pk: int) -> Job:
    """The job, or 404: someone else's (unless the user is an admin of its organisation)."""
    job = get_object_or_404(Job.objects.visible_to(user).select_related("owner"), pk=pk)
    # A job found silent is failed here, when someone looks, as well as by expire_jobs.
    job.fail_if_silent()
    return job
