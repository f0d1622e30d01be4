"""Past one machine (SPEC §15): two app processes and two workers through PgBouncer in
transaction mode, under concurrent creators, pick-ups, step completions and exports.

Each "host" is a gunicorn process of its own (its own connections, nothing shared in memory)
and each worker a `manage.py db_worker`; all reach PostgreSQL through one PgBouncer with
`pool_mode = transaction`, as README's two-host layout does. Clients hit both hosts at once for
a bounded time and write down every answer; then the database must hold exactly what was
answered: no run lost, none twice, every serial once, each pool run picked up by the one
operator told so, every job done once.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test import Client
from django_tasks_db.models import DBTaskResult

from ion_runs.accounts.models import ApiToken
from ion_runs.jobs.models import Job, JobStatus
from runs.models import Run
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
LOAD_SECONDS = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


class Cluster:
    """PgBouncer, two gunicorn hosts and two workers on this test's database."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.processes: list[subprocess.Popen] = []
        db = connection.settings_dict
        self.bouncer_port = free_port()
        as_postgres = os.geteuid() == 0  # PgBouncer refuses to run as root
        (folder / "pgbouncer.ini").write_text(
            f"[databases]\n{db['NAME']} = host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} "
            f"dbname={db['NAME']}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.bouncer_port}\nunix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {folder / 'userlist.txt'}\n"
            "pool_mode = transaction\n"
            # Fewer server connections than clients, so transactions really share them.
            "default_pool_size = 6\nmax_client_conn = 200\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
        )
        (folder / "userlist.txt").write_text(f'"{db["USER"]}" ""\n')
        if as_postgres:
            shutil.chown(folder, "postgres")
            for name in ("pgbouncer.ini", "userlist.txt"):
                shutil.chown(folder / name, "postgres")
        command = [PGBOUNCER, str(folder / "pgbouncer.ini")]
        bouncer = self.start(
            ["runuser", "-u", "postgres", "--", *command] if as_postgres else command, "pgbouncer"
        )
        wait_for_port(self.bouncer_port, bouncer)
        self.env = os.environ | {
            "DATABASE_URL": f"postgres://{db['USER']}@127.0.0.1:{self.bouncer_port}/{db['NAME']}",
            "DATABASE_POOLER": "transaction",
            "CONN_MAX_AGE": "0",
            "DEBUG": "true",
            "MEDIA_ROOT": settings.MEDIA_ROOT,
            "EXPORT_IN_BACKGROUND_ABOVE": "20",
            "API_CREATE_IN_BACKGROUND_ABOVE": "4",
        }
        self.hosts = []
        for name in ("host-a", "host-b"):
            port = free_port()
            gunicorn = self.start(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "ion_runs.wsgi",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "2",
                    "--threads",
                    "4",
                    "--graceful-timeout",
                    "2",
                ],
                name,
                env=self.env,
            )
            self.hosts.append((f"http://127.0.0.1:{port}", gunicorn, port))
        for name in ("worker-1", "worker-2"):
            self.start(
                [
                    sys.executable,
                    "manage.py",
                    "db_worker",
                    "--interval",
                    "0.1",
                    "--no-startup-delay",
                    # No autoreloader: it would run the worker in a child that outlives terminate().
                    "--no-reload",
                    "--worker-id",
                    name,
                ],
                name,
                env=self.env,
            )
        for base, gunicorn, port in self.hosts:
            wait_for_port(port, gunicorn)
            # Each process's first request connects and loads the URLconf; not part of the load.
            for _ in range(4):
                requests.get(f"{base}/accounts/login/", timeout=60)

    def start(self, command: list[str], name: str, env=None) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 — closed with the process
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.folder.glob("*.log")
        )

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # PgBouncer may leave its server connections behind for a moment; the test database
        # is dropped after this test, which PostgreSQL refuses while anyone is connected.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture
def cluster():
    folder = Path(tempfile.mkdtemp(prefix="ion-two-hosts-"))
    os.chmod(folder, 0o755)
    running = Cluster(folder)
    yield running
    running.stop()
    shutil.rmtree(folder, ignore_errors=True)


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {ApiToken.issue(user=user, name='two hosts')[1]}"}


def web_session(base: str, user) -> requests.Session:
    """A browser's session for `user` (logged in as Django's test client does), with its CSRF token."""
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set(settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value)
    session.get(f"{base}/runs/", timeout=30)
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    session.headers["Referer"] = f"{base}/"
    return session


def guarded(target, failures: list[str]):
    """`target`, with any exception written down as a failure rather than lost in its thread."""

    def run(*args):
        try:
            target(*args)
        except Exception as error:
            failures.append(f"{target.__name__}: {error!r}")

    return run


def test_two_hosts_and_two_workers_through_pgbouncer_lose_and_duplicate_nothing(org, cluster):
    part = factories.PartFactory(organisation=org, number="BRKT-2H", revision="A")
    version = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=2)
    planners = [
        factories.PlannerFactory(organisation=org, username=f"planner{i}", export_cleared=True)
        for i in (1, 2)
    ]
    operators = [
        factories.OperatorFactory(organisation=org, username=f"operator{i}", export_cleared=True)
        for i in (1, 2)
    ]
    planner_tokens = [bearer(p) for p in planners]
    operator_tokens = [bearer(o) for o in operators]
    bases = [base for base, _, _ in cluster.hosts]

    created: dict[str, int] = {}  # serial → run number, from every 201 (and job result) answered
    picked: dict[int, str] = {}  # run number → the operator told they picked it up
    completed: list[int] = []
    exports: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + LOAD_SECONDS

    def note_runs(runs: list[dict]) -> None:
        with lock:
            for run in runs:
                if run["identity"] in created:
                    failures.append(f"serial {run['identity']} answered twice")
                created[run["identity"]] = run["number"]

    def creator(n: int) -> None:
        base, headers, i = bases[n % 2], planner_tokens[n % 2], 0
        while time.monotonic() < stop_at:
            i += 1
            # Mostly small creates (201 at once); every fourth one large enough to be a job (202).
            count = 6 if i % 4 == 0 else 2
            body = {
                "runs": [
                    {"part": part.pk, "procedure": version.pk, "serial_number": f"SN-{n}-{i}-{k}"}
                    for k in range(count)
                ]
            }
            answer = requests.post(f"{base}/api/v1/runs", json=body, headers=headers, timeout=30)
            if answer.status_code == 201:
                note_runs(answer.json()["runs"])
            elif answer.status_code == 202:
                job = answer.json()
                while (polled := requests.get(base + job["url"], headers=headers, timeout=30).json())[
                    "status"
                ] not in ("done", "failed"):
                    time.sleep(0.2)
                if polled["status"] != "done":
                    failures.append(f"job {job['id']} failed: {polled['problems']}")
                else:
                    note_runs(polled["result"]["runs"])
            else:
                failures.append(f"create answered {answer.status_code}: {answer.text[:200]}")

    def picker(n: int) -> None:
        """Both operators start step 1 of the same pool runs on different hosts: one wins each."""
        base, headers = bases[n % 2], operator_tokens[n]
        name = operators[n].username
        while time.monotonic() < stop_at:
            with lock:
                numbers = sorted(created.values())[-6:]
            for number in numbers:
                answer = requests.post(
                    f"{base}/api/v1/runs/{number}/steps/1/start", json={}, headers=headers, timeout=30
                )
                if answer.status_code == 200:
                    with lock:
                        if number in picked:
                            failures.append(f"run {number} picked up by {picked[number]} and {name}")
                        picked[number] = name
                    requests.put(
                        f"{base}/api/v1/runs/{number}/steps/1/fields/1",
                        json={"value": 7},
                        headers=headers,
                        timeout=30,
                    )
                    done = requests.post(
                        f"{base}/api/v1/runs/{number}/steps/1/complete", json={}, headers=headers, timeout=30
                    )
                    if done.status_code == 200:
                        with lock:
                            completed.append(number)
                elif answer.status_code not in (403, 409):
                    failures.append(f"start answered {answer.status_code}: {answer.text[:200]}")
            time.sleep(0.05)

    def exporter() -> None:
        session = web_session(bases[1], planners[0])
        while time.monotonic() < stop_at:
            answer = session.get(f"{bases[0]}/runs/export.csv", allow_redirects=False, timeout=30)
            if answer.status_code == 302:
                job_url = bases[1] + answer.headers["Location"]
                while "Download runs-" not in (page := session.get(job_url, timeout=30).text):
                    if "The job failed" in page:
                        failures.append("an export job failed")
                        return
                    time.sleep(0.2)
                number = re.search(r"/jobs/(\d+)/", answer.headers["Location"])[1]
                body = session.get(f"{bases[1]}/jobs/{number}/download/", timeout=30).text
                with lock:
                    exports.append(body.count("\n") - 1)
            elif answer.status_code != 200:
                failures.append(f"export answered {answer.status_code}")
            time.sleep(0.3)

    threads = [threading.Thread(target=guarded(creator, failures), args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=guarded(picker, failures), args=(n,)) for n in range(2)]
    threads.append(threading.Thread(target=guarded(exporter, failures)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=LOAD_SECONDS + 90)
    assert not any(thread.is_alive() for thread in threads), cluster.logs()

    assert not failures, (failures[:10], cluster.logs())
    runs = dict(Run.objects.values_list("part_inventory__serial_number", "number"))
    assert runs == created, "the database holds exactly the runs answered, under the numbers answered"
    assert len(created) > 20 and len(set(created.values())) == len(created)
    owners = dict(Run.objects.filter(number__in=picked).values_list("number", "assigned_user__username"))
    assert owners == picked and len(picked) > 5, "each run is its one winner's"
    assert completed and exports, "steps were completed and exports downloaded under load"
    jobs = Job.objects.all()
    assert jobs.count() > 3 and set(jobs.values_list("status", flat=True)) == {JobStatus.DONE}
    tasks = DBTaskResult.objects.all()
    assert tasks.count() == jobs.count()
    assert all(len(task.worker_ids) == 1 for task in tasks), "every job taken by one worker, once"
    assert {worker for task in tasks for worker in task.worker_ids} <= {"worker-1", "worker-2"}
