"""A job over the JSON API: what a large create answered `202 Accepted` with, polled until done."""

from datetime import datetime

from django.http import HttpRequest
from django.urls import reverse
from ninja import Router, Schema

from ion_runs.api import ERRORS, ApiError, Id
from ion_runs.jobs.models import Job

router = Router(tags=["jobs"])


class JobOut(Schema):
    id: int
    kind: str
    status: str
    done: int
    total: int
    problems: list[str]
    result: dict | None = None
    error: dict | None = None
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None
    url: str


def job_out(job: Job, user) -> dict:
    """The job as an API client sees it: its result (or its 422 body) only once finished, and
    only if the user may still see what it holds (clearance can be lost while it runs)."""
    shown = job.finished and job.result_visible_to(user)
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "done": job.done,
        "total": job.total,
        "problems": job.problems,
        "result": job.result_data if shown and job.status == "done" else None,
        "error": job.result_data if shown and job.status == "failed" else None,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "expires_at": job.expires_at,
        "url": reverse("api:job", kwargs={"pk": job.pk}),
    }


@router.get("/{pk}", response={200: JobOut, **ERRORS}, url_name="job", summary="A background job")
def job(request: HttpRequest, pk: Id):
    """A job you started (a create of more runs than the server makes at once answers `202` with
    its URL): poll until `status` is `done` (then `result` is what `201` would have answered)
    or `failed` (then `error` is what `422` would have answered)."""
    user = request.auth
    found = Job.objects.visible_to(user).filter(pk=pk).first()
    if found is None:
        raise ApiError(404, "No job of yours has that id.")
    found.fail_if_silent()
    return job_out(found, user)
