"""Jobs in a real browser with a real worker (SPEC §13): a large export and a large import run in
`manage.py db_worker`, the job's page shows their progress and then the download or the way to
Review, and the Jobs list in the user menu finds both after the tab was closed.

The worker is a subprocess on the live server's database, which is committed (a transactional
test), so it sees what the test made. Screenshots go to test-artifacts/<test name>/<stage>.png.
"""

import csv
import datetime
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import expect

from inventory.models import InventoryStatus, PartInventory, TrackingType
from ion_runs.jobs.models import Job, JobKind, JobStatus
from runs.models import Run
from tests import factories
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_accessibility import blocking_violations, describe

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
RUNS = 120
ROWS = 40
JOB_URL = re.compile(r".*/jobs/(\d+)/$")


@pytest.fixture(autouse=True)
def small_thresholds(settings):
    # Only the web process (the live server's thread) decides what becomes a job.
    settings.EXPORT_IN_BACKGROUND_ABOVE = 50
    settings.IMPORT_IN_BACKGROUND_ABOVE = 20


@pytest.fixture
def worker(transactional_db, live_server, tmp_path):
    """Starts `manage.py db_worker` on the live server's database when called; stopped at
    teardown, before the test's database is flushed."""
    started = []
    log = tmp_path / "worker.log"

    def start() -> subprocess.Popen:
        db = connection.settings_dict
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        env = os.environ | {
            "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "DEBUG": "true",
            "MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
            "CONN_MAX_AGE": "0",
        }
        process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--interval",
                "0.2",
                "--no-startup-delay",
                "--no-reload",
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if log.exists() and "Traceback" in log.read_text():
        print(log.read_text())


@pytest.fixture
def planner(org):
    factories.ensure_demo_groups()
    return factories.PlannerFactory(
        organisation=org, username="priya", first_name="Priya", export_cleared=True
    )


@pytest.fixture
def many_runs(org, planner):
    """RUNS runs of one part, made at the database's speed (the factories would take a while)."""
    part = factories.PartFactory(organisation=org, number="PLATE-7", tracking_type=TrackingType.SERIAL)
    units = PartInventory.objects.bulk_create(
        PartInventory(
            organisation=org, part=part, serial_number=f"SN-{i:05d}", status=InventoryStatus.IN_BUILD
        )
        for i in range(1, RUNS + 1)
    )
    return Run.objects.bulk_create(
        Run(
            organisation=org,
            number=i,
            name=f"Bracket {i:03d}",
            part=part,
            part_inventory=unit,
            tracking_type=part.tracking_type,
            created_by=planner,
        )
        for i, unit in enumerate(units, start=1)
    )


@pytest.fixture
def plan_csv(org, tmp_path):
    """A CSV of ROWS build rows of a serialized part, each with a new serial."""
    factories.PartFactory(
        organisation=org, number="BRKT-100", revision="A", tracking_type=TrackingType.SERIAL
    )
    path = tmp_path / "plan.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["part.number", "part.revision", "serial_number", "name"])
        writer.writerows(["BRKT-100", "A", f"SN-PLAN-{i:03d}", f"Planned bracket {i}"] for i in range(ROWS))
    return path


def assert_accessible(page, where: str) -> None:
    """No serious or critical axe violation, by test_accessibility.py's rules (WCAG 2.2 AA and
    best practice)."""
    violations = blocking_violations(page)
    assert not violations, f"{where} ({page.url}):\n{describe(violations)}"


def export_as_job(page, live_server, worker, shoot, tmp_path) -> Path:
    """Download XLSX on the Runs page: the job's page at once, waiting, then the download."""
    page.goto(f"{live_server.url}/runs/")
    began = time.monotonic()
    page.get_by_role("link", name="Download XLSX").click()
    expect(page).to_have_url(JOB_URL, timeout=5_000)
    answered = time.monotonic() - began
    expect(page.get_by_role("heading", name="Export runs as XLSX")).to_be_visible()
    # No worker yet: the job waits, and the page says so.
    expect(page.get_by_role("status")).to_have_text("Waiting for a worker to pick this job up.")
    expect(page.get_by_text("Waiting for a worker", exact=True)).to_be_visible()
    shoot("01-export-waiting")
    assert_accessible(page, "An export's page, waiting for a worker")

    worker()
    download_link = page.get_by_role("link", name=re.compile(r"^Download runs-.*\.xlsx$"))
    expect(download_link).to_be_visible(timeout=30_000)
    expect(page.locator("#job-progress").get_by_text("Done", exact=True)).to_be_visible()
    expect(page.locator("#job-progress")).to_contain_text(f"{RUNS} done")
    # Announced from outside the swapped region, so a screen reader hears it.
    expect(page.get_by_role("status")).to_have_text("Done")
    shoot("02-export-done")
    assert_accessible(page, "An export's page, done")

    with page.expect_download() as download:
        download_link.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert answered < 5, f"the job's page took {answered:.1f} s"
    return saved


def import_as_job(page, live_server, worker, shoot, plan_csv) -> None:
    """Import a large file: the job's page, then Review with every row on it."""
    page.goto(f"{live_server.url}/runs/import/")
    page.get_by_label("Spreadsheet").set_input_files(plan_csv)
    page.get_by_role("button", name="Import to Review").click()
    expect(page).to_have_url(JOB_URL)
    expect(page.get_by_role("heading", name=f"Import plan.csv ({ROWS} rows)")).to_be_visible()
    shoot("03-import-page")
    worker()
    page.get_by_role("link", name="Open the result").click(timeout=30_000)
    expect(page.get_by_text(f"Imported {ROWS} rows from plan.csv.")).to_be_visible()
    expect(page.locator("tbody.review-row")).to_have_count(ROWS)
    shoot("04-review")


def test_an_export_and_an_import_run_as_jobs_and_the_jobs_list_finds_both_after_the_tab_is_closed(
    live_server, context, page, log_in, shoot, planner, many_runs, plan_csv, worker, tmp_path
):
    """One test for the three, as they share a worker and the runs: each job page turns into its
    result (a workbook of every run; Review with every row), and Jobs lists both later."""
    log_in(planner)
    saved = export_as_job(page, live_server, worker, shoot, tmp_path)
    assert re.fullmatch(r"runs-\d{4}-\d\d-\d\d\.xlsx", saved.name)
    sheet = load_workbook(saved, read_only=True).worksheets[0]
    header, *rows = list(sheet.iter_rows(values_only=True))
    names = [row[header.index("name")] for row in rows]
    assert sorted(names) == [f"Bracket {i:03d}" for i in range(1, RUNS + 1)]
    import_as_job(page, live_server, lambda: None, shoot, plan_csv)
    jobs = {job.kind: job for job in Job.objects.all()}
    assert (jobs[JobKind.EXPORT].status, jobs[JobKind.EXPORT].done) == (JobStatus.DONE, RUNS)
    assert (jobs[JobKind.IMPORT].status, jobs[JobKind.IMPORT].done) == (JobStatus.DONE, ROWS)
    page.close()

    page = context.new_page()
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Jobs", exact=True).click()
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    rows = page.locator("table.data tbody tr")
    expect(rows).to_have_count(2)
    # Newest first: the import, then the export, both done, each with its result.
    expect(rows.nth(0)).to_contain_text(f"Import plan.csv ({ROWS} rows)")
    expect(rows.nth(0)).to_contain_text("Done")
    expect(rows.nth(0).get_by_role("link", name="Open the result")).to_be_visible()
    # The worker names the export by its size once it has counted the runs.
    expect(rows.nth(1)).to_contain_text(f"Export {RUNS} runs as XLSX")
    expect(rows.nth(1)).to_contain_text("Done")
    expect(rows.nth(1)).to_contain_text(f"{RUNS} of {RUNS}")
    expect(rows.nth(1).get_by_role("link", name=re.compile(r"^Download runs-.*\.xlsx$"))).to_be_visible()
    screenshot(page, "test_the_jobs_list_finds_both_after_the_tab_is_closed", "05-jobs-list")
    assert_accessible(page, "The Jobs list")

    page.get_by_role("link", name=f"Export {RUNS} runs as XLSX").click()
    expect(page.get_by_role("link", name=re.compile(r"^Download runs-.*\.xlsx$"))).to_be_visible()


def test_a_running_job_shows_its_progress_bar_and_time_left(live_server, page, log_in, planner):
    """A job half way (no worker: the row says so), as the page polls it."""
    log_in(planner)
    now = timezone.now()
    job = Job.objects.create(
        organisation=planner.organisation,
        owner=planner,
        kind=JobKind.EXPORT,
        title="Export runs as XLSX",
        status=JobStatus.RUNNING,
        done=40_000,
        total=100_000,
        started_at=now - datetime.timedelta(seconds=8),
        heartbeat_at=now,
    )
    page.goto(f"{live_server.url}{job.get_absolute_url()}")
    expect(page.get_by_text("Running", exact=True)).to_be_visible()
    bar = page.get_by_role("progressbar", name="40,000 of 100,000")
    expect(bar).to_be_visible()
    expect(page.get_by_text(re.compile(r"About \d+ seconds? left\."))).to_be_visible()
    # The poll answers the same region; a second later it is still there, still polling.
    with page.expect_response(
        lambda response: "/jobs/" in response.url and response.request.headers.get("hx-request")
    ):
        pass
    expect(bar).to_be_visible()
    screenshot(page, "test_a_running_job_shows_its_progress_bar_and_time_left", "running")
    assert_accessible(page, "A running job's page")

    Job.objects.filter(pk=job.pk).update(status=JobStatus.DONE, done=100_000, finished_at=timezone.now())
    expect(page.locator("#job-progress").get_by_text("Done", exact=True)).to_be_visible(timeout=5_000)
    expect(bar).to_be_hidden()


def screenshot(page, test: str, stage: str) -> None:
    """For a page the `shoot` fixture does not hold (a tab opened by the test)."""
    folder = ARTIFACTS / test
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / f"{stage}.png", full_page=True)
