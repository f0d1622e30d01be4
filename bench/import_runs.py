"""How long 5,000 spreadsheet rows take to be parsed, validated and shown on Review (issue 13).

`bash bench/run bench/import_runs.py` starts a throwaway PostgreSQL and runs this; or against a
server of your own (a test database is created there and dropped):

    DATABASE_URL=postgres://USER@HOST:PORT/ion_runs .venv/bin/python bench/import_runs.py

One organisation with 60 parts (serial, lot and quantity-only), a released procedure linked to
them, 500 units to attach, 20 people, 5 teams and 3 custom attributes. A file of ROWS rows
(default 5,000) mixing every kind of row (build of each tracking type, attach by serial and by
lot, procedure by title and by id, assignee by username and by team, dates, attributes; one row
in fifty with a problem) is uploaded as XLSX and as CSV, REPEAT times each (default 3): timed
are the POST of the import form (read, validate, insert the drafts) and the GET of the Review
page it redirects to. The queries of the POST are counted for 100 rows and for ROWS rows.

Target: upload to Review under 5 s for 5,000 rows; the POST's queries the same for any size.
"""

import csv
import datetime
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ion_runs.settings")

import django

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from openpyxl import Workbook  # noqa: E402

ROWS = int(os.environ.get("ROWS", "5000"))
REPEAT = int(os.environ.get("REPEAT", "3"))


def seed():
    from inventory.models import TrackingType
    from runs.models import AttributeType
    from tests import factories

    org = factories.OrganisationFactory(name="Bench Rockets")
    planner = factories.PlannerFactory(organisation=org, username="bench-planner", export_cleared=True)
    kinds = [TrackingType.SERIAL, TrackingType.LOT, TrackingType.NONE]
    parts = [
        factories.PartFactory(organisation=org, number=f"P-{i:03d}", tracking_type=kinds[i % 3])
        for i in range(60)
    ]
    version = factories.ReleasedVersionFactory(
        procedure__organisation=org, title="Assemble", parts=parts, steps=10
    )
    serial_parts = [p for p in parts if p.tracking_type == TrackingType.SERIAL]
    lot_parts = [p for p in parts if p.tracking_type == TrackingType.LOT]
    units = {}  # part id → the serial or lot numbers of its units
    for i in range(250):
        serial = factories.PartInventoryFactory(
            part=serial_parts[i % len(serial_parts)], serial_number=f"U-{i:04d}"
        )
        lot = factories.PartInventoryFactory(
            part=lot_parts[i % len(lot_parts)], serial_number="", lot_number=f"L-{i:04d}", quantity=100
        )
        units.setdefault(serial.part_id, []).append(serial.serial_number)
        units.setdefault(lot.part_id, []).append(lot.lot_number)
    for i in range(20):
        factories.OperatorFactory(organisation=org, username=f"op{i}", export_cleared=True)
    for i in range(5):
        factories.TeamFactory(organisation=org, name=f"Cell {i}")
    factories.RunAttributeDefinitionFactory(
        organisation=org, key="colour", label="Colour", type=AttributeType.SELECT, options=["red", "blue"]
    )
    factories.RunAttributeDefinitionFactory(organisation=org, key="po", label="PO number")
    factories.RunAttributeDefinitionFactory(
        organisation=org, key="weight", label="Weight", type=AttributeType.NUMBER
    )
    return planner, parts, version, units


def rows(count: int, parts, version, units) -> list[dict]:
    """Every kind of row, round robin; every fiftieth names a team that does not exist."""
    due = datetime.date(2027, 1, 1)
    made = []
    for i in range(count):
        part = parts[i % len(parts)]
        row = {
            "part.number": part.number,
            "part.revision": part.revision,
            "due_date": due + datetime.timedelta(i % 300),
        }
        match i % 6:
            case 0:
                row |= {
                    "procedure.title": "Assemble",
                    "serial_number": f"S-{i:06d}" if part.tracking_type == "serial" else "",
                }
            case 1:
                row |= {"procedure": version.pk, "assignee.user": f"op{i % 20}", "name": f"Run {i}"}
            case 2:
                row |= {
                    "assignee.team": f"Cell {i % 5}",
                    "attributes.colour": "red",
                    "attributes.weight": "1.5",
                }
            case 3 if part.tracking_type == "serial":
                row |= {"source": "attach", "inventory": units[part.pk][(i // 60) % len(units[part.pk])]}
            case 4 if part.tracking_type == "lot":
                row |= {"source": "attach", "inventory": units[part.pk][(i // 60) % len(units[part.pk])]}
            case _:
                row |= {"attributes.po": f"PO-{i}", "export_controlled": "no"}
        if part.tracking_type != "serial" and row.get("source") != "attach":
            row["quantity"] = 5
        if i % 50 == 49:
            row |= {"assignee.team": "Nobody's team", "assignee.user": ""}
        made.append(row)
    return made


def header_of(made: list[dict]) -> list[str]:
    return list(dict.fromkeys(key for row in made for key in row))


def as_xlsx(made: list[dict]) -> SimpleUploadedFile:
    header = header_of(made)
    # A normal workbook, as Excel saves it: text in a shared-strings table (write-only mode
    # writes every cell's text inline, which openpyxl reads back about twice as slowly).
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in made:
        sheet.append([row.get(key) for key in header])
    out = io.BytesIO()
    workbook.save(out)
    return SimpleUploadedFile("bench.xlsx", out.getvalue())


def as_csv(made: list[dict]) -> SimpleUploadedFile:
    header = header_of(made)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(header)
    writer.writerows([row.get(key, "") for key in header] for row in made)
    return SimpleUploadedFile("bench.csv", ("\ufeff" + out.getvalue()).encode())


def main() -> None:
    setup_test_environment()
    test_db = connection.creation.create_test_db(verbosity=0)
    try:
        from runs.models import RunDraft

        planner, parts, version, units = seed()
        client = Client()
        client.force_login(planner)
        made = rows(ROWS, parts, version, units)

        query_counts = {}
        for count in (100, ROWS):
            RunDraft.objects.all().delete()
            with CaptureQueriesContext(connection) as queries:
                response = client.post("/runs/import/", {"file": as_csv(made[:count])})
            assert response.status_code == 302, response.status_code
            query_counts[count] = len(queries)
        print(f"Import POST queries: {', '.join(f'{n:,} rows: {q}' for n, q in query_counts.items())}")

        print(f"Upload of {ROWS:,} rows to Review on {connection.vendor}, {REPEAT} times each (s):")
        print("format  POST (read, check, insert)  Review page  total")
        for name, make in (("xlsx", as_xlsx), ("csv", as_csv)):
            posts, pages = [], []
            for _ in range(REPEAT):
                RunDraft.objects.all().delete()
                upload = make(made)
                began = time.perf_counter()
                response = client.post("/runs/import/", {"file": upload})
                posted = time.perf_counter()
                review = client.get(response.url)
                ended = time.perf_counter()
                assert review.status_code == 200 and review.content.count(b'class="review-row"') == ROWS
                posts.append(posted - began)
                pages.append(ended - posted)
            post, page = statistics.median(posts), statistics.median(pages)
            print(f"{name:6}  {post:26.2f}  {page:11.2f}  {post + page:5.2f}")
        invalid = RunDraft.objects.filter(data__has_key="import_problems").count()
        print(f"({invalid} of the {ROWS:,} rows have problems, shown at the row)")
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)


if __name__ == "__main__":
    main()
