"""How long the Review step takes to render 500 rows, and Create of 500 rows, in server time.

`bash bench/run bench/review_rows.py` starts a throwaway PostgreSQL and runs this; or against
a server of your own (a test database is created there and dropped):

    DATABASE_URL=postgres://USER@HOST:PORT/ion_runs .venv/bin/python bench/review_rows.py

Targets (issue 10): Review of 500 rows under 150 ms; Create of 500 rows from Review end to end
(the POST of the Review form and the GET of the created page it redirects to) under 2 s.
ROWS, REPEAT, CREATES and STEPS scale it; PROFILE=1 prints a profile of one Review request.
Besides wall time it prints this process's CPU time per request (the Django side, without the
database's): on a machine shared with other jobs, wall time swells with the load average and
CPU time much less, so the two together say what a quiet machine would show.
"""

import cProfile
import html
import os
import pstats
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ion_runs.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

ROWS = int(os.environ.get("ROWS", "500"))
REPEAT = int(os.environ.get("REPEAT", "15"))
CREATES = int(os.environ.get("CREATES", "5"))
STEPS = int(os.environ.get("STEPS", "10"))
PROFILE = os.environ.get("PROFILE") == "1"


def main() -> None:
    setup_test_environment()
    test_db = connection.creation.create_test_db(verbosity=0)
    try:
        from runs.models import RunDraft
        from tests import factories

        org = factories.OrganisationFactory(name="Bench Org")
        planner = factories.PlannerFactory(organisation=org, export_cleared=True)
        team = factories.TeamFactory(organisation=org)
        parts = factories.PartFactory.create_batch(20, organisation=org)
        version = factories.ReleasedVersionFactory(procedure__organisation=org, parts=parts, steps=STEPS)

        def make_drafts(prefix: str) -> None:
            RunDraft.objects.bulk_create(
                RunDraft(
                    organisation=org,
                    owner=planner,
                    position=i,
                    data={
                        "source": "build",
                        "part": parts[i % 20].pk,
                        "procedure": version.pk,
                        "tracking_type": "serial",
                        "serial_number": f"{prefix}-{i:05d}",
                        "quantity": 1,
                        "name": "",
                        "due_date": "2026-12-01",
                        "export_controlled": False,
                        "assigned_user": None,
                        "assigned_team": team.pk,
                        "attributes": {},
                    },
                )
                for i in range(ROWS)
            )

        make_drafts("SN")
        client = Client()
        client.force_login(planner)
        start = client.get("/runs/new/")
        review_url = start.url.replace("/source/", "/review/")
        client.get(review_url)  # warm caches and templates
        if PROFILE:
            profiler = cProfile.Profile()
            profiler.runcall(client.get, review_url)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        timings, cpu_timings = [], []
        for _ in range(REPEAT):
            with CaptureQueriesContext(connection) as queries:
                began, began_cpu = time.perf_counter(), time.process_time()
                response = client.get(review_url)
                timings.append((time.perf_counter() - began) * 1000)
                cpu_timings.append((time.process_time() - began_cpu) * 1000)
            assert response.status_code == 200 and response.content.count(b'class="review-row"') == ROWS
        print(f"Review step, {ROWS} rows, {REPEAT} requests on {connection.vendor} (load average {load()}):")
        print(
            f"  median {statistics.median(timings):.0f} ms, best {min(timings):.0f} ms, "
            f"worst {max(timings):.0f} ms, {len(queries)} queries per request; "
            f"CPU median {statistics.median(cpu_timings):.0f} ms, best {min(cpu_timings):.0f} ms"
        )
        measure_create(client, review_url, make_drafts)
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of a page, as a browser posts them with the Review form."""
    fields = {}
    for tag in re.findall(r"<input\b[^>]*>", page):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        if attrs.get("type") == "hidden" and "name" in attrs:
            fields[attrs["name"]] = html.unescape(attrs.get("value", ""))
    return fields


def measure_create(client, review_url: str, make_drafts) -> None:
    """Press Create on a Review of ROWS rows: the POST, and the created page it redirects to."""
    from runs.models import Run

    timings, post_timings, cpu_timings, queries_per_create = [], [], [], []
    for attempt in range(CREATES + 1):  # the first one warms up
        if attempt:
            make_drafts(f"SN{attempt}")
        fields = hidden_fields(client.get(review_url).content.decode())
        before = Run.objects.count()
        with CaptureQueriesContext(connection) as queries:
            began, began_cpu = time.perf_counter(), time.process_time()
            response = client.post(review_url, fields)
            posted = time.perf_counter()
            assert response.status_code == 302 and "/created/" in response.url, response.status_code
            created = client.get(response.url)
            ended, ended_cpu = time.perf_counter(), time.process_time()
        assert created.status_code == 200 and Run.objects.count() - before == ROWS
        if attempt:
            timings.append(ended - began)
            post_timings.append(posted - began)
            cpu_timings.append(ended_cpu - began_cpu)
            queries_per_create.append(len(queries))
    if not timings:
        return
    print(
        f"Create from Review, {ROWS} rows of {STEPS} steps, {CREATES} times on {connection.vendor} "
        f"(load average {load()}):"
    )
    print(
        f"  median {statistics.median(timings):.2f} s (POST {statistics.median(post_timings):.2f} s, "
        f"created page {statistics.median(timings) - statistics.median(post_timings):.2f} s), "
        f"best {min(timings):.2f} s, worst {max(timings):.2f} s, "
        f"{max(queries_per_create)} queries; CPU median {statistics.median(cpu_timings):.2f} s"
    )


if __name__ == "__main__":
    main()
