"""A large import is a job (SPEC §13): its rows are checked by a worker, then land on Review."""

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from ion_runs.jobs.models import Job, JobStatus
from runs.models import Run, RunDraft
from tests import factories
from tests.runs import test_import
from tests.runs.spreadsheet_files import csv_file, xlsx_file
from tests.runs.test_import import BRACKET, review_driver, upload
from tests.runs.wizard_steps import STEP_URL

pytestmark = pytest.mark.django_db
world = test_import.world
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def small_threshold(settings):
    settings.IMPORT_IN_BACKGROUND_ABOVE = 3


def rows(count: int, **extra) -> list[dict]:
    return [BRACKET | {"serial_number": f"SN-JOB-{i}"} | extra for i in range(count)]


def start_import(client, file, capture, **headers):
    with capture(execute=True):
        response = upload(client, file, **headers)
    job = Job.objects.get()
    return job, response


@pytest.mark.parametrize("make", [csv_file, xlsx_file])
def test_a_large_import_lands_on_review_from_its_job(
    planner_client, world, make, run_jobs, django_capture_on_commit_callbacks
):
    job, response = start_import(
        planner_client,
        make([*rows(5), BRACKET | {"part.revision": "Z"}], name=f"plan.{make.__name__[:-5]}"),
        django_capture_on_commit_callbacks,
    )
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert job.total == 6 and not RunDraft.objects.exists(), "nothing lands before the worker checks it"
    stored = job.params["upload"]
    assert default_storage.exists(stored)

    run_jobs()

    job.refresh_from_db()
    assert (job.status, job.done) == (JobStatus.DONE, 6)
    assert not default_storage.exists(stored), "the upload is not kept once read"
    page = planner_client.get(job.get_absolute_url()).text
    assert "Open the result" in page
    landed = planner_client.get(job.result_url)
    assert landed.status_code == 302 and STEP_URL.match(landed["Location"])["step"] == "review"
    review = planner_client.get(landed["Location"]).text
    assert f"Imported 6 rows from plan.{make.__name__[:-5]}." in review and "1 has problems" in review
    drafts = list(RunDraft.objects.order_by("position"))
    assert len(drafts) == 6 and [bool(d.data.get("import_problems")) for d in drafts] == [False] * 5 + [True]


def test_the_import_goes_to_the_review_of_the_wizard_it_came_from(
    planner_client, world, run_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(
            planner_client, csv_file(rows(4, batch_name="Night lot")), "?wizard=abcdefghijkl", **HTMX
        )
    job = Job.objects.get()
    assert response.status_code == 200 and response["HX-Redirect"] == job.get_absolute_url()
    run_jobs()
    job.refresh_from_db()
    landed = planner_client.get(job.result_url)
    assert STEP_URL.match(landed["Location"])["wizard_id"] == "abcdefghijkl"
    review = planner_client.get(landed["Location"])
    form = review.context["wizard"]["form"]
    # The file's batch is offered on Review, as after a small import.
    assert (form["batch"].value(), form["batch_name"].value()) == (True, "Night lot")
    created = review_driver(planner_client, landed["Location"]).create()
    assert created.status_code == 302 and Run.objects.count() == 4


def test_an_unreadable_file_is_refused_at_the_field_before_any_job(planner_client, world):
    response = upload(planner_client, csv_file(rows(5), name="plan.ods"))
    assert response.status_code == 200 and "save it as .xlsx or .csv" in response.text
    assert not Job.objects.exists()


def test_a_small_import_still_lands_at_once(planner_client, world):
    response = upload(planner_client, csv_file(rows(3)))
    assert STEP_URL.match(response["Location"])["step"] == "review" and RunDraft.objects.count() == 3
    assert not Job.objects.exists()


def test_only_the_owner_lands_on_the_review(
    client, planner, world, org, run_jobs, django_capture_on_commit_callbacks
):
    client.force_login(planner)
    job, _ = start_import(client, csv_file(rows(4)), django_capture_on_commit_callbacks)
    run_jobs()
    job.refresh_from_db()
    admin = factories.PlannerFactory(organisation=org, username="boss", is_staff=True, export_cleared=True)
    client.force_login(admin)
    assert client.get(job.get_absolute_url()).status_code == 200
    assert client.get(job.result_url).status_code == 404
    assert client.get(reverse("runs:import-landed", args=[job.pk + 1])).status_code == 404


def test_the_result_says_what_it_imported_once(
    planner_client, world, run_jobs, django_capture_on_commit_callbacks
):
    job, _ = start_import(planner_client, csv_file(rows(4)), django_capture_on_commit_callbacks)
    run_jobs()
    job.refresh_from_db()
    first = planner_client.get(planner_client.get(job.result_url)["Location"]).text
    again = planner_client.get(planner_client.get(job.result_url)["Location"]).text
    assert "Imported 4 rows" in first and "Imported 4 rows" not in again


def test_review_filling_up_meanwhile_fails_the_job_with_the_cap_message(
    planner_client, planner, world, settings, run_jobs, django_capture_on_commit_callbacks
):
    settings.REVIEW_MAX_ROWS = 6
    job, _ = start_import(planner_client, csv_file(rows(4)), django_capture_on_commit_callbacks)
    for i in range(3):
        factories.RunDraftFactory(owner=planner, organisation=planner.organisation, position=i)
    run_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "Review holds at most 6 rows" in job.problems[0]
    assert RunDraft.objects.count() == 3
