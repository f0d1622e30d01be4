"""Downloading the Runs page as CSV or XLSX (SPEC §10): every run of its filter, nothing hidden."""

import datetime

import pytest
from django.urls import reverse

from runs.models import AttributeType, RunStatus
from tests import factories
from tests.runs.spreadsheet_files import read_csv, read_xlsx

pytestmark = pytest.mark.django_db
READERS = {"csv": read_csv, "xlsx": read_xlsx}


def download(client, fmt: str, query: str = ""):
    response = client.get(reverse("runs:export", args=[fmt]) + query)
    assert response.status_code == 200
    assert response.streaming, "an export is streamed, never built whole in memory"
    content = b"".join(response.streaming_content)
    header, *rows = READERS[fmt](content)
    return response, header, [dict(zip(header, row, strict=True)) for row in rows]


@pytest.fixture
def runs(org):
    part = factories.PartFactory(organisation=org, number="BRKT-100")
    return [
        factories.RunFactory(
            organisation=org,
            part=part,
            name=f"Run {i:03d}",
            status=RunStatus.COMPLETE if i % 3 == 0 else RunStatus.TODO,
            due_date=datetime.date(2027, 1, 1) + datetime.timedelta(days=i),
        )
        for i in range(1, 121)
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_run_of_the_filter_in_the_pages_order(planner_client, runs, fmt):
    response, header, rows = download(planner_client, fmt, "?status=todo&sort=-name&page=2")

    expected = sorted((r.name for r in runs if r.status == RunStatus.TODO), reverse=True)
    assert [row["name"] for row in rows] == expected and len(expected) == 80  # more than a page
    assert header[:4] == ["number", "name", "status", "part.number"]
    assert f"runs-{datetime.date.today().isoformat()}.{fmt}" in response["Content-Disposition"]
    first = rows[0]
    assert (first["status"], first["part.number"], first["export_controlled"]) == ("todo", "BRKT-100", "no")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_dates_are_dates(planner_client, runs, fmt):
    _, _, rows = download(planner_client, fmt, "?q=Run 001")
    due = rows[0]["due_date"]
    expected = datetime.date(2027, 1, 2)
    assert due == expected.isoformat() if fmt == "csv" else due == datetime.datetime(2027, 1, 2)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_cells_a_spreadsheet_would_run_as_formulas_are_neutralised(planner_client, org, fmt):
    names = ['=HYPERLINK("http://evil")', "+1+1", "-2", "@SUM(A1)", "\tTabbed", "\rReturned", "Plain"]
    for name in names:
        factories.RunFactory(organisation=org, name=name)
    factories.RunAttributeDefinitionFactory(organisation=org, key="note", label="Note")
    factories.RunFactory(organisation=org, name="With note", attributes={"note": "=1+2"})

    _, _, rows = download(planner_client, fmt, "?sort=created")

    expected = [f"'{name}" for name in names[:-1]] + ["Plain", "With note"]
    if fmt == "xlsx":
        # XML reads a carriage return back as a line feed; the apostrophe is what matters.
        expected = [name.replace("\r", "\n") for name in expected]
    assert [row["name"] for row in rows] == expected
    assert rows[-1]["attributes.note"] == "'=1+2"


def test_control_characters_xlsx_cannot_hold_are_left_out_of_it(planner_client, org):
    # Rename and batch names take pasted text; openpyxl refuses these characters in a cell.
    batch = factories.RunBatchFactory(organisation=org, name="Batch\x02 one")
    factories.RunAttributeDefinitionFactory(organisation=org, key="note", label="Note")
    factories.RunFactory(
        organisation=org, name="Bell\x07 and\x01 ack", batch=batch, attributes={"note": "a\x1fb"}
    )

    _, _, rows = download(planner_client, "xlsx")

    assert (rows[0]["name"], rows[0]["batch_name"], rows[0]["attributes.note"]) == (
        "Bell and ack",
        "Batch one",
        "ab",
    )


def test_the_csv_keeps_control_characters(planner_client, org):
    factories.RunFactory(organisation=org, name="Bell\x07")
    _, _, rows = download(planner_client, "csv")
    assert rows[0]["name"] == "Bell\x07"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_uncleared_users_export_has_no_export_controlled_run(client, org, other_org, fmt):
    user = factories.PlannerFactory(organisation=org, username="kim")
    batch = factories.RunBatchFactory(organisation=org, name="Secret batch")
    factories.RunFactory(organisation=org, name="Open run", batch=batch)
    factories.RunFactory(organisation=org, name="Controlled run", export_controlled=True, batch=batch)
    factories.RunFactory(organisation=other_org, name="Their run")
    client.force_login(user)

    _, _, rows = download(client, fmt)

    assert [row["name"] for row in rows] == ["Open run"]
    # The batch holds a controlled run: its name would describe it.
    assert rows[0]["batch_name"] in ("", None)


def test_a_cleared_users_export_has_them(planner_client, org, other_org):
    factories.RunFactory(organisation=org, name="Open run")
    factories.RunFactory(organisation=org, name="Controlled run", export_controlled=True)
    factories.RunFactory(organisation=other_org, name="Their run")
    _, _, rows = download(planner_client, "csv", "?sort=name")
    assert [(row["name"], row["export_controlled"]) for row in rows] == [
        ("Controlled run", "yes"),
        ("Open run", "no"),
    ]


def test_custom_attributes_and_assignees_have_columns(planner_client, org, planner):
    factories.RunAttributeDefinitionFactory(
        organisation=org,
        key="colours",
        label="Colours",
        type=AttributeType.MULTISELECT,
        options=["red", "blue"],
    )
    team = factories.TeamFactory(organisation=org, name="Night shift")
    factories.RunFactory(
        organisation=org, name="A", assigned_user=planner, attributes={"colours": ["red", "blue"]}
    )
    factories.RunFactory(organisation=org, name="B", assigned_team=team)
    _, header, rows = download(planner_client, "csv", "?sort=name")
    assert header[-1] == "attributes.colours"
    assert [(r["assignee.user"], r["assignee.team"], r["attributes.colours"]) for r in rows] == [
        ("planner", "", "red, blue"),
        ("", "Night shift", ""),
    ]


def test_the_number_of_queries_does_not_grow_with_the_runs(
    planner_client, org, django_assert_max_num_queries
):
    factories.RunFactory.create_batch(30, organisation=org)
    with django_assert_max_num_queries(8):
        response = planner_client.get(reverse("runs:export", args=["csv"]))
        b"".join(response.streaming_content)


def test_the_runs_page_links_its_downloads_with_its_filters(planner_client, runs):
    page = planner_client.get(reverse("runs:list") + "?status=todo&sort=name&page=2").content.decode()
    assert 'href="/runs/export.csv?status=todo&amp;sort=name"' in page
    assert 'href="/runs/export.xlsx?status=todo&amp;sort=name"' in page
