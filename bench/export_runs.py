"""Downloading the Runs page as CSV and XLSX at 100,000 runs: time and peak memory (issue 13).

`bash bench/run bench/export_runs.py` starts a throwaway PostgreSQL and runs this; or against a
server of your own (a test database is created there and dropped):

    DATABASE_URL=postgres://USER@HOST:PORT/ion_runs .venv/bin/python bench/export_runs.py

The data is bench/work_pages.py's (RUNS runs, default 100,000, in one organisation, with their
parts, units, procedures, batches, people and teams; no run steps, which an export never
reads). Each export is downloaded whole through the test client (every chunk of the streamed
response read and dropped, as a browser saving it would), REPEAT times (default 3) for the
median time; then once more under tracemalloc for the peak Python memory of the request.
For the planner (export cleared: every run) and the operator (not cleared: ~10 % fewer).

Targets: CSV of 100,000 runs under 10 s; memory that does not grow with the runs (streamed).
"""

import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ion_runs.settings")
os.environ.setdefault("STEPS", "0")

import work_pages  # sets Django up; its populate() makes the data
from django.db import connection
from django.test import Client
from django.test.utils import setup_test_environment

REPEAT = int(os.environ.get("REPEAT", "3"))
EXPORTS = [
    ("CSV, every run", "/runs/export.csv"),
    ("XLSX, every run", "/runs/export.xlsx"),
    ("CSV, open, due soonest", "/runs/export.csv?status=open&sort=due"),
]


def download(client: Client, url: str) -> tuple[int, int]:
    """The response's size in bytes and its number of lines (CSV) or 0 (XLSX), chunk by chunk."""
    response = client.get(url)
    assert response.status_code == 200 and response.streaming, (url, response.status_code)
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n") if ".csv" in url else 0
    response.close()
    return size, lines


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench/export_runs.py needs DATABASE_URL pointing at PostgreSQL.")
    setup_test_environment()
    test_db = connection.creation.create_test_db(verbosity=0)
    try:
        began = time.perf_counter()
        planner, operator, _ = work_pages.populate()
        print(f"Generated {work_pages.RUNS:,} runs in {time.perf_counter() - began:.0f} s.")
        print(f"Median of {REPEAT} downloads (s), peak Python memory of one (MiB), size:")
        print(f"{'export':24}  {'who':8}  {'rows':>7}  {'s':>5}  {'MiB':>5}  {'MB':>5}")
        for who, user in (("planner", planner), ("operator", operator)):
            client = Client()
            client.force_login(user)
            for label, url in EXPORTS:
                timings = []
                for _ in range(REPEAT):
                    start = time.perf_counter()
                    size, lines = download(client, url)
                    timings.append(time.perf_counter() - start)
                tracemalloc.start()
                download(client, url)
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                rows = f"{lines - 1:,}" if lines else "—"
                print(
                    f"{label:24}  {who:8}  {rows:>7}  {statistics.median(timings):5.2f}  "
                    f"{peak / 2**20:5.1f}  {size / 1e6:5.1f}"
                )
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)


if __name__ == "__main__":
    main()
