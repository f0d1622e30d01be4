"""Executing a step across a batch (issue 19): one action reaching every open run of the batch.

    bash bench/run bench/batch_steps.py      # ~1.5 minutes

or against a server of your own (a test database is created there and dropped):

    DATABASE_URL=postgres://USER@HOST:PORT/ion_runs .venv/bin/python bench/batch_steps.py

Background, so the tables are not empty: one organisation of RUNS (100,000) runs with their
units and "created" events, the oldest STEPPED (3,000) with 30 steps x 3 fields, their first
steps complete with values and history, made by the `INSERT … SELECT generate_series`
statements of bench/execute_steps.py (indexes dropped for the load and made again), and 2,000
batches of 20 of the procedure-less runs.

Measured: batches of N runs for N in BATCHES (10, 100, 500), each made by `create_runs(...,
batch_name=...)` on a released procedure version of 30 steps whose step 1 has 5 fields (number
1-20, sign-off, text of at most 60 characters, yes/no, select), every run assigned to an
operator (Operator group, not export cleared), who works them. For each N, REPEAT (5) fresh
batches, and on each:

1. `start_step` of step 1 on the first run: it starts step 1 of every run of the batch;
2. `record_values` of one value (field 1) on a run in the middle of the batch: reaches all N;
3. `complete_step` with the 5 values on that run: completes step 1 of all N, with the values.

Each is one call, the actor and the step read anew before it (as a request has them). Checked
after each batch: all N runs reached (`outcome.reached` has the N - 1 others, `not_reached` is
empty), step 1 complete on every run with its 5 values.

Target (issue 19): completing a step with 5 values on a batch of 500 runs in under 1 s, in a
number of queries that does not grow with the batch size. Printed: wall ms (median, worst and
best of REPEAT), the median CPU time of this process (the Django side), the median time of the
SQL statements as Django timed them (execution and fetching, the commit included), the queries
and how many runs each call reached. SLOWEST=1 prints the slowest statements of the last call
of each action at the largest N; PROFILE=1 a cProfile of one more `complete_step` on a batch of
the largest N. KEEPDB=1 keeps the test database (the background is then reused); VERBOSE=1
times each generating statement.
"""

import cProfile
import os
import pstats
import statistics
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ion_runs.settings")

import django  # noqa: E402

django.setup()

# The background data's statements and the quick-load helper are execute_steps.py's.
import execute_steps  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402
from execute_steps import BULK_TABLES, SQL, Bench, bulk_load, load  # noqa: E402

RUNS = int(os.environ.get("RUNS", "100000"))
STEPPED = int(os.environ.get("STEPPED", "3000"))
BATCHES = [int(n) for n in os.environ.get("BATCHES", "10,100,500").replace(" ", "").split(",") if n]
REPEAT = int(os.environ.get("REPEAT", "5"))
KEEPDB = os.environ.get("KEEPDB") == "1"
SLOWEST = os.environ.get("SLOWEST") == "1"
PROFILE = os.environ.get("PROFILE") == "1"
VERBOSE = os.environ.get("VERBOSE") == "1"
STEPS = 30
PARTS = 5000
BACKGROUND_BATCHES, BACKGROUND_BATCH_SIZE = 2000, 20
TARGET_MS = 1000

# Step 1's fields 3-5; 1 "Torque (Nm)" (number 1-20, required) and 2 "Inspector" (sign-off)
# are the factory's, on every step.
STEP1_FIELDS = [
    {"position": 3, "label": "Note", "type": "text", "max_length": 60},
    {"position": 4, "label": "Visual OK", "type": "boolean", "required": True},
    {
        "position": 5,
        "label": "Finish",
        "type": "select",
        "options": ["Matte", "Gloss", "Satin"],
        "required": True,
    },
]


def five_values(i: int) -> dict:
    """Values for step 1's 5 fields as the step form cleans them (by position); `i` varies them."""
    return {
        1: f"{5 + i % 10}.{i % 10}",
        2: True,
        3: f"Torqued to spec, batch pass {i}",
        4: True,
        5: ["Matte", "Gloss", "Satin"][i % 3],
    }


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench/batch_steps.py needs DATABASE_URL pointing at PostgreSQL.")
    setup_test_environment()
    started = time.perf_counter()
    test_db = connection.creation.create_test_db(verbosity=0, keepdb=KEEPDB)
    try:
        from ion_runs.accounts.models import User

        print(f"PostgreSQL {connection.pg_version // 10000}, {os.cpu_count()} cores, load {load()}")
        if KEEPDB and User.objects.filter(username="bench-operator").exists():
            print(f"Reusing the generated data in {test_db}.")
            bench = reuse()
        else:
            began = time.perf_counter()
            bench = populate()
            print(f"(migrations and test database: {began - started:.0f} s)")
            print(
                f"Generated {RUNS:,} background runs ({STEPPED:,} with {STEPS} steps × 3 fields, "
                f"{BACKGROUND_BATCHES:,} batches of {BACKGROUND_BATCH_SIZE}, {bench.events:,} events) "
                f"in {time.perf_counter() - began:.0f} s."
            )
        measure(bench)
        if PROFILE:
            profile(bench)
    finally:
        connections.close_all()
        if not KEEPDB:
            connection.creation.destroy_test_db(test_db, verbosity=0)


# --------------------------------------------------------------------------------------------
# Data


def populate() -> Bench:
    # The bench's 20 people need no slow password hashes.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        return _populate()


def _populate() -> Bench:
    from procedures.models import StepField
    from tests import factories

    org = factories.OrganisationFactory(name="Bench Rockets")
    planner = factories.PlannerFactory(organisation=org, username="bench-planner", export_cleared=True)
    operator = factories.OperatorFactory(organisation=org, username="bench-operator")
    others = [factories.OperatorFactory(organisation=org, username=f"bench-op-{i}") for i in range(18)]
    team = factories.TeamFactory(organisation=org, name="Cell 0")
    team.members.add(operator, planner, *others[:6])
    factories.RunAttributeDefinitionFactory(organisation=org, key="customer", label="Customer")
    part = factories.PartFactory(organisation=org, number="BRKT-ASSY-001", description="Bracket assembly")
    version = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], title="Bracket batch build", steps=STEPS
    )
    StepField.objects.bulk_create(
        StepField(step=version.steps.get(position=1), **spec) for spec in STEP1_FIELDS
    )
    bench = Bench(org, planner, operator, part, version, version, version)
    params = {
        "org": org.pk,
        "runs": RUNS,
        "stepped": STEPPED,
        "steps": STEPS,
        "parts": PARTS,
        "version": version.pk,
        "people": [u.pk for u in [planner, operator, *others]],
        "people_count": 2 + len(others),
        "team": team.pk,
        "creator": planner.pk,
        "now": timezone.now(),
        "today": timezone.localdate(),
        "batches": BACKGROUND_BATCHES,
        "batch_size": BACKGROUND_BATCH_SIZE,
    }
    with connection.cursor() as cursor, bulk_load(cursor, BULK_TABLES):
        for statement in [*SQL, *BATCH_SQL]:
            began = time.perf_counter()
            cursor.execute(statement, params)
            if VERBOSE:
                print(f"  {time.perf_counter() - began:5.1f} s  {' '.join(statement.split())[:90]}")
    from runs.models import RunBatch

    began = time.perf_counter()
    # A batch holding an export-controlled run is controlled (it names its name's scope).
    RunBatch.objects.sync_export_control()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("SELECT count(*) FROM runs_runevent")
        (bench.events,) = cursor.fetchone()
        cursor.execute("SELECT count(batch_id), count(DISTINCT batch_id) FROM runs_run")
        batched = min(BACKGROUND_BATCHES * BACKGROUND_BATCH_SIZE, max(RUNS - STEPPED, 0))
        assert cursor.fetchone() == (batched, -(-batched // BACKGROUND_BATCH_SIZE)), "background batches"
    if VERBOSE:
        print(f"  {time.perf_counter() - began:5.1f} s  VACUUM ANALYZE")
    return bench


def reuse() -> Bench:
    from inventory.models import Part
    from ion_runs.accounts.models import User
    from procedures.models import ProcedureVersion

    planner, operator = (User.objects.get(username=f"bench-{who}") for who in ("planner", "operator"))
    org = planner.organisation
    version = ProcedureVersion.objects.get(organisation=org, title="Bracket batch build")
    part = Part.objects.get(organisation=org, number="BRKT-ASSY-001")
    return Bench(org, planner, operator, part, version, version, version)


# Background batches: BACKGROUND_BATCHES of BACKGROUND_BATCH_SIZE runs each, among the runs
# without a procedure (a batch's runs share their version).
BATCH_SQL = [
    """
    INSERT INTO runs_runbatch (organisation_id, name, created_by_id, created_at, export_controlled)
    SELECT %(org)s, 'Background batch ' || g, %(creator)s, %(now)s - g * interval '1 hour', false
    FROM generate_series(1, %(batches)s) g
    """,
    # The batches' ids are consecutive: one INSERT made them.
    """
    UPDATE runs_run r SET batch_id = (r.number - %(stepped)s - 1) / %(batch_size)s + (
        SELECT min(id) FROM runs_runbatch WHERE organisation_id = %(org)s AND name LIKE 'Background batch %%')
    WHERE r.organisation_id = %(org)s AND r.number > %(stepped)s
      AND r.number <= %(stepped)s + %(batches)s * %(batch_size)s
    """,
]


def make_batch(bench: Bench, size: int) -> list:
    """A fresh batch of `size` runs by create_runs, assigned to the operator."""
    from runs.services import RunRequest, create_runs

    request = RunRequest(
        part_id=bench.part.pk,
        procedure_version_id=bench.version10.pk,
        assigned_user_id=bench.operator.pk,
        attributes={"customer": "Globex"},
    )
    name = f"Bench {size} {uuid.uuid4().hex[:8]}"
    return create_runs(user=bench.planner, requests=[request] * size, batch_name=name)


# --------------------------------------------------------------------------------------------
# Measuring


class Sample:
    def __init__(self, wall: float, cpu: float, sql: float, queries: int, reached: int, captured):
        self.wall, self.cpu, self.sql, self.queries, self.reached = wall, cpu, sql, queries, reached
        self.captured = captured


def timed(work) -> Sample:
    """One call: wall and CPU time of this process, SQL time as Django timed it, queries, runs reached."""
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as queries:
        began, began_cpu = time.perf_counter(), time.process_time()
        outcome = work()
        wall = (time.perf_counter() - began) * 1000
        cpu = (time.process_time() - began_cpu) * 1000
    sql = sum(float(q["time"]) for q in queries.captured_queries) * 1000
    reached = 1 + len(outcome.reached)
    assert not outcome.not_reached, outcome.message[:500]
    return Sample(wall, cpu, sql, len(queries), reached, queries.captured_queries)


def measure(bench: Bench) -> None:
    from runs.models import Run, RunStepField
    from runs.models.steps import StepStatus
    from runs.services import complete_step, record_values, start_step

    operator = bench.operator
    results = {}  # (action, N) -> [Sample]
    for size in BATCHES:
        began = time.perf_counter()
        for rep in range(REPEAT):
            t = time.perf_counter()
            runs = make_batch(bench, size)
            created = (time.perf_counter() - t) * 1000
            results.setdefault(("create_runs (not a target)", size), []).append(
                Sample(created, 0, 0, 0, size, [])
            )
            middle = runs[size // 2]

            actor, step = Bench.fresh(operator), Bench.step(runs[0], 1)
            results.setdefault(("start_step", size), []).append(
                timed(lambda a=actor, s=step: start_step(actor=a, step=s))
            )
            actor, step = Bench.fresh(operator), Bench.step(middle, 1)
            values = {1: f"{3 + rep % 9}.25"}
            results.setdefault(("record_values, 1 value", size), []).append(
                timed(lambda a=actor, s=step, v=values: record_values(actor=a, step=s, values=v))
            )
            actor, step, values = Bench.fresh(operator), Bench.step(middle, 1), five_values(rep)
            results.setdefault(("complete_step, 5 values", size), []).append(
                timed(lambda a=actor, s=step, v=values: complete_step(actor=a, step=s, values=v))
            )

            # Every run of the batch got it.
            batch_runs = Run.objects.filter(batch_id=middle.batch_id)
            assert batch_runs.count() == size
            complete = batch_runs.filter(steps__position=1, steps__status=StepStatus.COMPLETE).count()
            assert complete == size, (size, complete)
            filled = RunStepField.objects.filter(
                run_step__run__batch_id=middle.batch_id, run_step__position=1, value__isnull=False
            ).count()
            assert filled == 5 * size, (size, filled)
            assert set(batch_runs.values_list("status", flat=True)) == {"in_progress"}
        print(f"  batches of {size}: {REPEAT} made and worked in {time.perf_counter() - began:.1f} s")

    print()
    print(
        f"Batches of N runs, 30 steps, step 1 with 5 fields; {REPEAT} fresh batches per N (load {load()}).\n"
        "Wall ms per call (median, worst, best), CPU ms of this process and SQL ms (medians), "
        "queries, runs reached:"
    )
    header = ["action", "N", "median", "worst", "best", "CPU", "SQL", "queries", "reached"]
    rows = []
    actions = [
        "start_step",
        "record_values, 1 value",
        "complete_step, 5 values",
        "create_runs (not a target)",
    ]
    for action in actions:
        for size in BATCHES:
            samples = results[(action, size)]
            walls = sorted(s.wall for s in samples)
            timed_call = not action.startswith("create_runs")
            rows.append(
                [
                    action,
                    f"{size:,}",
                    f"{statistics.median(walls):.1f}",
                    f"{walls[-1]:.1f}",
                    f"{walls[0]:.1f}",
                    f"{statistics.median(s.cpu for s in samples):.1f}" if timed_call else "",
                    f"{statistics.median(s.sql for s in samples):.1f}" if timed_call else "",
                    ", ".join(str(q) for q in sorted({s.queries for s in samples})) if timed_call else "",
                    ", ".join(f"{r:,}" for r in sorted({s.reached for s in samples})),
                ]
            )
    print_table(header, rows)

    largest = max(BATCHES)
    complete = results[("complete_step, 5 values", largest)]
    median = statistics.median(s.wall for s in complete)
    counts = {size: {s.queries for s in results[("complete_step, 5 values", size)]} for size in BATCHES}
    fixed = len({q for qs in counts.values() for q in qs}) == 1
    print(
        f"Target: complete_step with 5 values on a batch of {largest:,} runs under {TARGET_MS} ms: "
        f"median {median:.0f} ms, worst {max(s.wall for s in complete):.0f} ms — "
        f"{'met' if median < TARGET_MS else 'NOT met'}; queries "
        f"{'the same for every N' if fixed else 'grow with N: ' + str(counts)}."
    )
    if SLOWEST:
        for action in actions[:3]:
            print_slowest(f"{action}, N = {largest:,}", results[(action, largest)][-1].captured)


def print_table(header: list[str], rows: list[list[str]]) -> None:
    rows = [header, *rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows[1:]]:
        print(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    print()


def print_slowest(label: str, captured: list[dict]) -> None:
    total = sum(float(q["time"]) for q in captured) * 1000
    print(f"\nSlowest statements of {label} ({len(captured)} statements, {total:.1f} ms):")
    for query in sorted(captured, key=lambda q: -float(q["time"]))[:8]:
        sql = " ".join(query["sql"].split())
        print(f"  {float(query['time']) * 1000:7.1f} ms  {len(query['sql']):>7,} chars  {sql[:160]}")


def profile(bench: Bench) -> None:
    from runs.services import complete_step, start_step

    size = max(BATCHES)
    runs = make_batch(bench, size)
    start_step(actor=Bench.fresh(bench.operator), step=Bench.step(runs[0], 1))
    actor, step = Bench.fresh(bench.operator), Bench.step(runs[size // 2], 1)
    profiler = cProfile.Profile()
    profiler.enable()
    complete_step(actor=actor, step=step, values=five_values(99))
    profiler.disable()
    print(f"\ncProfile of complete_step, 5 values, batch of {size:,} (cumulative, top 30):")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    assert execute_steps.STEPS == STEPS
    main()
