"""A batch's travelers beyond a request's size are printed by a worker (SPEC §13, §14)."""

import pytest
from django.urls import reverse

from ion_runs.jobs.models import Job, JobStatus
from runs.models import Run
from tests import factories
from tests.travelers.pdfs import page_codes, page_texts

pytestmark = pytest.mark.django_db


def test_a_large_batch_prints_through_a_job_with_its_qr_codes_on_the_site_asked(
    planner_client, org, settings, run_jobs, django_capture_on_commit_callbacks
):
    settings.TRAVELERS_IN_BACKGROUND_ABOVE = 2
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "runs.factory.lan"]
    part = factories.PartFactory(organisation=org, number="BRKT-JOB")
    batch = factories.RunBatchFactory(organisation=org, name="Night")
    runs = [
        factories.RunFactory(organisation=org, part=part, batch=batch, name=f"Job run {i}") for i in range(3)
    ]

    with django_capture_on_commit_callbacks(execute=True):
        response = planner_client.get(
            reverse("runs:batch-travelers", args=[batch.pk]), HTTP_HOST="runs.factory.lan"
        )
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert job.total == 3 and job.params["site"] == "http://runs.factory.lan/"

    run_jobs()

    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.result_name == f"batch-{batch.pk}-travelers.pdf"
    pdf = b"".join(planner_client.get(reverse("jobs:download", args=[job.pk])).streaming_content)
    text = "\n".join(page_texts(pdf))
    assert all(run.name in text for run in runs)
    codes = [code for page in page_codes(pdf) for code in page]
    assert {f"http://runs.factory.lan/runs/{run.number}/" for run in runs} <= set(codes)


def test_a_run_hidden_from_the_owner_since_is_left_out(
    planner_client, planner, org, settings, run_jobs, django_capture_on_commit_callbacks
):
    settings.TRAVELERS_IN_BACKGROUND_ABOVE = 1
    part = factories.PartFactory(organisation=org)
    batch = factories.RunBatchFactory(organisation=org)
    for i in range(2):
        factories.RunFactory(organisation=org, part=part, batch=batch, name=f"Open {i}")
    with django_capture_on_commit_callbacks(execute=True):
        planner_client.get(reverse("runs:batch-travelers", args=[batch.pk]))
    Run.objects.filter(name="Open 1").update(organisation=factories.OrganisationFactory(name="Elsewhere"))

    run_jobs()

    text = "\n".join(
        page_texts(
            b"".join(
                planner_client.get(reverse("jobs:download", args=[Job.objects.get().pk])).streaming_content
            )
        )
    )
    assert "Open 0" in text and "Open 1" not in text
