"""Importing runs from a spreadsheet onto Review (SPEC §10): what lands there, and what is refused."""

import datetime
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import InventoryStatus, TrackingType
from runs.models import AttributeType, Run, RunDraft
from runs.services import add_procedure
from runs.spreadsheets import reading
from tests import factories
from tests.runs.spreadsheet_files import (
    csv_file,
    damaged_xlsx,
    read_csv,
    read_xlsx,
    xlsx_file,
    xlsx_part_not_well_formed,
    xlsx_without_sheets,
)
from tests.runs.wizard_steps import STEP_URL, WizardDriver

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def world(org, planner):
    """Parts of each tracking type, a procedure, units, people, a team and two attributes."""
    serial = factories.PartFactory(organisation=org, number="BRKT-100", revision="A")
    lot = factories.PartFactory(
        organisation=org, number="RIVET-7", revision="B", tracking_type=TrackingType.LOT
    )
    plain = factories.PartFactory(organisation=org, number="GLUE-1", tracking_type=TrackingType.NONE)
    version = factories.ReleasedVersionFactory(
        procedure__organisation=org, title="Assemble bracket", parts=[serial], steps=2
    )
    factories.PartInventoryFactory(part=serial, serial_number="SN-AVAIL")
    factories.PartInventoryFactory(part=serial, serial_number="SN-SCRAP", status=InventoryStatus.SCRAPPED)
    factories.PartInventoryFactory(part=lot, serial_number="", lot_number="LOT-42", quantity=50)
    factories.TeamFactory(organisation=org, name="Night shift")
    factories.OperatorFactory(organisation=org, username="olga", export_cleared=True)
    factories.OperatorFactory(organisation=org, username="uma")
    factories.OperatorFactory(organisation=org, username="gone", is_active=False)
    factories.RunAttributeDefinitionFactory(
        organisation=org, key="colour", label="Colour", type=AttributeType.SELECT, options=["red", "blue"]
    )
    factories.RunAttributeDefinitionFactory(
        organisation=org, key="inspected_on", label="Inspected on", type=AttributeType.DATE
    )
    return {"serial": serial, "lot": lot, "plain": plain, "version": version}


BRACKET = {"part.number": "BRKT-100", "part.revision": "A"}


def upload(client, file, query="", **headers):
    return client.post(reverse("runs:import") + query, {"file": file}, **headers)


def problems(draft) -> list[str]:
    return draft.data.get("import_problems", [])


def review_driver(client, url: str) -> WizardDriver:
    """The wizard an import redirected to, to press Create on its Review."""
    driver = WizardDriver.__new__(WizardDriver)
    driver.client = client
    driver.wizard_id = STEP_URL.match(url)["wizard_id"]
    driver.prefix = f"new_run_{driver.wizard_id}"
    return driver


def test_every_tracking_type_and_source_lands_on_review_and_is_created(planner_client, world):
    rows = [
        BRACKET
        | {
            "procedure.title": "assemble bracket",
            "procedure.version": "1",
            "serial_number": "SN-1",
            "name": "Bracket one",
            "due_date": "2027-01-15",
            "assignee.user": "olga",
            "attributes.colour": "red",
        },
        BRACKET | {"procedure": str(world["version"].pk), "assignee.team": "Night shift"},
        {"part.number": "RIVET-7", "part.revision": "B", "lot_number": "LOT-NEW", "quantity": "40"},
        {"part.number": "GLUE-1", "part.revision": "A", "quantity": "3", "export_controlled": "yes"},
        BRACKET | {"source": "attach", "inventory": "SN-AVAIL"},
        {"part.number": "RIVET-7", "part.revision": "B", "source": "attach", "inventory": "LOT-42"},
    ]
    response = upload(planner_client, csv_file(rows, name="orders.csv"))

    assert response.status_code == 302 and STEP_URL.match(response.url)["step"] == "review"
    drafts = list(RunDraft.objects.order_by("position"))
    assert [problems(d) for d in drafts] == [[]] * 6
    assert [d.data["import_row"] for d in drafts] == [2, 3, 4, 5, 6, 7]
    review = planner_client.get(response.url)
    assert review.status_code == 200 and len(review.context["rows"]) == 6
    assert "Imported 6 rows from orders.csv." in review.content.decode()

    created = review_driver(planner_client, response.url).create()
    assert created.status_code == 302, created.context and created.context["rows"]
    units = Run.objects.select_related("part_inventory")
    runs = {run.part_inventory.serial_number or run.part_inventory.lot_number: run for run in units}
    first = runs["SN-1"]
    assert (first.name, first.due_date, first.assigned_user.username) == (
        "Bracket one",
        datetime.date(2027, 1, 15),
        "olga",
    )
    assert first.procedure_version == world["version"] and first.attributes == {"colour": "red"}
    assert runs["LOT-NEW"].part_inventory.quantity == 40 and runs["LOT-NEW"].tracking_type == "lot"
    attached = Run.objects.filter(source="attach").values_list("part_inventory__lot_number", flat=True)
    assert sorted(attached) == ["", "LOT-42"]
    assert Run.objects.filter(assigned_team__name="Night shift").count() == 1
    assert Run.objects.get(part=world["plain"]).export_controlled
    assert not RunDraft.objects.exists()


def test_xlsx_date_and_number_cells(planner_client, world):
    rows = [
        BRACKET | {"serial_number": 1001, "due_date": datetime.date(2027, 3, 1)},
        {
            "part.number": "RIVET-7",
            "part.revision": "B",
            "quantity": 12,
            "due_date": datetime.datetime(2027, 3, 2, 0, 0),
            "attributes.inspected_on": datetime.date(2027, 2, 1),
        },
    ]
    response = upload(planner_client, xlsx_file(rows))

    assert response.status_code == 302
    serial, lot = (d.data for d in RunDraft.objects.order_by("position"))
    assert (serial["serial_number"], serial["due_date"]) == ("1001", "2027-03-01")
    assert (lot["quantity"], lot["due_date"]) == (12, "2027-03-02")
    assert lot["attributes"] == {"inspected_on": "2027-02-01"}


def test_a_byte_order_mark_and_semicolons(planner_client, world):
    rows = [BRACKET | {"name": "Bracket, left", "quantity": "1"}]
    response = upload(planner_client, csv_file(rows, delimiter=";", bom=True))

    assert response.status_code == 302
    draft = RunDraft.objects.get()
    assert draft.data["name"] == "Bracket, left" and draft.data["part"] == world["serial"].pk
    assert problems(draft) == []


@pytest.mark.parametrize(
    ("cells", "problem"),
    [
        ({"part.number": "NOPE"}, "No part NOPE revision A is visible to you."),
        ({"part.revision": ""}, "Give the part number and revision."),
        ({"procedure": "999999"}, "No procedure with id 999999 is visible to you."),
        # "²".isdigit() is true, yet int("²") raises.
        ({"procedure": "²"}, "No procedure with id ² is visible to you."),
        ({"part.number": "GLUE-1", "quantity": "²"}, "Quantity: Enter a whole number."),
        ({"procedure.title": "Paint"}, "No released procedure “Paint” is visible to you."),
        ({"procedure.title": "Assemble bracket", "procedure.version": "7"}, "v7 is visible to you"),
        ({"procedure.version": "2"}, "A procedure version needs the procedure's title too."),
        ({"source": "borrow"}, "Source must be build or attach, not “borrow”."),
        ({"tracking_type": "batch"}, "Tracking type must be serial, lot or none"),
        ({"part.number": "GLUE-1", "quantity": "lots"}, "Quantity: Enter a whole number."),
        (
            {"part.number": "GLUE-1", "quantity": "0"},
            "Quantity: Ensure this value is greater than or equal to 1.",
        ),
        ({"quantity": "5"}, "A serialized run makes one unit"),
        ({"serial_number": "SN-AVAIL"}, "Serial number SN-AVAIL is already used in inventory."),
        ({"part.number": "GLUE-1", "serial_number": "SN-9"}, "A serial number goes with serial tracking"),
        ({"lot_number": "LOT-1"}, "A lot number goes with lot tracking"),
        (
            {"part.number": "RIVET-7", "part.revision": "B", "lot_number": "LOT-42"},
            "Lot LOT-42 already exists for this part.",
        ),
        ({"due_date": "next tuesday"}, "Due date: Enter a valid date."),
        ({"export_controlled": "maybe"}, "Export controlled must be yes or no, not “maybe”."),
        ({"assignee.user": "ghost"}, "ghost is not a user of your organisation."),
        ({"assignee.user": "gone"}, "The assignee is not an active user of your organisation."),
        ({"assignee.team": "Ghosts"}, "There is no team “Ghosts” in your organisation."),
        ({"assignee.user": "olga", "assignee.team": "Night shift"}, "to a user or to a team, not both"),
        (
            {"export_controlled": "yes", "assignee.user": "uma"},
            "is not export-cleared and could not see this export-controlled run.",
        ),
        ({"source": "attach"}, "Attaching needs the inventory unit's serial or lot number."),
        (
            {"source": "attach", "inventory": "SN-NONE"},
            "No unit of BRKT-100 rev A has serial or lot SN-NONE.",
        ),
        (
            {"source": "attach", "inventory": "SN-SCRAP"},
            "Part inventory is not in a state that allows a new run",
        ),
        ({"inventory": "SN-AVAIL"}, "Only attached runs take an inventory unit"),
        ({"attributes.colour": "green"}, "Colour: Select a valid choice."),
        ({"attributes.inspected_on": "soon"}, "Inspected on: Enter a valid date."),
        ({"name": "x" * 201}, "Run name: Ensure this value has at most 200 characters (it has 201)."),
    ],
)
def test_an_invalid_row_lands_with_its_problem_and_row_number(planner_client, world, cells, problem):
    response = upload(planner_client, csv_file([BRACKET | {"name": "Fine"}, BRACKET | cells]))

    assert response.status_code == 302
    fine, bad = RunDraft.objects.order_by("position")
    assert problems(fine) == []
    assert any(p.startswith("Row 3 of runs.csv: ") and problem in p for p in problems(bad)), problems(bad)
    review = planner_client.get(response.url).content.decode()
    assert "1 has problems, shown at the row" in review
    assert "Row 3 of runs.csv: " in review
    # Review numbers this row 2: the row says which of its file's rows it is, as the problem does.
    assert '<span class="file-row">file row 3</span>' in review


def test_a_procedure_not_linked_to_the_part(planner_client, world, org):
    factories.ReleasedVersionFactory(procedure__organisation=org, title="Mix glue", parts=[world["plain"]])
    upload(planner_client, csv_file([BRACKET | {"procedure.title": "Mix glue"}]))
    assert "is not linked to part BRKT-100" in problems(RunDraft.objects.get())[0]


def test_an_unreleased_procedure(planner_client, world, org):
    factories.ProcedureVersionFactory(
        procedure__organisation=org, title="Draft test", parts=[world["serial"]]
    )
    upload(planner_client, csv_file([BRACKET | {"procedure.title": "Draft test", "procedure.version": "1"}]))
    assert "Procedure has unreleased steps" in problems(RunDraft.objects.get())[0]


def test_a_blank_procedure_is_added_later(planner_client, planner, world):
    """SPEC §12: "leave it blank to add one later" holds for imported rows too."""
    blank = {"procedure": "", "procedure.title": "", "procedure.version": ""}
    response = upload(planner_client, csv_file([BRACKET | blank | {"serial_number": "SN-LATER"}]))
    draft = RunDraft.objects.get()
    assert problems(draft) == [] and draft.data["procedure"] is None

    assert review_driver(planner_client, response.url).create().status_code == 302
    run = Run.objects.get(part_inventory__serial_number="SN-LATER")
    assert run.procedure_version is None and not run.steps.exists()
    add_procedure(actor=planner, run=run, version=world["version"])
    assert run.steps.count() == 2


def test_a_missing_required_attribute(planner_client, world, org):
    factories.RunAttributeDefinitionFactory(organisation=org, key="shift", label="Shift", required=True)
    upload(planner_client, csv_file([BRACKET | {"attributes.shift": "early"}, BRACKET]))
    first, second = RunDraft.objects.order_by("position")
    assert problems(first) == [] and problems(second) == ["Row 3 of runs.csv: Shift is required."]


def test_a_refused_cell_of_a_required_attribute_is_one_problem(planner_client, world, org):
    factories.RunAttributeDefinitionFactory(
        organisation=org,
        key="priority",
        label="Priority",
        type=AttributeType.SELECT,
        options=["Routine", "Hot"],
        required=True,
    )
    upload(planner_client, csv_file([BRACKET | {"attributes.priority": "Urgent"}]))
    [problem] = problems(RunDraft.objects.get())
    assert problem.startswith("Row 2 of runs.csv: Priority: Select a valid choice.")


def test_a_serial_twice_in_the_file_or_already_on_review(planner_client, planner, world):
    factories.RunDraftFactory(owner=planner, data={"serial_number": "SN-ON-REVIEW"})
    serials = ["SN-2", "SN-2", "SN-ON-REVIEW"]
    upload(planner_client, csv_file([BRACKET | {"serial_number": serial} for serial in serials]))
    rows = list(RunDraft.objects.filter(data__import_row__isnull=False).order_by("position"))
    assert all("Serial number SN-2 is on more than one row." in problems(r)[0] for r in rows[:2])
    assert "SN-ON-REVIEW is already on another row in this review" in problems(rows[2])[0]


def test_one_batch_per_file(planner_client, world):
    response = upload(
        planner_client,
        csv_file([BRACKET | {"batch_name": "March"}, BRACKET, BRACKET | {"batch_name": "April"}]),
    )
    first, second, third = RunDraft.objects.order_by("position")
    assert problems(first) == problems(second) == []
    assert "Batch “April” differs from “March”" in problems(third)[0]
    review = planner_client.get(response.url)
    assert "batch “March”" in review.content.decode()
    form = review.context["wizard"]["form"]
    assert (form["batch"].value(), form["batch_name"].value()) == (True, "March")


def test_a_file_without_a_batch_leaves_batch_runs_unticked(planner_client, world):
    response = upload(planner_client, csv_file([BRACKET]))
    form = planner_client.get(response.url).context["wizard"]["form"]
    assert not form["batch"].value() and not form["batch_name"].value()


def big_csv() -> SimpleUploadedFile:
    header = "part.number,part.revision\n"
    return SimpleUploadedFile("big.csv", (header + "X" * reading.MAX_BYTES).encode())


def too_many_rows() -> SimpleUploadedFile:
    lines = ["part.number,part.revision", *(["BRKT-100,A"] * (reading.MAX_ROWS + 1))]
    return SimpleUploadedFile("many.csv", "\n".join(lines).encode())


@pytest.mark.parametrize(
    ("make_file", "message"),
    [
        (lambda: SimpleUploadedFile("orders.pdf", b"%PDF-1.4"), "orders.pdf is not a spreadsheet"),
        (lambda: SimpleUploadedFile("orders.xls", b"\xd0\xcf\x11\xe0"), "save it as .xlsx or .csv"),
        (lambda: csv_file([BRACKET | {"name": "Café"}], encoding="latin-1"), "is not UTF-8 text"),
        (lambda: csv_file([{"part.number": "BRKT-100"}]), "runs.csv has no part.revision column"),
        (lambda: csv_file([BRACKET | {"colour": "red"}]), "does not know: colour"),
        (lambda: SimpleUploadedFile("head.csv", b"part.number,part.revision\n"), "no runs below them"),
        (lambda: SimpleUploadedFile("blank.csv", b""), "That file is empty."),
        (
            lambda: SimpleUploadedFile("bad.xlsx", b"PK\x03\x04 not really"),
            "is not a readable .xlsx workbook",
        ),
        (
            lambda: SimpleUploadedFile("dup.csv", b"part.number,part.revision,name,name\nA,B,c,d\n"),
            "name more than once",
        ),
        (too_many_rows, "many.csv has more than 5,000 runs"),
        (
            lambda: SimpleUploadedFile("nul.csv", b"part.number,part.revision,name\nBRKT-100,A,x\x00y\n"),
            "nul.csv: row 2, column C contains a NUL character",
        ),
        (
            lambda: xlsx_file([BRACKET | {None: "note", "name": "x"}], name="gap.xlsx"),
            "gap.xlsx: column C has a value in row 2 but no name in the first row",
        ),
        (big_csv, "files of up to 10 MB can be imported"),
    ],
)
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_an_unreadable_file_is_refused_whole(planner_client, world, make_file, message, headers):
    response = upload(planner_client, make_file(), **headers)

    assert response.status_code == 200
    body = response.content.decode()
    assert message in body and body.count('class="field-error"') == 1
    assert ("<html" in body) == (not headers)
    assert not RunDraft.objects.exists()


# The parts openpyxl reads (it ignores _rels/.rels).
XLSX_PARTS = [
    "[Content_Types].xml",
    "docProps/core.xml",
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "xl/styles.xml",
    "xl/worksheets/sheet1.xml",
]


@pytest.mark.parametrize(
    "make_file",
    [
        *(lambda part=part: xlsx_part_not_well_formed(part) for part in XLSX_PARTS),
        xlsx_without_sheets,
        lambda: damaged_xlsx(lambda name, data: None if name == "xl/worksheets/sheet1.xml" else data),
    ],
    ids=[*(f"cut-off {part}" for part in XLSX_PARTS), "no sheet listed", "sheet part missing"],
)
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_a_damaged_xlsx_is_refused_whole(planner_client, world, make_file, headers):
    response = upload(planner_client, make_file(), **headers)

    assert response.status_code == 200
    body = response.content.decode()
    assert "damaged.xlsx is not a readable .xlsx workbook" in body
    assert body.count('class="field-error"') == 1
    assert not RunDraft.objects.exists()


def test_an_xlsx_header_may_have_an_empty_cell_above_an_empty_column(planner_client, world):
    upload(planner_client, xlsx_file([BRACKET | {None: None, "name": "Gap"}]))
    assert problems(RunDraft.objects.get()) == []


def test_htmx_upload_redirects_the_page_to_review(planner_client, world):
    response = upload(planner_client, csv_file([BRACKET]), **HTMX)
    assert STEP_URL.match(response["HX-Redirect"])["step"] == "review"


def test_rows_join_the_review_they_were_imported_from(planner_client, world):
    driver = WizardDriver(planner_client)
    driver.author(part=world["serial"])
    response = upload(planner_client, csv_file([BRACKET]), query=f"?wizard={driver.wizard_id}")
    assert response.url == driver.url("review")
    assert len(planner_client.get(response.url).context["rows"]) == 2


def mixed_rows(count: int) -> list[dict]:
    kinds = [
        BRACKET
        | {"procedure.title": "Assemble bracket", "assignee.user": "olga", "attributes.colour": "red"},
        {"part.number": "RIVET-7", "part.revision": "B", "quantity": "4", "assignee.team": "Night shift"},
        BRACKET | {"source": "attach", "inventory": "SN-AVAIL"},
        {"part.number": "NOPE", "part.revision": "A"},
    ]
    rows = [dict(kinds[i % len(kinds)]) for i in range(count)]
    for i, row in enumerate(rows[::4]):
        row["serial_number"] = f"SN-{i}"
    return rows


def test_the_number_of_queries_does_not_grow_with_the_rows(planner_client, world):
    counts = []
    for count in (4, 60):
        RunDraft.objects.all().delete()
        with CaptureQueriesContext(connection) as queries:
            assert upload(planner_client, csv_file(mixed_rows(count))).status_code == 302
        counts.append(len(queries))
        assert RunDraft.objects.count() == count
    assert counts[0] == counts[1]


def test_an_import_cannot_reach_another_organisations_objects(planner_client, world, other_org):
    part = factories.PartFactory(organisation=other_org, number="ALIEN-1", revision="A")
    version = factories.ReleasedVersionFactory(procedure__organisation=other_org, title="Alien", parts=[part])
    factories.PartInventoryFactory(part=part, serial_number="SN-ALIEN")
    factories.OperatorFactory(organisation=other_org, username="zed")
    factories.TeamFactory(organisation=other_org, name="Aliens")
    rows = [
        {"part.number": "ALIEN-1", "part.revision": "A"},
        BRACKET | {"procedure": str(version.pk)},
        BRACKET | {"procedure.title": "Alien"},
        BRACKET | {"source": "attach", "inventory": "SN-ALIEN"},
        BRACKET | {"assignee.user": "zed"},
        BRACKET | {"assignee.team": "Aliens"},
    ]
    upload(planner_client, csv_file(rows))
    drafts = list(RunDraft.objects.order_by("position"))
    assert all(problems(d) for d in drafts)
    assert [d.data["part"] for d in drafts[:1]] == [None]
    assert all(d.data["procedure"] is None and d.data["inventory"] is None for d in drafts)
    assert all(d.data["assigned_user"] is None and d.data["assigned_team"] is None for d in drafts)


def test_an_uncleared_planner_cannot_reach_export_controlled_parts_or_procedures(client, world, org):
    uncleared = factories.PlannerFactory(organisation=org, username="kim")
    client.force_login(uncleared)
    secret = factories.PartFactory(organisation=org, number="SECRET-1", export_controlled=True)
    hidden = factories.ReleasedVersionFactory(
        procedure__organisation=org, title="Secret", parts=[world["serial"]], export_controlled=True
    )
    rows = [
        {"part.number": "SECRET-1", "part.revision": secret.revision},
        BRACKET | {"procedure": str(hidden.pk)},
        BRACKET | {"procedure.title": "Secret"},
        BRACKET | {"export_controlled": "yes"},
    ]
    upload(client, csv_file(rows))
    drafts = list(RunDraft.objects.order_by("position"))
    assert problems(drafts[0]) == ["Row 2 of runs.csv: No part SECRET-1 revision A is visible to you."]
    assert "No procedure with id" in problems(drafts[1])[0]
    assert "No released procedure “Secret” is visible to you." in problems(drafts[2])[0]
    assert "Only export-cleared users can mark a run export controlled." in problems(drafts[3])[0]


def test_the_template_has_every_column_and_a_row_per_tracking_type(planner_client, world):
    for fmt, read in (("csv", read_csv), ("xlsx", read_xlsx)):
        response = planner_client.get(reverse("runs:import-template", args=[fmt]))
        assert response.status_code == 200
        assert f"runs-import-template.{fmt}" in response["Content-Disposition"]
        header, *rows = read(response.content)
        assert header[:2] == ["part.number", "part.revision"]
        assert header[-2:] == ["attributes.colour", "attributes.inspected_on"]
        tracking = [row[header.index("tracking_type")] for row in rows]
        assert tracking == ["serial", "lot", "none"]
        assert [row[0] for row in rows] == ["BRKT-100", "RIVET-7", "GLUE-1"]


def test_the_template_imports_as_it_is(planner_client, world):
    response = planner_client.get(reverse("runs:import-template", args=["xlsx"]))
    upload(planner_client, SimpleUploadedFile("template.xlsx", response.content))
    drafts = list(RunDraft.objects.order_by("position"))
    assert len(drafts) == 3 and [problems(d) for d in drafts] == [[], [], []]
    assert {d.data["tracking_type"] for d in drafts} == {"serial", "lot", "none"}


def test_create_refuses_until_the_imported_problems_are_fixed(planner_client, world):
    response = upload(planner_client, csv_file([BRACKET, BRACKET | {"assignee.team": "Ghosts"}]))
    driver = review_driver(planner_client, response.url)
    _, bad = RunDraft.objects.order_by("position")

    refused = driver.create()
    assert refused.status_code == 200 and not Run.objects.exists()
    page = refused.content.decode()
    assert "Row 3 of runs.csv: There is no team “Ghosts” in your organisation." in page
    assert "Nothing was created: 1 row has a problem" in page
    assert re.search(rf'href="[^"]*/review/{bad.pk}/[^"]*mode=edit"[^>]*autofocus', page)

    # A valid edit of the row writes its data afresh, without the file's problems.
    row_url = reverse("runs:draft-row", args=[bad.pk]) + f"?wizard={driver.wizard_id}"
    edit = {
        "action": "save",
        "identify-serial_auto": "on",
        "details-name_auto": "on",
        "details-assigned_to": "",
    }
    assert planner_client.post(row_url, edit).status_code == 302
    bad.refresh_from_db()
    assert problems(bad) == []
    assert driver.create().status_code == 302 and Run.objects.count() == 2


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_a_row_naming_an_unknown_part_shows_its_problem_everywhere_and_can_be_removed(
    planner_client, world, headers
):
    response = upload(planner_client, csv_file([{"part.number": "NOPE", "part.revision": "A"}, BRACKET]))
    driver = review_driver(planner_client, response.url)
    unknown = RunDraft.objects.order_by("position").first()
    row_url = reverse("runs:draft-row", args=[unknown.pk]) + f"?wizard={driver.wizard_id}"

    review = planner_client.get(response.url)
    assert review.status_code == 200 and "No part NOPE revision A" in review.content.decode()
    # The part cell points at the problem rather than saying a part went away.
    assert "No part: see below" in review.content.decode()
    assert "Part no longer available" not in review.content.decode()
    for answer in (
        planner_client.get(row_url + "&mode=edit", **headers),
        planner_client.post(row_url, {"action": "save", "details-name": "x"}, **headers),
    ):
        assert answer.status_code in (200, 302)
        if headers:
            assert "No part NOPE revision A" in answer.content.decode()
    refused = driver.create()
    assert refused.status_code == 200 and "No part NOPE revision A" in refused.content.decode()
    assert not Run.objects.exists()

    planner_client.post(row_url, {"action": "remove"}, **headers)
    assert driver.create().status_code == 302 and Run.objects.count() == 1
