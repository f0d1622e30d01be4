"""A create of more runs than a request should hold answers 202 with a job to poll (SPEC §8, §13)."""

import pytest

from ion_runs.jobs.models import Job, JobStatus
from runs.models import Run
from tests import factories
from tests.api.conftest import api_client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/runs"


@pytest.fixture(autouse=True)
def small_threshold(settings):
    settings.API_CREATE_IN_BACKGROUND_ABOVE = 3


def body(part, count=5, **extra):
    return {"runs": [{"part": part.pk, "serial_number": f"SN-BG-{i}"} for i in range(count)], **extra}


def post(api, payload, capture, **headers):
    with capture(execute=True):
        return api.post(URL, payload, **headers)


def test_a_large_create_is_a_job_whose_result_is_the_201_body(
    api, part, run_jobs, django_capture_on_commit_callbacks
):
    accepted = post(api, body(part, batch_name="Night"), django_capture_on_commit_callbacks)
    assert accepted.status_code == 202
    job = accepted.json()
    assert (job["status"], job["total"], job["result"]) == ("queued", 5, None)
    assert accepted["Location"] == job["url"] == f"/api/v1/jobs/{job['id']}"
    assert not Run.objects.exists()
    assert api.get(job["url"]).json()["status"] == "queued"

    run_jobs()

    polled = api.get(job["url"]).json()
    assert (polled["status"], polled["done"], polled["problems"]) == ("done", 5, [])
    created = polled["result"]
    assert [r["identity"] for r in created["runs"]] == [f"SN-BG-{i}" for i in range(5)]
    assert created["batch"]["name"] == "Night"
    assert Run.objects.filter(batch__name="Night").count() == 5


def test_a_small_create_is_still_201(api, part):
    response = api.post(URL, body(part, count=3))
    assert response.status_code == 201 and Run.objects.count() == 3 and not Job.objects.exists()


def test_a_mistake_is_still_a_422_at_once_and_starts_no_job(api, part):
    payload = body(part)
    payload["runs"][4]["part"] = {"number": "NOPE", "revision": "A"}
    response = api.post(URL, payload)
    assert response.status_code == 422 and response.json()["errors"][0]["row"] == 4
    assert not Job.objects.exists()


def test_what_changed_before_the_worker_ran_fails_the_job_with_the_422_body(
    api, part, run_jobs, django_capture_on_commit_callbacks
):
    job = post(api, body(part), django_capture_on_commit_callbacks).json()
    factories.PartInventoryFactory(part=part, serial_number="SN-BG-2")  # taken meanwhile

    run_jobs()

    polled = api.get(job["url"]).json()
    assert polled["status"] == "failed" and not Run.objects.exists()
    assert polled["error"]["errors"][0]["row"] == 2 and "SN-BG-2" in polled["error"]["errors"][0]["message"]
    assert any("Row 2" in problem for problem in polled["problems"])


def test_an_idempotency_key_points_a_retry_at_the_same_job(
    api, part, run_jobs, django_capture_on_commit_callbacks
):
    first = post(api, body(part), django_capture_on_commit_callbacks, **{"Idempotency-Key": "big-1"})
    again = post(api, body(part), django_capture_on_commit_callbacks, **{"Idempotency-Key": "big-1"})
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"] and again["Idempotent-Replayed"] == "true"
    assert Job.objects.count() == 1

    run_jobs()
    replay = api.post(URL, body(part), **{"Idempotency-Key": "big-1"})
    assert replay.status_code == 202 and replay.json()["status"] == "done" and Run.objects.count() == 5


def test_a_job_is_only_its_owners(api, part, org, outsider, django_capture_on_commit_callbacks):
    job = post(api, body(part), django_capture_on_commit_callbacks).json()
    colleague = factories.PlannerFactory(organisation=org, username="colleague", export_cleared=True)
    for user in (colleague, outsider):
        response = api_client_for(user).get(job["url"])
        assert response.status_code == 404 and response.json()["detail"] == "No job of yours has that id."


def test_a_controlled_result_is_hidden_once_clearance_is_lost(
    api, planner, part, run_jobs, django_capture_on_commit_callbacks
):
    payload = body(part)
    payload["runs"][0]["export_controlled"] = True
    job = post(api, payload, django_capture_on_commit_callbacks).json()
    run_jobs()
    assert api.get(job["url"]).json()["result"] is not None
    assert Job.objects.get().export_controlled

    planner.export_cleared = False
    planner.save()

    polled = api.get(job["url"]).json()
    assert polled["status"] == JobStatus.DONE and polled["result"] is None
