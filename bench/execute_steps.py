"""Executing steps at scale (issue 18): completing a step, saving a value, the run page.

    bash bench/run bench/execute_steps.py      # ~2.5 minutes, ~1 of them generating the data

or against a server of your own (a test database is created there and dropped):

    DATABASE_URL=postgres://USER@HOST:PORT/ion_runs .venv/bin/python bench/execute_steps.py

One organisation of RUNS (1,000,000) runs made by `INSERT … SELECT generate_series`, each with
its unit and its "created" event; the oldest STEPPED (3,000) of them have 30 steps x 3 fields,
their first steps complete with values, and the history that gave (~220,000 more events). The
runs measured are made by `create_runs` and worked by the services themselves, all assigned
to an operator (Operator group, not export cleared):

1. Completing a step of 10 fields with its 10 values in the same call (`complete_step`), of
   runs of 30 steps: the service alone, then through the run page (POST …/complete/, without
   and with htmx). Saving one value on a step in progress (`record_values`): the service, the
   page's Save (POST …/save/) and the API's PUT …/fields/1. Each sample is one call, REPEAT
   (50) of them; the actor and step are read before each call, as a request has them. The
   queries of each are listed for a step of 10 fields and for one of 2 fields of a 3-step run,
   and must be the same.
2. GET /runs/<n>/ as the operator: a run of 30 steps x 3 fields, 20 steps complete with their
   values, step 21 in progress with 2 values saved, 105 events; REPEAT requests after one to
   warm up. Also the planner's view of it, a complete run of 30 steps x 10 fields (363 events,
   200 shown) and a run of 30 steps x 10 fields with step 1 in progress.

Targets (issue 18): each action under 50 ms, its queries fixed; the run page under 100 ms at
1,000,000 runs. Median, 95th percentile (nearest rank) and best are printed. RUNS, STEPPED,
REPEAT scale it. Beside wall time, the median CPU time of this process (the Django side, without
PostgreSQL's): on a shared machine wall time swells with the others' load, CPU time much less.
KEEPDB=1 keeps the test database for EXPLAIN (the runs worked are made anew each time);
SLOWEST=1 prints the slowest queries of each run page; VERBOSE=1 times each generating statement.
"""

import contextlib
import datetime
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ion_runs.settings")

import django

django.setup()

from django.db import connection, connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

RUNS = int(os.environ.get("RUNS", "1000000"))
STEPPED = int(os.environ.get("STEPPED", "3000"))
REPEAT = int(os.environ.get("REPEAT", "50"))
KEEPDB = os.environ.get("KEEPDB") == "1"
SLOWEST = os.environ.get("SLOWEST") == "1"
VERBOSE = os.environ.get("VERBOSE") == "1"
STEPS = 30
PARTS = 5000
PAGE_DONE = 20  # steps of the page's run that are complete; the next is in progress


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench/execute_steps.py needs DATABASE_URL pointing at PostgreSQL.")
    setup_test_environment()
    started = time.perf_counter()
    test_db = connection.creation.create_test_db(verbosity=0, keepdb=KEEPDB)
    try:
        from ion_runs.accounts.models import User

        print(f"PostgreSQL {connection.pg_version // 10000}, {os.cpu_count()} cores, load {load()}")
        if KEEPDB and User.objects.filter(username="bench-operator").exists():
            print(f"Reusing the generated data in {test_db}.")
            bench = Bench.reuse()
        else:
            began = time.perf_counter()
            bench = Bench.populate()
            print(f"(migrations and test database: {began - started:.0f} s)")
            print(
                f"Generated {RUNS:,} runs ({STEPPED:,} with {STEPS} steps × 3 fields, "
                f"{bench.events:,} events) in {time.perf_counter() - began:.0f} s."
            )
        began = time.perf_counter()
        bench.make_worked_runs()
        print(f"Made and worked the measured runs in {time.perf_counter() - began:.0f} s.\n")
        measure_actions(bench)
        measure_page(bench)
    finally:
        connections.close_all()
        if not KEEPDB:
            connection.creation.destroy_test_db(test_db, verbosity=0)


def load() -> str:
    return " / ".join(f"{figure:.1f}" for figure in os.getloadavg())


# --------------------------------------------------------------------------------------------
# Data


class Bench:
    """The organisation, its people and procedures, and the runs measured."""

    def __init__(self, org, planner, operator, part, version10, version3, version_small):
        self.org, self.planner, self.operator, self.part = org, planner, operator, part
        self.version10, self.version3, self.version_small = version10, version3, version_small
        self.events = 0

    @classmethod
    def populate(cls) -> "Bench":
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

        def version(title, steps):
            return factories.ReleasedVersionFactory(
                procedure__organisation=org, parts=[part], title=title, steps=steps
            )

        # Each step has the factory's fields 1 "Torque (Nm)" (number 1-20, required) and 2
        # "Inspector" (sign-off); these add the rest.
        version10 = version("Bracket build, 10 fields a step", STEPS)
        StepField.objects.bulk_create(
            StepField(step=step, position=position, **spec)
            for step in version10.steps.all()
            for position, spec in enumerate(TEN_FIELDS[2:], start=3)
        )
        version3 = version("Bracket build", STEPS)
        StepField.objects.bulk_create(StepField(step=step, **FINISH) for step in version3.steps.all())
        version_small = version("Bracket touch-up", 3)
        bench = cls(org, planner, operator, part, version10, version3, version_small)
        params = {
            "org": org.pk,
            "runs": RUNS,
            "stepped": STEPPED,
            "steps": STEPS,
            "parts": PARTS,
            "version": version3.pk,
            "people": [u.pk for u in [planner, operator, *others]],
            "people_count": 2 + len(others),
            "team": team.pk,
            "creator": planner.pk,
            "now": timezone.now(),
            "today": timezone.localdate(),
        }
        with connection.cursor() as cursor, bulk_load(cursor, BULK_TABLES):
            for statement in SQL:
                began = time.perf_counter()
                cursor.execute(statement, params)
                if VERBOSE:
                    print(f"  {time.perf_counter() - began:5.1f} s  {' '.join(statement.split())[:90]}")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
            cursor.execute("SELECT count(*) FROM runs_runevent")
            (bench.events,) = cursor.fetchone()
        return bench

    @classmethod
    def reuse(cls) -> "Bench":
        from inventory.models import Part
        from ion_runs.accounts.models import User
        from procedures.models import ProcedureVersion

        planner, operator = (User.objects.get(username=f"bench-{who}") for who in ("planner", "operator"))
        versions = ProcedureVersion.objects.filter(organisation=planner.organisation)
        return cls(
            planner.organisation,
            planner,
            operator,
            Part.objects.get(organisation=planner.organisation, number="BRKT-ASSY-001"),
            versions.get(title__endswith="10 fields a step"),
            versions.get(title="Bracket build"),
            versions.get(title="Bracket touch-up"),
        )

    def create(self, version, count: int) -> list:
        from runs.services import RunRequest, create_runs

        request = RunRequest(
            part_id=self.part.pk,
            procedure_version_id=version.pk,
            due_date=timezone.localdate() + datetime.timedelta(days=3),
            assigned_user_id=self.operator.pk,
            attributes={"customer": "Globex"},
        )
        return create_runs(user=self.planner, requests=[request] * count)

    def make_worked_runs(self) -> None:
        """The runs the actions work on, and the run page's run, worked by the services."""
        from runs.services import complete_step, record_values, start_step

        per_kind = math.ceil(REPEAT / (STEPS - 1))
        runs = self.create(self.version10, 3 * per_kind + 1)
        self.complete_runs = {
            "service": runs[:per_kind],
            "post": runs[per_kind : 2 * per_kind],
            "htmx": runs[2 * per_kind : 3 * per_kind],
        }
        # Values are saved again and again on step 1 of this run.
        self.save_run = runs[-1]
        start_step(actor=self.operator, step=self.step(self.save_run, 1))
        self.small_run = self.create(self.version_small, 1)[0]
        self.page_run = self.create(self.version3, 1)[0]
        for position in range(1, PAGE_DONE + 2):
            step = self.step(self.page_run, position)
            start_step(actor=self.fresh(self.operator), step=step)
            values = {1: f"{10 + position % 7}.{position % 10}", 2: True, 3: FINISH["options"][position % 3]}
            actor, step = self.fresh(self.operator), self.step(self.page_run, position)
            if position <= PAGE_DONE:
                complete_step(actor=actor, step=step, values=values)
            else:
                values.pop(2)
                record_values(actor=actor, step=step, values=values)
        self.page_events = self.page_run.events.count()

    @staticmethod
    def fresh(user):
        """The user as a request has them: read anew, permissions not yet cached."""
        return type(user).objects.get(pk=user.pk)

    @staticmethod
    def step(run, position: int):
        """The step as the run page's view has it: from the run read with its related rows."""
        from runs.models import Run, RunStep

        related = ["part", "procedure_version", "part_inventory", "assigned_user", "assigned_team"]
        run = Run.objects.select_related(*related, "batch", "created_by").get(pk=run.pk)
        step = RunStep.objects.get(run=run, position=position)
        step.run = run
        return step


# The big tables: their indexes are built after the rows are in rather than kept up row by row.
BULK_TABLES = ["inventory_partinventory", "runs_run", "runs_runevent"]


@contextlib.contextmanager
def bulk_load(cursor, tables: list[str]):
    """Load rows the quick way: without the tables' indexes, and foreign keys unchecked.

    The indexes that no constraint owns are dropped and made again afterwards from their own
    definitions (the GIN trigram index on run names alone halves the insert of the runs).
    As a superuser (bench/run's cluster), foreign keys are not checked row by row either
    (`session_replication_role = replica`): the rows refer to what the same statements made.
    """
    cursor.execute(
        """
        SELECT indexname, indexdef FROM pg_indexes i
        WHERE schemaname = current_schema() AND tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        """,
        [tables],
    )
    indexes = cursor.fetchall()
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    (superuser,) = cursor.fetchone()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    if superuser:
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        if superuser:
            cursor.execute("SET session_replication_role = DEFAULT")
        began = time.perf_counter()
        for _, definition in indexes:
            cursor.execute(definition)
        if VERBOSE:
            print(f"  {time.perf_counter() - began:5.1f} s  {len(indexes)} indexes made again")


# Fields 3 to 10 of a step of `version10` (1 and 2 are the factory's number and sign-off).
TEN_FIELDS = [
    None,
    None,
    {"label": "Preload (kN)", "type": "number", "required": True, "min_value": 0, "max_value": 100},
    {"label": "Note", "type": "text", "max_length": 40},
    {"label": "Fixture", "type": "text", "pattern": r"[A-Z]{2}-\d{4}", "required": True},
    {"label": "Finish", "type": "select", "options": ["Matte", "Gloss", "Satin"], "required": True},
    {"label": "Checks", "type": "multiselect", "options": ["Cleaned", "Deburred", "Marked"]},
    {"label": "Visual OK", "type": "boolean", "required": True},
    {"label": "Cured at", "type": "datetime"},
    {"label": "Gap (mm)", "type": "number"},
]
FINISH = {"position": 3, "label": "Finish", "type": "select", "options": ["Matte", "Gloss", "Satin"]}


def ten_values(i: int) -> dict:
    """Values for the 10 fields, as the step form cleans them (by field position); `i` varies them."""
    return {
        1: f"{5 + i % 10}.{i % 10}",
        2: True,
        3: str(40 + i % 50),
        4: f"Torqued, pass {i}",
        5: f"AB-{1000 + i % 9000}",
        6: ["Matte", "Gloss", "Satin"][i % 3],
        7: ["Cleaned", "Deburred"],
        8: True,
        9: timezone.now().replace(second=0, microsecond=0),
        10: f"0.{10 + i % 80}",
    }


def ten_posted(i: int) -> dict:
    """The same values as the step form posts them."""
    values = ten_values(i)
    return {
        "field-1": values[1],
        "field-2": "on",
        "field-3": values[3],
        "field-4": values[4],
        "field-5": values[5],
        "field-6": values[6],
        "field-7": values[7],
        "field-8": "yes",
        "field-9": timezone.localtime(values[9]).strftime("%Y-%m-%dT%H:%M"),
        "field-10": values[10],
    }


# Every row of a kind comes from one INSERT … SELECT over generate_series: no Python loop.
SQL = [
    """
    INSERT INTO inventory_part (organisation_id, number, revision, description, tracking_type,
                                export_controlled, serial_pattern, lot_pattern)
    SELECT %(org)s, 'PN-' || lpad(g::text, 6, '0'), 'A', 'Bench part ' || g,
           CASE WHEN g %% 10 = 0 THEN 'lot' ELSE 'serial' END, g %% 20 = 0, '', ''
    FROM generate_series(1, %(parts)s) g
    """,
    """
    INSERT INTO inventory_partinventory (organisation_id, part_id, serial_number, lot_number, quantity,
                                         location, status, created_at)
    SELECT %(org)s, parts.ids[1 + g %% %(parts)s],
           CASE WHEN g %% 10 = 0 THEN '' ELSE 'SN-' || lpad(g::text, 7, '0') END,
           CASE WHEN g %% 10 = 0 THEN 'LOT-' || lpad(g::text, 7, '0') ELSE '' END,
           CASE WHEN g %% 10 = 0 THEN 25 ELSE 1 END, 'Line 1',
           CASE WHEN (g * 31) %% 20 BETWEEN 10 AND 17 THEN 'available' ELSE 'in_build' END, %(now)s
    FROM generate_series(1, %(runs)s) g,
         (SELECT array_agg(id ORDER BY id) ids FROM inventory_part
          WHERE organisation_id = %(org)s AND number LIKE 'PN-%%') parts
    """,
    # Numbers 1 … RUNS; 40 %% assigned to a person, 30 %% to the team, 30 %% in the pool; the
    # oldest STEPPED runs are on the 30-step procedure, the rest have none; ~10 %% export
    # controlled; statuses mixed as in bench/work_pages.py.
    """
    INSERT INTO runs_run (organisation_id, number, name, part_id, procedure_version_id, source,
                          part_inventory_id, tracking_type, due_date, export_controlled,
                          assigned_user_id, assigned_team_id, attributes, status,
                          created_by_id, created_at)
    SELECT %(org)s, g,
           'Run ' || g || ': ' || p.number || ' · ' || coalesce(nullif(i.serial_number, ''), i.lot_number),
           p.id, CASE WHEN g <= %(stepped)s THEN %(version)s END, 'build', i.id, p.tracking_type,
           CASE WHEN g %% 10 = 3 THEN NULL ELSE %(today)s::date + ((g * 7919) %% 361 - 180)::int END,
           p.export_controlled OR g %% 20 = 7,
           CASE WHEN g %% 10 < 4 THEN (%(people)s::bigint[])[1 + (g / 10) %% %(people_count)s] END,
           CASE WHEN g %% 10 BETWEEN 4 AND 6 THEN %(team)s END,
           CASE WHEN g %% 3 = 0 THEN '{"customer": "Globex"}'::jsonb ELSE '{}'::jsonb END,
           (ARRAY['todo','todo','todo','todo','todo','todo','in_progress','in_progress','in_progress',
                  'hold','complete','complete','complete','complete','complete','complete','complete',
                  'complete','canceled','todo'])[1 + (g * 31) %% 20],
           %(creator)s, %(now)s - (%(runs)s - g) * interval '1 minute'
    FROM (SELECT id, part_id, serial_number, lot_number, row_number() OVER (ORDER BY id) g
          FROM inventory_partinventory WHERE organisation_id = %(org)s) i
    JOIN inventory_part p ON p.id = i.part_id
    """,
    """
    INSERT INTO runs_runevent (run_id, kind, actor_id, at, before, after, reason, batch_id, creation_token)
    SELECT r.id, 'created', r.created_by_id, r.created_at, '', '', '', NULL, NULL
    FROM runs_run r WHERE r.organisation_id = %(org)s ORDER BY r.id
    """,
    # Steps of the oldest runs: the first (number %% 31) complete, by the run's assignee or
    # the creator, a minute apart; the rest to do.
    """
    INSERT INTO runs_runstep (run_id, position, title, instructions, status, started_at, started_by_id,
                              finished_at, finished_by_id)
    SELECT r.id, s, 'Step ' || s, 'Do step ' || s || '.',
           CASE WHEN s <= r.number %% 31 THEN 'complete' ELSE 'todo' END,
           CASE WHEN s <= r.number %% 31 THEN r.created_at + s * interval '1 minute' END,
           CASE WHEN s <= r.number %% 31 THEN coalesce(r.assigned_user_id, r.created_by_id) END,
           CASE WHEN s <= r.number %% 31 THEN r.created_at + s * interval '1 minute' + interval '30 s' END,
           CASE WHEN s <= r.number %% 31 THEN coalesce(r.assigned_user_id, r.created_by_id) END
    FROM runs_run r CROSS JOIN generate_series(1, %(steps)s) s
    WHERE r.organisation_id = %(org)s AND r.number <= %(stepped)s
    ORDER BY r.id, s
    """,
    """
    INSERT INTO runs_runstepfield (run_step_id, position, label, type, required, min_value, max_value,
                                   max_length, pattern, options, value, recorded_by_id, recorded_at)
    SELECT s.id, f, (ARRAY['Torque (Nm)', 'Inspector', 'Finish'])[f],
           (ARRAY['number', 'signoff', 'select'])[f], f = 1,
           CASE WHEN f = 1 THEN 1 END, CASE WHEN f = 1 THEN 20 END, NULL, '',
           CASE WHEN f = 3 THEN '["Matte", "Gloss", "Satin"]'::jsonb ELSE '[]'::jsonb END,
           CASE WHEN s.status = 'complete' THEN
                (ARRAY[to_jsonb((10 + s.position %% 7)::text), 'true'::jsonb, '"Gloss"'::jsonb])[f] END,
           CASE WHEN s.status = 'complete' THEN s.finished_by_id END,
           CASE WHEN s.status = 'complete' THEN s.started_at + interval '20 s' END
    FROM runs_runstep s JOIN runs_run r ON r.id = s.run_id CROSS JOIN generate_series(1, 3) f
    WHERE r.organisation_id = %(org)s AND r.number <= %(stepped)s
    ORDER BY s.id, f
    """,
    # Their history: started, three values, completed, for each complete step.
    """
    INSERT INTO runs_runevent (run_id, kind, actor_id, at, before, after, reason, step_id, field_label)
    SELECT s.run_id, e.kind, s.finished_by_id, s.started_at + e.after_start, '', e.after, '', s.id, e.label
    FROM runs_runstep s JOIN runs_run r ON r.id = s.run_id
    CROSS JOIN (VALUES (1, 'step_started', interval '0 s', 'in_progress', ''),
                       (2, 'value_recorded', interval '20 s', '12', 'Torque (Nm)'),
                       (3, 'signed_off', interval '20 s', 'Signed', 'Inspector'),
                       (4, 'value_recorded', interval '20 s', 'Gloss', 'Finish'),
                       (5, 'step_completed', interval '30 s', 'complete', ''))
         e(n, kind, after_start, after, label)
    WHERE r.organisation_id = %(org)s AND r.number <= %(stepped)s AND s.status = 'complete'
    ORDER BY s.id, e.n
    """,
    # create_runs numbers the measured runs after these.
    """
    INSERT INTO accounts_counter (organisation_id, key, value) VALUES (%(org)s, 'run', %(runs)s)
    ON CONFLICT (organisation_id, key) DO UPDATE SET value = excluded.value
    """,
]


# --------------------------------------------------------------------------------------------
# Measuring


def summary(samples: list[float]) -> tuple[float, float, float]:
    """Median, 95th percentile (nearest rank) and best, in ms."""
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[math.ceil(0.95 * len(ordered)) - 1], ordered[0]


class Sample(float):
    """A call's wall time in ms, with this process's CPU time in ms (`cpu`) and its queries."""

    cpu: float
    queries: int


def call(work) -> Sample:
    """Time one call: wall time, CPU time of this process (the Django side) and queries."""
    # The log keeps the last 9,000 queries only: once full, a capture would count none.
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as queries:
        began, began_cpu = time.perf_counter(), time.process_time()
        work()
        sample = Sample((time.perf_counter() - began) * 1000)
        sample.cpu = (time.process_time() - began_cpu) * 1000
    sample.queries = len(queries)
    return sample


class Table:
    def __init__(self, title: str, header: list[str]):
        self.title, self.header, self.rows = title, header, []

    def add(self, label: str, samples: list[Sample], extra: str = "") -> None:
        median, p95, best = summary(samples)
        cpu = statistics.median(sample.cpu for sample in samples)
        queries = ", ".join(str(q) for q in sorted({sample.queries for sample in samples}))
        cells = [f"{median:.1f}", f"{p95:.1f}", f"{best:.1f}", f"{cpu:.1f}", queries]
        self.rows.append([label, str(len(samples)), *cells, extra])

    def print(self) -> None:
        print(self.title)
        rows = [self.header, *self.rows]
        widths = [max(len(row[i]) for row in rows) for i in range(len(self.header))]
        for row in [self.header, ["-" * w for w in widths], *self.rows]:
            print(
                "  ".join(
                    cell.ljust(w) if i in (0, len(widths) - 1) else cell.rjust(w)
                    for i, (cell, w) in enumerate(zip(row, widths, strict=True))
                ).rstrip()
            )
        print()


def measure_actions(bench: Bench) -> None:
    from ion_runs.accounts.models import ApiToken
    from runs.models import RunStep, RunStepField, StepStatus
    from runs.services import complete_step, record_values, start_step

    operator = bench.operator
    table = Table(
        f"1. Actions on runs of {STEPS} steps × 10 fields (load {load()}): wall ms per call (median, p95, "
        "best), CPU ms of this process (median) and queries per call",
        ["action", "calls", "median", "p95", "best", "CPU", "queries", "note"],
    )

    # Completing: one step after the other, each started first (not timed). The last step of
    # a run also completes the run and makes its unit available: timed apart.
    def complete_all(kind, complete_one):
        open_samples, last_samples = [], []
        i = 0
        for run in bench.complete_runs[kind]:
            for position in range(1, STEPS + 1):
                start_step(actor=bench.fresh(operator), step=bench.step(run, position))
                sample = complete_one(run, position, i)
                i += 1
                (open_samples if position < STEPS else last_samples).append(sample)
            statuses = set(run.steps.values_list("status", flat=True))
            assert statuses == {StepStatus.COMPLETE}, (kind, statuses)
            run.refresh_from_db()
            assert run.status == "complete" and run.part_inventory.status == "available", run.status
        return open_samples, last_samples

    def service_complete(run, position, i):
        actor, step = bench.fresh(operator), bench.step(run, position)
        return call(lambda: complete_step(actor=actor, step=step, values=ten_values(i)))

    client = Client()
    client.force_login(operator)
    client.get(f"/runs/{bench.save_run.number}/")  # warm the templates

    def post_complete(headers):
        def complete_one(run, position, i):
            url = f"/runs/{run.number}/steps/{position}/complete/"
            data = ten_posted(i)
            response = None

            def post():
                nonlocal response
                response = client.post(url, data, **headers)

            result = call(post)
            assert response.status_code == (200 if headers else 302), (url, response.status_code)
            return result

        return complete_one

    rows = [
        ("complete_step, 10 values", "service", service_complete),
        ("POST …/complete/, 10 values", "post", post_complete({})),
        ("POST …/complete/ (htmx)", "htmx", post_complete({"HTTP_HX_REQUEST": "true"})),
    ]
    notes = {
        "service": "the service alone",
        "post": "answers 302 to the run page",
        "htmx": "answers the steps, header and history",
    }
    last = []
    for label, kind, complete_one in rows:
        open_samples, last_samples = complete_all(kind, complete_one)
        table.add(label, open_samples, notes[kind])
        last.append((label, last_samples))
    for label, samples in last:
        table.add(label + ", last step", samples, "the run completes, its unit becomes available")

    # Saving one value: field 1 of step 1 of a run, a different value each time.
    save = bench.save_run
    step_pk = RunStep.objects.get(run=save, position=1).pk

    def value(i):
        return f"{5 + i % 10}.{i % 7}{i % 3}"

    samples = []
    for i in range(REPEAT):
        actor, step, values = bench.fresh(operator), bench.step(save, 1), {1: value(i)}
        samples.append(call(lambda a=actor, s=step, v=values: record_values(actor=a, step=s, values=v)))
    table.add("record_values, 1 value", samples, "the service alone")
    assert RunStepField.objects.get(run_step_id=step_pk, position=1).value == value(REPEAT - 1)

    for label, headers, status in (
        ("POST …/save/, 1 value", {}, 302),
        ("POST …/save/ (htmx), 1 value", {"HTTP_HX_REQUEST": "true"}, 200),
    ):
        samples = []
        for i in range(REPEAT):
            data = {"field-1": value(i + 1000), "field-3": "", "field-4": "", "field-5": "", "field-6": ""}
            data |= {"field-9": "", "field-10": ""}
            response = None

            def post(data=data, headers=headers):
                nonlocal response
                response = client.post(f"/runs/{save.number}/steps/1/save/", data, **headers)

            samples.append(call(post))
            assert response.status_code == status, response.status_code
        assert RunStepField.objects.get(run_step_id=step_pk, position=1).value == value(REPEAT - 1 + 1000)
        table.add(label, samples, notes["post" if status == 302 else "htmx"])

    api = Client(headers={"Authorization": f"Bearer {ApiToken.issue(user=operator, name='bench')[1]}"})
    samples = []
    for i in range(REPEAT):
        response = None

        def put(i=i):
            nonlocal response
            response = api.put(
                f"/api/v1/runs/{save.number}/steps/1/fields/1",
                {"value": float(value(i + 2000))},
                content_type="application/json",
            )

        samples.append(call(put))
        assert response.status_code == 200, response.content
    table.add("PUT /api/v1/…/fields/1", samples, "the API: answers the step with its values")
    table.print()
    print_fixed_queries(bench)


def print_fixed_queries(bench: Bench) -> None:
    """Queries of the same actions on a run of 3 steps x 2 fields: they must equal the above."""
    from runs.services import complete_step, record_values, start_step

    operator, run = bench.operator, bench.small_run
    counts = {}
    for position in (1, 2, 3):
        actor, step = bench.fresh(operator), bench.step(run, position)
        counts[f"start_step, step {position}"] = call(
            lambda actor=actor, step=step: start_step(actor=actor, step=step)
        ).queries
        if position == 1:
            actor, step = bench.fresh(operator), bench.step(run, position)
            counts["record_values, 1 value"] = call(
                lambda actor=actor, step=step: record_values(actor=actor, step=step, values={1: "7.5"})
            ).queries
        actor, step = bench.fresh(operator), bench.step(run, position)
        counts[f"complete_step, 2 values, step {position} of 3"] = call(
            lambda actor=actor, step=step: complete_step(actor=actor, step=step, values={1: "8", 2: True})
        ).queries
    shown = "; ".join(f"{action} {queries}" for action, queries in counts.items())
    print(f"   The same on a run of 3 steps × 2 fields (queries): {shown}")
    print()


def measure_page(bench: Bench) -> None:
    operator_client, planner_client = Client(), Client()
    operator_client.force_login(bench.operator)
    planner_client.force_login(bench.planner)
    from runs.models import Run

    complete_run = bench.complete_runs["service"][0]
    total = Run.objects.filter(organisation=bench.org).count()
    table = Table(
        f"2. The run page, GET /runs/<n>/ in an organisation of {total:,} runs "
        f"(load {load()}): wall ms per request (median, p95, best), CPU ms of this process (median), queries",
        ["page", "requests", "median", "p95", "best", "CPU", "queries", "run"],
    )
    pages = [
        (
            "operator, run in progress",
            operator_client,
            bench.page_run,
            f"{STEPS} steps × 3 fields, {PAGE_DONE} complete, step {PAGE_DONE + 1} in progress, "
            f"{bench.page_events} events",
        ),
        (
            "planner, same run",
            planner_client,
            bench.page_run,
            "the same, with the planner's forms and skip/hold on every step",
        ),
        (
            "operator, complete run",
            operator_client,
            complete_run,
            f"{STEPS} steps × 10 fields, all complete, {complete_run.events.count()} events (200 shown)",
        ),
        (
            "operator, 10 fields a step",
            operator_client,
            bench.save_run,
            f"{STEPS} steps × 10 fields, step 1 in progress (its values saved again and again above), "
            f"{bench.save_run.events.count()} events",
        ),
    ]
    for label, client, run, what in pages:
        url = f"/runs/{run.number}/"
        client.get(url)  # warm caches and templates
        samples = []
        for _ in range(REPEAT):
            response = None

            def get(client=client, url=url):
                nonlocal response
                response = client.get(url)

            samples.append(call(get))
            assert response.status_code == 200, (url, response.status_code)
        table.add(label, samples, what)
        if SLOWEST:
            connection.queries_log.clear()
            with CaptureQueriesContext(connection) as captured:
                client.get(url)
            print(f"Slowest queries of {label}, {url}:")
            for query in sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:5]:
                print(f"  {float(query['time']) * 1000:6.1f} ms  {query['sql'][:300]}")
    table.print()


if __name__ == "__main__":
    main()
