"""Importing runs in a real browser: download the template, fill it in, upload it, fix the bad
row on Review, create the runs.

Screenshots of each stage go to test-artifacts/import/<stage>.png.
"""

import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from inventory.models import TrackingType
from runs.models import Run, RunDraft
from tests import factories
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "import"


@pytest.fixture
def planner(org):
    factories.ensure_demo_groups()
    return factories.PlannerFactory(
        organisation=org, username="priya", first_name="Priya", export_cleared=True
    )


@pytest.fixture
def parts(org):
    factories.TeamFactory(organisation=org, name="Night shift")
    return [
        factories.PartFactory(organisation=org, number="BRKT-100", tracking_type=TrackingType.SERIAL),
        factories.PartFactory(organisation=org, number="RIVET-7", tracking_type=TrackingType.LOT),
        factories.PartFactory(organisation=org, number="GLUE-1", tracking_type=TrackingType.NONE),
    ]


@pytest.fixture
def shot(page):
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(stage: str):
        page.screenshot(path=SHOTS / f"{stage}.png", full_page=True)

    return take


def fill_in(template_path, filled_path):
    """What a planner does with the template: names the runs, assigns them, one with a typo."""
    workbook = load_workbook(template_path)
    sheet = workbook.active
    header = [cell.value for cell in sheet[1]]
    column = {name: header.index(name) + 1 for name in header}
    for row, (name, team) in enumerate(
        [("Bracket for Apollo", "Night shift"), ("Rivets for Apollo", "Nigth shift"), ("Glue", "")], start=2
    ):
        sheet.cell(row, column["name"], name)
        sheet.cell(row, column["assignee.team"], team)
    workbook.save(filled_path)


def test_download_the_template_fill_it_upload_fix_and_create(
    live_server, page, log_in, shot, planner, parts, tmp_path
):
    log_in(planner)
    page.goto(f"{live_server.url}/runs/")
    expect(page.get_by_role("link", name="Download CSV")).to_be_visible()
    shot("00-runs-page")
    page.get_by_role("link", name="Import runs").click()
    expect(page.get_by_role("heading", name="Import runs")).to_be_visible()
    shot("01-import-page")

    with page.expect_download() as download:
        page.get_by_role("link", name="Excel (.xlsx)").click()
    template = tmp_path / "template.xlsx"
    download.value.save_as(template)
    filled = tmp_path / "apollo-runs.xlsx"
    fill_in(template, filled)

    # A file that is no spreadsheet is refused with one message, and the page stays put.
    notes = tmp_path / "notes.txt"
    notes.write_text("part.number,part.revision")
    page.get_by_label("Spreadsheet").set_input_files(notes)
    page.get_by_role("button", name="Import to Review").click()
    expect(page.get_by_role("alert")).to_have_text(
        "notes.txt is not a spreadsheet: upload a .csv or .xlsx file."
    )
    shot("01b-refused-file")
    assert not RunDraft.objects.exists()

    # Hold the upload so its progress can be seen while the file travels.
    held, upload_url = [], re.compile(r".*/runs/import/$")
    page.route(upload_url, lambda route: held.append(route))
    page.get_by_label("Spreadsheet").set_input_files(filled)
    page.get_by_role("button", name="Import to Review").click()
    expect(page.locator(".upload-progress")).to_be_visible()
    expect(page.get_by_role("button", name="Import to Review")).to_be_disabled()
    shot("01c-uploading")
    while not held:
        page.wait_for_timeout(50)
    held[0].continue_()
    page.unroute(upload_url)

    expect(page.get_by_text("Imported 3 rows from apollo-runs.xlsx.")).to_be_visible()
    rows = page.locator("tbody.review-row")
    expect(rows).to_have_count(3)
    bad = rows.filter(has_text="Rivets for Apollo")
    expect(bad).to_contain_text(
        "Row 3 of apollo-runs.xlsx: There is no team “Nigth shift” in your organisation."
    )
    expect(rows.filter(has_text="Bracket for Apollo")).to_contain_text("Night shift")
    shot("02-review-with-a-bad-row")

    # Create refuses while the row has its problem, and says so at the row.
    create = page.locator("#create-button")
    expect(create).to_have_text("Create 3 runs")
    with page.expect_response(lambda response: response.request.method == "POST"):
        create.click()
    expect(rows.filter(has_text="Rivets for Apollo")).to_contain_text("There is no team “Nigth shift”")
    assert not Run.objects.exists()
    # Beside the button pressed, the page says why; focus is on the row to fix.
    expect(page.locator(".review-footer").locator("xpath=preceding-sibling::*[1]")).to_have_text(
        "Nothing was created: 1 row has a problem, shown at the row. "
        "Fix it with Edit or remove it, then press Create again."
    )
    bad_edit = rows.filter(has_text="Rivets for Apollo").get_by_role("link", name="Edit")
    expect(bad_edit).to_be_focused()
    shot("03-create-refused")

    page.locator("tbody.review-row").filter(has_text="Rivets for Apollo").get_by_role(
        "link", name="Edit"
    ).click()
    editor = page.get_by_role("form", name="Edit run")
    expect(editor).to_be_visible()
    editor.get_by_label("Assigned to").select_option(label="Night shift (team)")
    shot("04-fixing-the-row")
    editor.get_by_role("button", name="Save").click()
    expect(editor).to_be_hidden()
    fixed = page.locator("tbody.review-row").filter(has_text="Rivets for Apollo")
    expect(fixed).to_contain_text("Night shift")
    expect(fixed).not_to_contain_text("Row 3 of")
    shot("05-fixed")

    page.locator("#create-button").click()
    expect(page.get_by_role("heading", name="3 runs created")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/runs/created/[^/]+/$"))
    shot("06-created")
    assert sorted(Run.objects.values_list("name", flat=True)) == [
        "Bracket for Apollo",
        "Glue",
        "Rivets for Apollo",
    ]
    assert set(Run.objects.values_list("assigned_team__name", flat=True)) == {"Night shift", None}
    assert not RunDraft.objects.exists()
