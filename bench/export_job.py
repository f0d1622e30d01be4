"""The XLSX export of 100,000 runs as a job in a real worker: the web's answer, the worker's time
and its peak memory (issue 20).

`bash bench/run bench/export_job.py` starts a throwaway PostgreSQL and runs this; or against a
server of your own (a test database is created there and dropped; KEEPDB=1 keeps it and its
data for the next run):

    DATABASE_URL=postgres://USER@HOST:PORT/ion_runs .venv/bin/python bench/export_job.py

The data is bench/work_pages.py's (RUNS runs, default 100,000, no run steps). A worker,
`manage.py db_worker` with DEBUG off, is started on the test database and left idle a few
seconds, as in production; then, REPEAT times (default 3), the planner's GET of
/runs/export.xlsx through the test client (which makes the Job and enqueues its task, answering
302 to the job's page) is timed, and the Job row is polled every 50 ms until it is finished:
"enqueue to done" is from the GET to the poll that saw it done, "in the worker" is the job's
own started_at to finished_at. The worker's peak RSS is its VmHWM from /proc after the last job
(its idle RSS before the first is printed beside it). PROFILE=1 then runs the same export once
more in this process under cProfile and prints where its time goes.

Targets: the GET under 1 s; 100,000 runs exported in under 20 s in the worker, under 200 MiB peak.
"""

import cProfile
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ion_runs.settings")
os.environ.setdefault("STEPS", "0")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="ion-runs-bench-media-"))

import work_pages  # noqa: E402  (sets Django up; its work_pages.populate()[0] makes the data)
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from ion_runs.jobs.models import Job  # noqa: E402
from ion_runs.jobs.running import run_job  # noqa: E402
from runs import tasks  # noqa: E402

REPEAT = int(os.environ.get("REPEAT", "3"))
KEEPDB = os.environ.get("KEEPDB") == "1"
PROFILE = os.environ.get("PROFILE") == "1"
URL = "/runs/export.xlsx"


def proc_status(pid: int, field: str) -> float:
    """A memory figure of /proc/<pid>/status, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def start_worker(test_db: str, log) -> subprocess.Popen:
    """`manage.py db_worker` on the test database, DEBUG off, as a worker host runs it."""
    url = urlsplit(os.environ["DATABASE_URL"])
    env = os.environ | {
        "DATABASE_URL": urlunsplit(url._replace(path="/" + test_db)),
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-startup-delay", "--no-reload"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def export_once(client: Client) -> tuple[float, int, float, float, Job]:
    """(seconds the GET took, its queries, seconds from the GET to done, seconds in the worker, the job)."""
    began = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    answered = time.perf_counter() - began
    assert response.status_code == 302 and "/jobs/" in response["Location"], response.status_code
    job = Job.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[-1]))
    while True:
        job.refresh_from_db()
        if job.finished:
            break
        if time.perf_counter() - began > 600:
            raise TimeoutError(f"job {job.pk} still {job.status} after 10 minutes")
        time.sleep(0.05)
    done = time.perf_counter() - began
    assert job.status == "done", (job.status, job.problems)
    return answered, len(queries), done, (job.finished_at - job.started_at).total_seconds(), job


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench/export_job.py needs DATABASE_URL pointing at PostgreSQL.")
    setup_test_environment()
    test_db = connection.creation.create_test_db(verbosity=0, keepdb=KEEPDB)
    try:
        from ion_runs.accounts.models import User

        if KEEPDB and User.objects.filter(username="bench-planner").exists():
            planner = User.objects.get(username="bench-planner")
            print(f"Reusing the generated data in {test_db}.")
        else:
            began = time.perf_counter()
            planner = work_pages.populate()[0]
            print(f"Generated {work_pages.RUNS:,} runs in {time.perf_counter() - began:.0f} s.")
        Job.objects.all().delete()
        client = Client()
        client.force_login(planner)
        log = tempfile.NamedTemporaryFile("w+", prefix="export-job-worker-", suffix=".log", delete=False)  # noqa: SIM115
        worker = start_worker(test_db, log)
        try:
            time.sleep(5)
            idle = proc_status(worker.pid, "VmRSS")
            rows = []
            for _ in range(REPEAT):
                rows.append(export_once(client))
            peak = proc_status(worker.pid, "VmHWM")
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        job = rows[-1][-1]
        print(f"Load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())}; worker log: {log.name}")
        size = job.result_file.size / 1e6
        print(f"XLSX export of {job.total:,} runs as a job, {REPEAT} times ({size:.1f} MB):")
        print(f"{'':4}  {'GET s':>6}  {'queries':>7}  {'enqueue to done s':>17}  {'in the worker s':>15}")
        for i, (answered, queries, done, worked, _) in enumerate(rows, start=1):
            print(f"{i:4}  {answered:6.2f}  {queries:7}  {done:17.1f}  {worked:15.1f}")
        print(
            f"median  {statistics.median(r[0] for r in rows):5.2f}  {'':7}  "
            f"{statistics.median(r[2] for r in rows):17.1f}  {statistics.median(r[3] for r in rows):15.1f}"
        )
        print(f"Worker RSS: {idle:.0f} MiB idle, {peak:.0f} MiB peak (VmHWM)")

        if PROFILE:
            response = client.get(URL)
            pk = int(response["Location"].rstrip("/").rsplit("/", 1)[-1])
            profiler = cProfile.Profile()
            profiler.runcall(run_job, pk, tasks._export)
            print(f"\ncProfile of one export in this process (job {pk}):")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    finally:
        for job in Job.objects.exclude(result_file=""):
            job.result_file.delete(save=False)
        if not KEEPDB:
            connection.creation.destroy_test_db(test_db, verbosity=0)


if __name__ == "__main__":
    main()
