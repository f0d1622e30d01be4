import os
import tempfile

import pytest

from tests import factories

# Playwright's sync API runs an event loop in the test thread; the ORM calls the
# tests make around it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config):
    from django.conf import settings

    # Production's password hasher takes a noticeable fraction of a second by design, and
    # the suite makes thousands of users; the tests are about who may do what, not hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Files recorded on run steps land in a folder of this test session's, not the checkout.
    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="ion-runs-media-")


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def org():
    return factories.OrganisationFactory(name="Acme Rockets")


@pytest.fixture
def other_org():
    return factories.OrganisationFactory(name="Globex")


@pytest.fixture
def planner(org):
    return factories.PlannerFactory(organisation=org, username="planner", export_cleared=True)


@pytest.fixture
def uncleared_planner(org):
    return factories.PlannerFactory(organisation=org, username="uncleared")


@pytest.fixture
def operator(org):
    return factories.OperatorFactory(organisation=org, username="operator")


@pytest.fixture
def outsider(other_org):
    return factories.PlannerFactory(organisation=other_org, username="outsider", export_cleared=True)


@pytest.fixture
def planner_client(client, planner):
    client.force_login(planner)
    return client


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def run_jobs():
    """Runs every queued task the way `manage.py db_worker` does, in this process and this
    test's transaction; answers how many ran. (tests/jobs/test_worker.py runs the real command.)"""
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )

    def run() -> int:
        ran = 0
        while (result := DBTaskResult.objects.ready().order_by("enqueued_at").first()) is not None:
            result.claim(worker.worker_id)
            worker.run_task(result)
            ran += 1
        return ran

    return run
