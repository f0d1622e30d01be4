"""A large export is a job (SPEC §13): the page answers at once, a worker writes the file."""

import pytest
from django.urls import reverse

from ion_runs.jobs.models import Job, JobStatus
from runs.models import RunStatus
from tests import factories
from tests.runs.spreadsheet_files import read_csv, read_xlsx

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def small_threshold(settings):
    settings.EXPORT_IN_BACKGROUND_ABOVE = 5


@pytest.fixture
def runs(org):
    part = factories.PartFactory(organisation=org, number="BRKT-100")
    return [
        factories.RunFactory(
            organisation=org,
            part=part,
            name=f"Run {i:02d}",
            status=RunStatus.TODO if i % 2 else RunStatus.COMPLETE,
        )
        for i in range(1, 13)
    ]


def start_export(client, fmt, query, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("runs:export", args=[fmt]) + query)
    assert response.status_code == 302
    return Job.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[-1])), response


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_large_export_becomes_a_job_whose_file_holds_every_run(
    planner_client, runs, fmt, run_jobs, django_capture_on_commit_callbacks
):
    job, response = start_export(planner_client, fmt, "?sort=name", django_capture_on_commit_callbacks)
    assert response["Location"] == job.get_absolute_url()
    page = planner_client.get(job.get_absolute_url())
    assert "Waiting for a worker" in page.text and 'hx-trigger="every 1s"' in page.text

    assert run_jobs() == 1

    job.refresh_from_db()
    assert (job.status, job.done, job.total) == (JobStatus.DONE, 12, 12)
    page = planner_client.get(job.get_absolute_url())
    assert "every 1s" not in page.text, "a finished job's page stops polling"
    assert "Download runs-" in page.text
    download = planner_client.get(reverse("jobs:download", args=[job.pk]))
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    header, *rows = (read_csv if fmt == "csv" else read_xlsx)(b"".join(download.streaming_content))
    assert [row[header.index("name")] for row in rows] == [f"Run {i:02d}" for i in range(1, 13)]


def test_the_filter_in_force_is_the_one_exported(
    planner_client, runs, run_jobs, django_capture_on_commit_callbacks
):
    job, _ = start_export(
        planner_client, "csv", "?status=todo&sort=-name", django_capture_on_commit_callbacks
    )
    run_jobs()
    download = planner_client.get(reverse("jobs:download", args=[job.pk]))
    header, *rows = read_csv(b"".join(download.streaming_content))
    assert [row[header.index("name")] for row in rows] == [f"Run {i:02d}" for i in range(11, 0, -2)]


def test_a_small_export_is_still_answered_at_once(planner_client, runs, settings):
    settings.EXPORT_IN_BACKGROUND_ABOVE = 12
    response = planner_client.get(reverse("runs:export", args=["csv"]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert not Job.objects.exists()


def test_asking_again_while_it_runs_is_the_same_job(planner_client, runs, django_capture_on_commit_callbacks):
    first, _ = start_export(planner_client, "xlsx", "?sort=name", django_capture_on_commit_callbacks)
    again, _ = start_export(planner_client, "xlsx", "?sort=name", django_capture_on_commit_callbacks)
    other, _ = start_export(planner_client, "csv", "?sort=name", django_capture_on_commit_callbacks)
    assert again == first and other != first


def test_the_progress_region_polls_until_the_job_finishes(
    planner_client, runs, run_jobs, django_capture_on_commit_callbacks
):
    job, _ = start_export(planner_client, "csv", "", django_capture_on_commit_callbacks)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, done=4, total=12)
    polled = planner_client.get(job.get_absolute_url(), **HTMX)
    assert polled.status_code == 200
    assert 'id="job-progress"' in polled.text and "<html" not in polled.text
    assert 'value="4"' in polled.text and "4 of 12" in polled.text

    Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED, done=0)
    run_jobs()
    finished = planner_client.get(job.get_absolute_url(), **HTMX)
    # htmx stops polling on 286 and still swaps in the download link.
    assert finished.status_code == 286 and "Download" in finished.text


def test_an_uncleared_planner_exports_only_what_they_see(
    org, uncleared_planner, client, run_jobs, django_capture_on_commit_callbacks
):
    part = factories.PartFactory(organisation=org)
    for i in range(8):
        factories.RunFactory(organisation=org, part=part, name=f"Open {i}")
    factories.RunFactory(organisation=org, part=part, name="Secret", export_controlled=True)
    client.force_login(uncleared_planner)
    job, _ = start_export(client, "csv", "", django_capture_on_commit_callbacks)
    run_jobs()
    header, *rows = read_csv(b"".join(client.get(reverse("jobs:download", args=[job.pk])).streaming_content))
    names = {row[header.index("name")] for row in rows}
    assert len(names) == 8 and "Secret" not in names
    job.refresh_from_db()
    assert not job.export_controlled
