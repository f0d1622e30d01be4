"""Server time of the work pages at scale: 100,000 runs and 3,000,000 run steps in one organisation.

Needs PostgreSQL. `bash bench/run bench/work_pages.py` starts a throwaway cluster and runs this;
or point DATABASE_URL at a server you have (a test database is created there and dropped):

    DATABASE_URL=postgres://USER@HOST:PORT/ion_runs .venv/bin/python bench/work_pages.py

RUNS, STEPS (per run) and REPEAT scale it down for a quick look; KEEPDB=1 keeps the generated
test database for the next run (handy with your own server, e.g. for EXPLAIN ANALYZE).
Target (issue 5, and issue 10 goal 4 at RUNS=1000000): every page under 150 ms median, for a
planner (export cleared) and an operator (not cleared, in a team).
"""

import datetime
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
from django.utils import timezone  # noqa: E402

from runs.models import RunBatch  # noqa: E402

RUNS = int(os.environ.get("RUNS", "100000"))
STEPS = int(os.environ.get("STEPS", "30"))
REPEAT = int(os.environ.get("REPEAT", "7"))
KEEPDB = os.environ.get("KEEPDB") == "1"
PARTS, FAMILIES, PEOPLE, TEAMS, BATCHES = 5000, 100, 40, 5, 2000
RUNS_WITH_FIELDS = 2000  # two fields on every step of the first runs: the Run page shows them


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench/work_pages.py needs DATABASE_URL pointing at PostgreSQL.")
    setup_test_environment()
    test_db = connection.creation.create_test_db(verbosity=0, keepdb=KEEPDB)
    try:
        from ion_runs.accounts.models import Team, User

        if KEEPDB and User.objects.filter(username="bench-planner").exists():
            planner, operator = (User.objects.get(username=f"bench-{who}") for who in ("planner", "operator"))
            team = Team.objects.get(name="Cell 0", organisation=planner.organisation)
            print(f"Reusing the generated data in {test_db}.")
        else:
            began = time.perf_counter()
            planner, operator, team = populate()
            print(
                f"Generated {RUNS:,} runs and {RUNS * STEPS:,} run steps in "
                f"{time.perf_counter() - began:.0f} s on PostgreSQL {connection.pg_version // 10000}."
            )
        measure(planner, operator, team)
    finally:
        if not KEEPDB:
            connection.creation.destroy_test_db(test_db, verbosity=0)


def populate():
    from tests import factories

    org = factories.OrganisationFactory(name="Bench Rockets")
    planner = factories.PlannerFactory(organisation=org, username="bench-planner", export_cleared=True)
    operator = factories.OperatorFactory(organisation=org, username="bench-operator")
    people = [planner, operator] + [
        factories.OperatorFactory(organisation=org, username=f"bench-op-{i}") for i in range(PEOPLE - 2)
    ]
    teams = [factories.TeamFactory(organisation=org, name=f"Cell {i}") for i in range(TEAMS)]
    teams[0].members.add(operator, planner, *people[2:10])
    factories.RunAttributeDefinitionFactory(organisation=org, key="customer", label="Customer")
    params = {
        "org": org.pk,
        "runs": RUNS,
        "steps": STEPS,
        "parts": PARTS,
        "families": FAMILIES,
        "batches": BATCHES,
        "with_fields": RUNS_WITH_FIELDS,
        "people": [u.pk for u in people],
        "teams": [t.pk for t in teams],
        "people_count": len(people),
        "teams_count": len(teams),
        "creator": planner.pk,
        "now": timezone.now(),
        "today": timezone.localdate(),
    }
    with connection.cursor() as cursor:
        for statement in SQL:
            cursor.execute(statement, params)
    # A batch holding an export-controlled run is controlled (it names its name's scope).
    RunBatch.objects.sync_export_control()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return planner, operator, teams[0]


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
    INSERT INTO procedures_procedure (organisation_id, created_at)
    SELECT %(org)s, %(now)s FROM generate_series(1, %(families)s)
    """,
    """
    INSERT INTO procedures_procedureversion (organisation_id, procedure_id, number, title, type, status,
                                             export_controlled, released_at, created_at)
    SELECT %(org)s, p.id, v, 'Procedure ' || p.id, 'build',
           CASE WHEN v = 1 THEN 'superseded' ELSE 'released' END, false, %(now)s, %(now)s
    FROM procedures_procedure p CROSS JOIN generate_series(1, 2) v
    WHERE p.organisation_id = %(org)s
    """,
    """
    INSERT INTO runs_runbatch (organisation_id, name, created_by_id, created_at, export_controlled)
    SELECT %(org)s, 'Batch ' || g, %(creator)s, %(now)s, false FROM generate_series(1, %(batches)s) g
    """,
    """
    INSERT INTO inventory_partinventory (organisation_id, part_id, serial_number, lot_number, quantity,
                                         location, status, created_at)
    SELECT %(org)s, parts.ids[1 + g %% %(parts)s],
           CASE WHEN g %% 10 = 0 THEN '' ELSE 'SN-' || lpad(g::text, 7, '0') END,
           CASE WHEN g %% 10 = 0 THEN 'LOT-' || lpad(g::text, 7, '0') ELSE '' END,
           CASE WHEN g %% 10 = 0 THEN 25 ELSE 1 END, 'Line 1', 'in_build', %(now)s
    FROM generate_series(1, %(runs)s) g,
         (SELECT array_agg(id ORDER BY id) ids FROM inventory_part WHERE organisation_id = %(org)s) parts
    """,
    # 40 %% of runs assigned to a person, 30 %% to a team, 30 %% in the pool; 10 %% without a due
    # date, the rest within half a year either side of today; ~10 %% export controlled; 55 %%
    # open; one run in ten of the first 20,000 in a batch.
    """
    INSERT INTO runs_run (organisation_id, number, name, part_id, procedure_version_id, source,
                          part_inventory_id, tracking_type, due_date, export_controlled,
                          assigned_user_id, assigned_team_id, batch_id, attributes, status,
                          created_by_id, created_at)
    SELECT %(org)s, g,
           'Run ' || g || ': ' || p.number || ' · ' || coalesce(nullif(i.serial_number, ''), i.lot_number),
           p.id,
           CASE WHEN g %% 5 = 0 THEN NULL ELSE versions.ids[1 + g %% %(families)s] END,
           'build', i.id, p.tracking_type,
           CASE WHEN g %% 10 = 3 THEN NULL
                ELSE %(today)s::date + ((g * 7919) %% 361 - 180)::int END,
           p.export_controlled OR g %% 20 = 7,
           CASE WHEN g %% 10 < 4 THEN (%(people)s::bigint[])[1 + (g / 10) %% %(people_count)s] END,
           CASE WHEN g %% 10 BETWEEN 4 AND 6
                THEN (%(teams)s::bigint[])[1 + (g / 10) %% %(teams_count)s] END,
           CASE WHEN g %% 10 = 9 AND g <= 20000 THEN batches.ids[1 + (g / 10) %% %(batches)s] END,
           CASE WHEN g %% 3 = 0 THEN '{"customer": "Globex"}'::jsonb ELSE '{}'::jsonb END,
           (ARRAY['todo','todo','todo','todo','todo','todo','in_progress','in_progress','in_progress',
                  'hold','complete','complete','complete','complete','complete','complete','complete',
                  'complete','canceled','todo'])[1 + (g * 31) %% 20],
           %(creator)s, %(now)s - (%(runs)s - g) * interval '5 minutes'
    FROM (SELECT id, part_id, serial_number, lot_number, row_number() OVER (ORDER BY id) g
          FROM inventory_partinventory WHERE organisation_id = %(org)s) i
    JOIN inventory_part p ON p.id = i.part_id,
    (SELECT array_agg(id ORDER BY id) ids FROM procedures_procedureversion
     WHERE organisation_id = %(org)s AND status = 'released') versions,
    (SELECT array_agg(id ORDER BY id) ids FROM runs_runbatch WHERE organisation_id = %(org)s) batches
    """,
    """
    INSERT INTO runs_runstep (run_id, position, title, instructions, status)
    SELECT r.id, s, 'Step ' || s, 'Follow work instruction ' || s || ' and record the readings.', 'todo'
    FROM runs_run r CROSS JOIN generate_series(1, %(steps)s) s
    WHERE r.organisation_id = %(org)s
    """,
    """
    INSERT INTO runs_runstepfield (run_step_id, position, label, type, required, min_value, max_value,
                                   max_length, pattern, options)
    SELECT s.id, f, CASE WHEN f = 1 THEN 'Torque (Nm)' ELSE 'Inspector' END,
           CASE WHEN f = 1 THEN 'number' ELSE 'signoff' END, f = 1,
           CASE WHEN f = 1 THEN 1 END, CASE WHEN f = 1 THEN 25 END, NULL, '', '[]'::jsonb
    FROM runs_runstep s JOIN runs_run r ON r.id = s.run_id CROSS JOIN generate_series(1, 2) f
    WHERE r.organisation_id = %(org)s AND r.number <= %(with_fields)s
    """,
]


def pages(team):
    today = timezone.localdate()
    month_ahead = today + datetime.timedelta(days=30)
    return [
        ("Runs", "/runs/", {}),
        ("Runs, htmx page 2", "/runs/?page=2", {"HTTP_HX_REQUEST": "true"}),
        ("Runs, page 1000", "/runs/?page=1000", {}),
        ("Runs, page 1000 by cursor", page_1000_by_cursor, {}),
        ("Runs, search serial", "/runs/?q=SN-0042424", {}),
        ("Runs, search text", "/runs/?q=PN-0042", {}),
        (
            "Runs, open due next 30 d",
            f"/runs/?status=open&due_from={today}&due_to={month_ahead}&sort=due",
            {},
        ),
        ("Runs, assignee me", "/runs/?assignee=me&sort=-due", {}),
        ("Runs, team + part", f"/runs/?team={team.pk}&part=PN-0001", {}),
        ("Runs, sort name", "/runs/?sort=name", {}),
        ("Run (30 steps)", "/runs/1001/", {}),
        ("My work", "/runs/my-work/", {}),
        ("Team queue", f"/runs/teams/{team.pk}/", {}),
        ("Unassigned pool", "/runs/unassigned/", {}),
        ("Schedule, week", "/runs/schedule/", {}),
        ("Schedule, month", "/runs/schedule/?span=month", {}),
    ]


def page_1000_by_cursor(user) -> str:
    """The URL page 999's Next link gives: the runs after the 49,950th, newest first."""
    from django.utils.http import urlencode

    from runs.access import visible_runs
    from runs.paging import PAGE_SIZE, Cursor
    from runs.run_filters import SORTS

    runs = visible_runs(user).order_by(*SORTS["-created"][1])
    return "/runs/?" + urlencode({"after": Cursor.of(runs[999 * PAGE_SIZE - 1])})


def measure(planner, operator, team) -> None:
    clients = {}
    for name, user in (("planner", planner), ("operator", operator)):
        clients[name] = Client()
        clients[name].force_login(user)
    rows = []
    for label, url, headers in pages(team):
        cells = [label]
        for user, client in clients.items():
            target = url(planner if user == "planner" else operator) if callable(url) else url
            client.get(target, **headers)  # warm caches and templates
            timings = []
            for _ in range(REPEAT):
                with CaptureQueriesContext(connection) as queries:
                    began = time.perf_counter()
                    response = client.get(target, **headers)
                    timings.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200, (target, response.status_code)
            cells += [f"{statistics.median(timings):.0f}", f"{min(timings):.0f}", str(len(queries))]
        rows.append(cells)
    # The best of the requests is the page's own cost; the median adds what the machine's
    # other jobs took from it (on a shared 2-core machine, often more than the page).
    load = " / ".join(f"{figure:.1f}" for figure in os.getloadavg())
    print(f"Server time of {REPEAT} requests (ms): median and best; queries per request. Load {load}.")
    header = ["page", "planner ms", "best", "queries", "operator ms", "best", "queries"]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print(
            "  ".join(
                str(cell).ljust(w) if i == 0 else str(cell).rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )


if __name__ == "__main__":
    main()
