"""Printing travelers (issue 21): 200 travelers of 30 steps in one PDF, and one traveler.

    bash bench/run bench/travelers.py      # ~1 minute

or against a server of your own (a test database is created there and dropped):

    DATABASE_URL=postgres://USER@HOST:PORT/ion_runs .venv/bin/python bench/travelers.py

One organisation; RUNS (200) runs made by `create_runs` in one batch, on a released version of
STEPS (30) steps with 3 fields each (number 1-20, sign-off, select of 3); the first 10 steps of
every run complete with their values (recorded by `complete_step` on the batch, so the PDF
prints values, sign-offs and blanks). Measured, REPEAT (5) times after one warm-up request each,
through the test client as a planner (export cleared, Planner group), the whole PDF read:

1. GET /runs/batches/<pk>/travelers.pdf: the RUNS travelers in one PDF;
2. GET /runs/<n>/traveler.pdf: one of them;
3. GET /runs/batches/<pk>/labels.pdf: a label per run, A4 sheets (not a target).

Targets (issue 21): 200 travelers of 30 steps in under 10 s; one traveler in under 300 ms.
Median, worst and best wall time are printed, the median CPU time of this process, the pages
and size of the PDF and the queries of the request.
"""

import datetime
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ion_runs.settings")
# The PDF itself is measured: in the app, a batch this large is made by a worker (a job), with
# the same code; here the view makes it in the request so the time is the PDF's alone.
os.environ["TRAVELERS_IN_BACKGROUND_ABOVE"] = "1000000"

import django

django.setup()

from django.db import connection, connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402

RUNS = int(os.environ.get("RUNS", "200"))
STEPS = int(os.environ.get("STEPS", "30"))
DONE = int(os.environ.get("DONE", "10"))
REPEAT = int(os.environ.get("REPEAT", "5"))
HEADER = (
    f"{'download (ms)':<32} {'median':>7} {'worst':>7} {'best':>7} {'CPU':>7} {'pages':>6} {'KB':>6} queries"
)
FINISH = {"position": 3, "label": "Finish", "type": "select", "options": ["Matte", "Gloss", "Satin"]}


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench/travelers.py needs DATABASE_URL pointing at PostgreSQL.")
    setup_test_environment()
    test_db = connection.creation.create_test_db(verbosity=0)
    try:
        print(f"PostgreSQL {connection.pg_version // 10000}, {os.cpu_count()} cores, load {load()}")
        began = time.perf_counter()
        planner, runs = populate()
        print(
            f"Made {RUNS} runs of {STEPS} steps × 3 fields, {DONE} steps of each complete, "
            f"in {time.perf_counter() - began:.0f} s.\n"
        )
        client = Client()
        client.force_login(planner)
        batch = runs[0].batch_id
        print(HEADER)
        print("-" * len(HEADER))
        measure(client, f"{RUNS} travelers, one PDF", reverse("runs:batch-travelers", args=[batch]))
        measure(client, "one traveler", reverse("runs:run-traveler", args=[runs[RUNS // 2].number]))
        measure(client, f"{RUNS} labels, A4", reverse("runs:batch-labels", args=[batch]))
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(test_db, verbosity=0)


def load() -> str:
    return " / ".join(f"{figure:.1f}" for figure in os.getloadavg())


def populate():
    from procedures.models import StepField
    from runs.models import RunStep
    from runs.services import RunRequest, complete_step, create_runs, start_step
    from tests import factories

    org = factories.OrganisationFactory(name="Bench Rockets")
    planner = factories.PlannerFactory(organisation=org, username="bench-planner", export_cleared=True)
    part = factories.PartFactory(organisation=org, number="BRKT-ASSY-001", description="Bracket assembly")
    version = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], title="Bracket build", steps=STEPS
    )
    StepField.objects.bulk_create(StepField(step=step, **FINISH) for step in version.steps.all())
    request = RunRequest(
        part_id=part.pk,
        procedure_version_id=version.pk,
        due_date=datetime.date.today() + datetime.timedelta(days=3),
        assigned_user_id=planner.pk,
    )
    runs = create_runs(user=planner, requests=[request] * RUNS, batch_name="Bench batch")
    # A step worked on one run of the batch is worked on all of them (SPEC §12).
    for position in range(1, DONE + 1):
        start_step(actor=planner, step=RunStep.objects.get(run=runs[0], position=position))
        values = {1: f"{10 + position % 7}.{position % 10}", 2: True, 3: FINISH["options"][position % 3]}
        complete_step(actor=planner, step=RunStep.objects.get(run=runs[0], position=position), values=values)
    return planner, runs


def measure(client: Client, label: str, url: str) -> None:
    import pypdf

    def download() -> bytes:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return b"".join(response.streaming_content)

    download()
    walls, cpus = [], []
    for _ in range(REPEAT):
        wall, cpu = time.perf_counter(), time.process_time()
        with CaptureQueriesContext(connection) as queries:
            content = download()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    pages = len(pypdf.PdfReader(io.BytesIO(content)).pages)
    print(
        f"{label:<32} {statistics.median(walls):7.0f} {max(walls):7.0f} {min(walls):7.0f} "
        f"{statistics.median(cpus):7.0f} {pages:6} {len(content) // 1024:6} {len(queries):7}"
    )


if __name__ == "__main__":
    main()
