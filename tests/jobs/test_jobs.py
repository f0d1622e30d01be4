"""Jobs themselves (SPEC §13): who sees them, how they fail, and how long their results stay."""

import datetime
import logging

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.tasks import task
from django.urls import reverse
from django.utils import timezone

from ion_runs.jobs.models import Job, JobKind, JobStatus
from ion_runs.jobs.running import run_job, start_job
from tests import factories

pytestmark = pytest.mark.django_db


def a_job(owner, **fields) -> Job:
    fields = {"kind": JobKind.EXPORT, "title": "Export runs as CSV"} | fields
    return Job.objects.create(organisation_id=owner.organisation_id, owner=owner, **fields)


def finished_with_file(owner, *, controlled=False, ago=datetime.timedelta(minutes=1)) -> Job:
    job = a_job(
        owner,
        status=JobStatus.DONE,
        total=3,
        done=3,
        finished_at=timezone.now() - ago,
        result_name="runs.csv",
        export_controlled=controlled,
    )
    job.result_file.save("runs.csv", ContentFile(b"number,name\n1,Secret\n"))
    return job


@task
def crashing(job_id: int) -> None:
    run_job(job_id, lambda progress: 1 / 0)


def test_the_owner_sees_and_downloads_their_job(planner_client, planner):
    job = finished_with_file(planner)
    assert job.title in planner_client.get(reverse("jobs:list")).text
    assert planner_client.get(job.get_absolute_url()).status_code == 200
    download = planner_client.get(reverse("jobs:download", args=[job.pk]))
    assert b"".join(download.streaming_content) == b"number,name\n1,Secret\n"


def test_another_planner_and_an_outsider_get_404(client, planner, org, outsider):
    job = finished_with_file(planner)
    colleague = factories.PlannerFactory(organisation=org, username="colleague", export_cleared=True)
    for user in (colleague, outsider):
        client.force_login(user)
        assert job.title not in client.get(reverse("jobs:list")).text
        assert client.get(job.get_absolute_url()).status_code == 404
        assert client.get(reverse("jobs:download", args=[job.pk])).status_code == 404


def test_an_admin_of_the_organisation_sees_every_job_but_controlled_files_only_if_cleared(
    client, planner, org
):
    job = finished_with_file(planner, controlled=True)
    uncleared_admin = factories.PlannerFactory(organisation=org, username="boss", is_staff=True)
    client.force_login(uncleared_admin)
    listing = client.get(reverse("jobs:list")).text
    assert job.title in listing and "Export-controlled" in listing
    page = client.get(job.get_absolute_url()).text
    assert "not cleared" in page and reverse("jobs:download", args=[job.pk]) not in page
    assert client.get(reverse("jobs:download", args=[job.pk])).status_code == 404

    uncleared_admin.export_cleared = True
    uncleared_admin.save()
    assert client.get(reverse("jobs:download", args=[job.pk])).status_code == 200


def test_anonymous_visitors_go_to_the_login_page(client, planner):
    job = finished_with_file(planner)
    for url in (reverse("jobs:list"), job.get_absolute_url(), reverse("jobs:download", args=[job.pk])):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_crash_fails_the_job_and_logs_the_traceback(
    planner_client, planner, run_jobs, caplog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = start_job(crashing, owner=planner, kind=JobKind.EXPORT, title="Doomed", params={})
    with caplog.at_level(logging.ERROR, logger="ion_runs.jobs"):
        run_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.finished_at
    assert "ZeroDivisionError" in caplog.text, "the worker's log has the traceback"
    page = planner_client.get(job.get_absolute_url()).text
    assert "The job failed" in page and "its log has the details" in page


def test_a_job_whose_worker_went_silent_is_reported_failed(planner_client, planner):
    job = a_job(
        planner,
        status=JobStatus.RUNNING,
        total=10,
        done=3,
        started_at=timezone.now(),
        heartbeat_at=timezone.now() - datetime.timedelta(minutes=6),
    )
    page = planner_client.get(job.get_absolute_url()).text
    assert "The worker stopped while running this job" in page
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def test_a_job_still_reporting_progress_is_left_running(planner_client, planner):
    job = a_job(
        planner,
        status=JobStatus.RUNNING,
        total=10,
        done=3,
        started_at=timezone.now(),
        heartbeat_at=timezone.now() - datetime.timedelta(seconds=30),
    )
    page = planner_client.get(job.get_absolute_url()).text
    assert "3 of 10" in page and "every 1s" in page


def test_a_job_is_run_once_even_if_its_task_is_delivered_twice(
    planner, run_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = start_job(crashing, owner=planner, kind=JobKind.EXPORT, title="Once", params={})
    crashing.enqueue(job.pk)
    run_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED  # the first delivery ran it; the second found it taken


def test_results_expire_after_a_day(planner):
    kept = finished_with_file(planner, ago=datetime.timedelta(hours=23))
    expired = finished_with_file(planner, ago=datetime.timedelta(hours=25))
    running = a_job(planner, status=JobStatus.RUNNING, heartbeat_at=timezone.now())
    expired_file = expired.result_file.name
    assert default_storage.exists(expired_file)

    call_command("expire_jobs", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert set(Job.objects.values_list("pk", flat=True)) == {kept.pk, running.pk}
    assert not default_storage.exists(expired_file) and default_storage.exists(kept.result_file.name)


def test_the_jobs_list_is_in_the_user_menu(planner_client):
    assert f'href="{reverse("jobs:list")}"' in planner_client.get(reverse("runs:list")).text


def test_polling_a_job_that_is_gone_stops_and_says_so(planner_client, planner):
    job = finished_with_file(planner)
    url = job.get_absolute_url()
    job.delete()
    polled = planner_client.get(url, HTTP_HX_REQUEST="true")
    assert polled.status_code == 286 and "no longer here" in polled.text
    assert planner_client.get(url).status_code == 404


def test_polling_after_the_session_ended_sends_the_whole_page_to_the_login(client, planner):
    job = a_job(planner, status=JobStatus.RUNNING, heartbeat_at=timezone.now())
    polled = client.get(job.get_absolute_url(), HTTP_HX_REQUEST="true")
    assert polled.status_code == 200 and polled["HX-Redirect"].startswith(reverse("accounts:login"))
    assert "<html" not in polled.text


def test_a_finished_poll_announces_the_outcome_outside_the_swapped_region(planner_client, planner):
    job = finished_with_file(planner)
    polled = planner_client.get(job.get_absolute_url(), HTTP_HX_REQUEST="true")
    assert 'id="job-announce"' in polled.text and 'hx-swap-oob="true"' in polled.text


def test_a_result_arriving_after_the_job_was_failed_as_silent_is_dropped(
    planner, django_capture_on_commit_callbacks
):
    job = a_job(planner, status=JobStatus.QUEUED)

    def slow_work(progress):
        # Meanwhile, someone's look at the job found it silent and failed it.
        Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - datetime.timedelta(minutes=10))
        Job.objects.get(pk=job.pk).fail_if_silent()
        progress.keep_file("late.csv", ContentFile(b"late"))

    run_job(job.pk, slow_work)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and not job.result_file and "worker stopped" in job.problems[0]


def test_an_expired_job_takes_its_unread_upload_with_it(planner):
    upload = default_storage.save("jobs/uploads/left.csv", ContentFile(b"part.number\n"))
    a_job(
        planner,
        kind=JobKind.IMPORT,
        status=JobStatus.FAILED,
        finished_at=timezone.now() - datetime.timedelta(days=2),
        params={"upload": upload},
    )
    call_command("expire_jobs", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert not default_storage.exists(upload) and not Job.objects.exists()
