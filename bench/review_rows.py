"""How long the Review step takes to render 500 rows, in server time.

Run against PostgreSQL (a throwaway test database is created and dropped):

    DATABASE_URL=postgres://USER@HOST:PORT/ion_runs .venv/bin/python bench/review_rows.py

Target (issue 4): under 300 ms for 500 rows.
"""

import os
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
        version = factories.ReleasedVersionFactory(procedure__organisation=org, parts=parts, steps=10)
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
                    "serial_number": f"SN-{i:05d}",
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
        client = Client()
        client.force_login(planner)
        start = client.get("/runs/new/")
        review_url = start.url.replace("/source/", "/review/")
        client.get(review_url)  # warm caches and templates
        timings = []
        for _ in range(REPEAT):
            with CaptureQueriesContext(connection) as queries:
                began = time.perf_counter()
                response = client.get(review_url)
                timings.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200 and response.content.count(b'class="review-row"') == ROWS
        print(f"Review step, {ROWS} rows, {REPEAT} requests on {connection.vendor}:")
        print(
            f"  median {statistics.median(timings):.0f} ms, best {min(timings):.0f} ms, "
            f"worst {max(timings):.0f} ms, {len(queries)} queries per request"
        )
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)


if __name__ == "__main__":
    main()
