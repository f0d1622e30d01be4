"""The JSON API at scale (issue 11): creating 1,000 runs in one POST, and listing 100,000 runs.

Needs PostgreSQL. `bash bench/run bench/api_create.py` starts a throwaway cluster and runs this;
or point DATABASE_URL at a server you have (a test database is created there and dropped).

1. POST /api/v1/runs with CREATE runs of a STEPS-step procedure (3 fields a step), end to end
   through Django's handler (token, JSON parsing, validation, references, create_runs, the
   201 body), against create_runs alone for the same runs. The two alternate, REPEAT times
   each; medians. Target: the POST no more than 0.3 s above create_runs.
2. GET /api/v1/runs (and the other lists) in an organisation of RUNS runs, the data of
   bench/work_pages.py: page 1 and a deep page (by the cursor the page before would give),
   for a planner (export cleared) and an operator (not cleared). Target: under 100 ms a page.

CREATE, STEPS, RUNS and REPEAT scale it down for a quick look.
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ion_runs.settings")

import django

django.setup()

from django.db import connection, connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

import runs.api.create  # noqa: E402

CREATE = int(os.environ.get("CREATE", "1000"))
STEPS = int(os.environ.get("STEPS", "30"))
REPEAT = int(os.environ.get("REPEAT", "5"))
LISTS = os.environ.get("LISTS", "1") == "1"  # LISTS=0: section 1 only
PAGE = 100


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench/api_create.py needs DATABASE_URL pointing at PostgreSQL.")
    setup_test_environment()
    test_db = connection.creation.create_test_db(verbosity=0)
    try:
        print(f"PostgreSQL {connection.pg_version // 10000}, {os.cpu_count()} cores\n")
        compare_post_with_service()
        if LISTS:
            measure_lists()
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(test_db, verbosity=0)


def client_for(user) -> Client:
    from ion_runs.accounts.models import ApiToken

    return Client(headers={"Authorization": f"Bearer {ApiToken.issue(user=user, name='bench')[1]}"})


def compare_post_with_service() -> None:
    from procedures.models import FieldType, StepField
    from runs.services import RunRequest, create_runs
    from tests import factories

    org = factories.OrganisationFactory(name="API Bench Rockets")
    planner = factories.PlannerFactory(organisation=org, username="api-bench", export_cleared=True)
    part = factories.PartFactory(organisation=org, number="BRKT-ASSY-001")
    version = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=STEPS)
    StepField.objects.bulk_create(
        StepField(step=step, position=3, label="Finish", type=FieldType.SELECT, options=["Matte", "Gloss"])
        for step in version.steps.all()
    )
    client = client_for(planner)
    body = json.dumps({"runs": [{"part": part.pk, "procedure": version.pk}] * CREATE})
    requests = [RunRequest(part_id=part.pk, procedure_version_id=version.pk)] * CREATE

    inside = []  # create_runs' share of each POST, timed within the request

    def timed_create_runs(**kwargs):
        began = time.perf_counter()
        try:
            return create_runs(**kwargs)
        finally:
            inside.append(time.perf_counter() - began)

    def post():
        with mock.patch.object(runs.api.create, "create_runs", timed_create_runs):
            response = client.post("/api/v1/runs", body, content_type="application/json")
        assert response.status_code == 201, response.content[:500]
        assert len(response.json()["runs"]) == CREATE

    def service():
        assert len(create_runs(user=planner, requests=requests)) == CREATE

    post()  # warm up: the first request imports and builds what later ones reuse
    posts, services = [], []
    pair = [(posts, post), (services, service)]
    for i in range(REPEAT):
        # Alternating which goes first evens out a warmer cache or a busier neighbour.
        for times, call in pair if i % 2 else reversed(pair):
            began = time.perf_counter()
            call()
            times.append(time.perf_counter() - began)
    with CaptureQueriesContext(connection) as queries:
        post()
    post_s, service_s = statistics.median(posts), statistics.median(services)
    # The same POSTs less their own create_runs: free of the drift between separate calls.
    own = statistics.median(total - part for total, part in zip(posts, inside[1:], strict=False))
    print(f"1. {CREATE:,} runs × {STEPS} steps × 3 fields, median of {REPEAT}:")
    print(f"   POST /api/v1/runs end to end: {post_s:.2f} s ({len(queries)} queries)")
    print(f"   create_runs alone:            {service_s:.2f} s")
    print(f"   the API's own cost:           {post_s - service_s:+.2f} s (target ≤ 0.30 s)")
    print(f"   each POST less its create_runs: {own:.2f} s\n")


def deep_cursor(queryset, keys: tuple[str, ...], descending: bool, page: int) -> str:
    """The cursor page `page - 1`'s `next` link gives: after its last row."""
    from ion_runs.api_paging import encode_cursor

    ordered = queryset.order_by(*(f"-{key}" if descending else key for key in keys))
    count = ordered.count()
    last = ordered[min((page - 1) * PAGE, count) - 1]
    return encode_cursor([getattr(last, key) for key in keys])


def lists(user) -> list[tuple[str, str]]:
    from inventory.models import Part, PartInventory
    from runs.access import visible_runs
    from runs.models import RunBatch

    runs = visible_runs(user)
    open_runs = runs.filter(status__in=["todo", "in_progress", "hold"])
    units = PartInventory.objects.filter(organisation_id=user.organisation_id)
    deep = {
        "runs": deep_cursor(runs, ("created_at", "number"), True, 900),
        "open": deep_cursor(open_runs, ("created_at", "number"), True, 400),
        "parts": deep_cursor(Part.objects.visible_to(user), ("number", "revision"), False, 40),
        "units": deep_cursor(units, ("pk",), False, 900),
        "batches": deep_cursor(RunBatch.objects.visible_to(user), ("pk",), True, 15),
    }
    return [
        ("runs, page 1", f"/api/v1/runs?limit={PAGE}"),
        ("runs, page 900", f"/api/v1/runs?limit={PAGE}&cursor={deep['runs']}"),
        ("runs open, page 1", f"/api/v1/runs?status=open&limit={PAGE}"),
        ("runs open, page 400", f"/api/v1/runs?status=open&limit={PAGE}&cursor={deep['open']}"),
        ("runs of a batch", "/api/v1/runs?batch=Batch%207"),
        ("parts, page 1", f"/api/v1/parts?limit={PAGE}"),
        ("parts, page 40", f"/api/v1/parts?limit={PAGE}&cursor={deep['parts']}"),
        ("inventory, page 1", f"/api/v1/inventory?limit={PAGE}"),
        ("inventory, page 900", f"/api/v1/inventory?limit={PAGE}&cursor={deep['units']}"),
        ("batches, page 1", f"/api/v1/batches?limit={PAGE}"),
        ("batches, page 15", f"/api/v1/batches?limit={PAGE}&cursor={deep['batches']}"),
    ]


def measure_lists() -> None:
    import bench.work_pages as work_pages

    began = time.perf_counter()
    planner, operator, _ = work_pages.populate()
    took = time.perf_counter() - began
    print(f"2. Generated {work_pages.RUNS:,} runs (bench/work_pages.py's data) in {took:.0f} s.")
    rows = []
    for who, user in (("planner", planner), ("operator", operator)):
        client = client_for(user)
        for label, url in lists(user):
            client.get(url)  # warm up
            timings = []
            for _ in range(REPEAT):
                with CaptureQueriesContext(connection) as queries:
                    began = time.perf_counter()
                    response = client.get(url)
                    timings.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200, (url, response.content[:300])
            rows.append((who, label, statistics.median(timings), len(queries)))
    print(f"   Median server time of {REPEAT} requests, {PAGE} rows a page:")
    print(f"   {'who':<9}{'list':<22}{'ms':>6}{'queries':>9}")
    for who, label, ms, queries in rows:
        print(f"   {who:<9}{label:<22}{ms:>6.0f}{queries:>9}")


if __name__ == "__main__":
    main()
