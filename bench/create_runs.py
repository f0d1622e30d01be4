"""How fast create_runs writes runs, next to a COPY of the same rows (issue 10, goals 1 to 3).

Run against PostgreSQL (a throwaway test database is created and dropped):

    bash bench/run bench/create_runs.py

One released procedure of STEPS steps of 3 fields each, linked to a serialized part and a
lot part. Printed:
1. For N = SIZES (1,000 and 5,000 serialized build runs): the median time of a psycopg
   COPY of the rows create_runs writes (N units, N runs, N * STEPS steps, N * STEPS * 3
   fields, committed), the median time of create_runs, their ratio and create_runs'
   queries: on its connection, + the counter upserts on a connection of their own. The
   two alternate, REPEAT times each, in this one process.
2. The peak Python memory (tracemalloc) of one create_runs of N = MEMORY_N.
3. The wall time of 1 process creating 1,000 runs against 4 processes creating 250 each
   at the same moment (every fifth run a lot run), alternating, REPEAT times; then the
   duplicates among run numbers, serials and lots, and any errors (a deadlock is one).

Targets: ratio ≤ 1.5 (stretch 1.0), query count the same for every N, memory under 60 MiB,
4 processes of 250 in at most 0.8 times the wall time of 1 of 1,000, no duplicates, no errors.
"""

import multiprocessing
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ion_runs.settings")

import django

django.setup()

from django.db import connection, connections, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

STEPS = int(os.environ.get("STEPS", "30"))
SIZES = [int(n) for n in os.environ.get("SIZES", "1000,5000").split(",") if n]
MEMORY_N = int(os.environ.get("MEMORY_N", "10000"))
REPEAT = int(os.environ.get("REPEAT", "5"))
PROCESSES = int(os.environ.get("PROCESSES", "4"))
CONCURRENT_RUNS = int(os.environ.get("CONCURRENT_RUNS", "1000"))


def seed():
    from inventory.models import TrackingType
    from procedures.models import FieldType, StepField
    from tests import factories

    org = factories.OrganisationFactory(name="Bench Rockets")
    planners = [factories.PlannerFactory(organisation=org, export_cleared=True) for _ in range(PROCESSES)]
    part = factories.PartFactory(organisation=org, number="BRKT-ASSY-001")
    lot_part = factories.PartFactory(organisation=org, number="RIVET-4", tracking_type=TrackingType.LOT)
    version = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part, lot_part], title="Bracket build", steps=STEPS
    )
    StepField.objects.bulk_create(
        StepField(step=step, position=3, label="Finish", type=FieldType.SELECT, options=["Matte", "Gloss"])
        for step in version.steps.all()
    )
    return org, planners, part, lot_part, version


def create(planner, part, version, count, lot_part=None):
    from runs.services import RunRequest, create_runs

    serialized = RunRequest(part_id=part.pk, procedure_version_id=version.pk)
    lot = lot_part and RunRequest(part_id=lot_part.pk, procedure_version_id=version.pk, quantity=50)
    requests = [lot if lot and i % 5 == 4 else serialized for i in range(count)]
    return create_runs(user=planner, requests=requests)


def reserve_ids(cursor, table: str, count: int) -> range:
    """`count` ids from the table's identity sequence (this process is its only writer)."""
    cursor.execute(
        "SELECT setval(pg_get_serial_sequence(%s, 'id'), nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
        [table, table, count],
    )
    (last,) = cursor.fetchone()
    return range(last - count + 1, last + 1)


def copy_same_rows(org, planner, part, version, count) -> None:
    """COPY the rows create_runs would write for `count` serialized runs, in one transaction.

    The physical limit: the values are made in Python (serials, names, the procedure's steps
    and fields read once) and streamed with psycopg's COPY into the same tables and indexes.
    """
    from ion_runs.accounts.models import Counter
    from ion_runs.accounts.patterns import render_pattern
    from procedures.models import FieldSpec, ProcedureStep, StepField

    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        steps = ProcedureStep.objects.filter(version=version).order_by("position")
        steps = steps.values_list("id", "position", "title", "instructions")
        fields = {}
        for step_id, *values in StepField.objects.filter(step__version=version).values_list(
            "step_id", *FieldSpec.COPIED
        ):
            fields.setdefault(step_id, []).append(values)
        today, now = timezone.localdate(), timezone.now()
        pattern = org.serial_pattern
        serials = [
            render_pattern(pattern, part_number=part.number, revision=part.revision, seq=seq, today=today)
            for seq in Counter.take(org, "serial", count)
        ]
        numbers = Counter.take(org, "run", count)
        unit_ids = reserve_ids(cursor, "inventory_partinventory", count)
        run_ids = reserve_ids(cursor, "runs_run", count)
        step_ids = iter(reserve_ids(cursor, "runs_runstep", count * len(steps)))
        field_ids = iter(reserve_ids(cursor, "runs_runstepfield", count * sum(map(len, fields.values()))))
        with cursor.copy(
            "COPY inventory_partinventory (id, organisation_id, part_id, serial_number, lot_number, quantity,"
            " location, status, created_at) FROM STDIN"
        ) as copy:
            for unit_id, serial in zip(unit_ids, serials, strict=True):
                copy.write_row((unit_id, org.pk, part.pk, serial, "", 1, "", "in_build", now))
        with cursor.copy(
            "COPY runs_run (id, organisation_id, number, name, part_id, procedure_version_id, source,"
            " part_inventory_id, tracking_type, due_date, export_controlled, assigned_user_id,"
            " assigned_team_id, batch_id, attributes, status, created_by_id, created_at, request_key,"
            " creation_token) FROM STDIN"
        ) as copy:
            for run_id, number, unit_id, serial in zip(run_ids, numbers, unit_ids, serials, strict=True):
                copy.write_row(
                    (run_id, org.pk, number, f"Run {number}: {part.number} · {serial}", part.pk, version.pk,
                     "build", unit_id, "serial", None, False, None, None, None, Jsonb({}), "todo", planner.pk,
                     now, None, None)
                )  # fmt: skip
        step_rows = [(next(step_ids), run_id, step) for run_id in run_ids for step in steps]
        columns = "id, run_id, position, title, instructions, status"
        with cursor.copy(f"COPY runs_runstep ({columns}) FROM STDIN") as copy:
            for step_id, run_id, (_, position, title, instructions) in step_rows:
                copy.write_row((step_id, run_id, position, title, instructions, "todo"))
        columns = f"id, run_step_id, {', '.join(FieldSpec.COPIED)}"
        with cursor.copy(f"COPY runs_runstepfield ({columns}) FROM STDIN") as copy:
            for run_step_id, _, (source_id, *_) in step_rows:
                for *values, options in fields[source_id]:
                    copy.write_row((next(field_ids), run_step_id, *values, Jsonb(options)))


def timed(call) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def compare_with_copy(org, planners, part, version) -> None:
    from ion_runs.accounts.models import Counter

    print(f"1. create_runs against COPY, {STEPS} steps × 3 fields per run, median of {REPEAT}:")
    print(f"{'runs':>6}  {'COPY s':>7}  {'create_runs s':>13}  {'ratio':>5}  {'queries':>7}")
    planner = planners[0]
    for count in SIZES:
        copies, creations = [], []
        pair = [
            (copies, lambda n=count: copy_same_rows(org, planner, part, version, n)),
            (creations, lambda n=count: create(planner, part, version, n)),
        ]
        for i in range(REPEAT):
            # Alternating which goes first evens out a warmer cache or a busier neighbour.
            for times, call in pair if i % 2 else reversed(pair):
                times.append(timed(call))
        with (
            CaptureQueriesContext(connection) as queries,
            mock.patch.object(Counter, "take", wraps=Counter.take) as takes,
        ):
            create(planner, part, version, count)
        copy_s, create_s = statistics.median(copies), statistics.median(creations)
        asked = f"{len(queries)} + {takes.call_count}"
        print(f"{count:>6,}  {copy_s:>7.2f}  {create_s:>13.2f}  {create_s / copy_s:>5.2f}  {asked:>7}")


def measure_memory(planners, part, version) -> None:
    tracemalloc.start()
    tracemalloc.reset_peak()
    create(planners[0], part, version, MEMORY_N)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"\n2. Peak Python memory (tracemalloc), create_runs of {MEMORY_N:,} runs: {peak / 2**20:.1f} MiB")


def creator(planner, part, lot_part, version, count, start, results) -> None:
    connections.close_all()  # the parent's connection must not be shared with a child
    start.wait()
    began = time.time()
    try:
        create(planner, part, version, count, lot_part)
        results.put((began, time.time(), None))
    except Exception as exc:  # reported by the parent
        results.put((began, time.time(), repr(exc)))
    finally:
        connections.close_all()


def at_once(planners, part, lot_part, version, processes: int) -> tuple[float, list[str]]:
    """Wall time from the first creator's start to the last one's end, and their errors."""
    context = multiprocessing.get_context("fork")
    start, results = context.Barrier(processes), context.Queue()
    count = CONCURRENT_RUNS // processes
    connections.close_all()
    workers = [
        context.Process(target=creator, args=(planners[i], part, lot_part, version, count, start, results))
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    return max(o[1] for o in outcomes) - min(o[0] for o in outcomes), [o[2] for o in outcomes if o[2]]


def duplicates(org) -> dict[str, int]:
    from inventory.models import PartInventory
    from runs.models import Run

    def twice(queryset, field):
        return queryset.values(field).annotate(n=Count("pk")).filter(n__gt=1).count()

    units = PartInventory.objects.filter(organisation=org)
    return {
        "run numbers": twice(Run.objects.filter(organisation=org), "number"),
        "serials": twice(units.exclude(serial_number=""), "serial_number"),
        "lots": twice(units.exclude(lot_number=""), "lot_number"),
    }


def compare_concurrent(org, planners, part, lot_part, version) -> None:
    alone, together, errors = [], [], []
    for i in range(REPEAT):
        pair = [(1, alone), (PROCESSES, together)]
        for processes, times in pair if i % 2 else reversed(pair):
            wall, failed = at_once(planners, part, lot_part, version, processes)
            times.append(wall)
            errors += failed
    one, many = statistics.median(alone), statistics.median(together)
    each = CONCURRENT_RUNS // PROCESSES
    print(f"\n3. {CONCURRENT_RUNS:,} runs of one procedure (a fifth lot runs), median wall time of {REPEAT}:")
    print(f"   1 process × {CONCURRENT_RUNS:,}: {one:.2f} s")
    print(f"   {PROCESSES} processes × {each:,}: {many:.2f} s   ratio {many / one:.2f}")
    found = ", ".join(f"{n} duplicate {what}" for what, n in duplicates(org).items())
    print(f"   {found}; errors: {errors or 'none'}")


def main() -> None:
    setup_test_environment()
    test_db = connection.creation.create_test_db(verbosity=0)
    try:
        org, planners, part, lot_part, version = seed()
        cores = os.cpu_count()
        print(f"PostgreSQL {connection.pg_version // 10000}, {cores} cores, fsync {fsync()}\n")
        compare_with_copy(org, planners, part, version)
        measure_memory(planners, part, version)
        compare_concurrent(org, planners, part, lot_part, version)
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(test_db, verbosity=0)


def fsync() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW fsync")
        return cursor.fetchone()[0]


if __name__ == "__main__":
    main()
