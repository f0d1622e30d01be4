"""A planner authors one run, duplicates, edits, removes and batches on Review, then creates."""

import pytest
from playwright.sync_api import expect

from runs.models import Run, RunBatch
from tests import factories

pytestmark = pytest.mark.browser


@pytest.fixture
def planner(org):
    factories.ensure_demo_groups()
    return factories.PlannerFactory(
        organisation=org, username="priya", first_name="Priya", export_cleared=True
    )


@pytest.fixture
def part(org):
    part = factories.PartFactory(organisation=org, number="BRKT-ASSY-001", description="Engine bracket")
    factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], title="Bracket build")
    return part


def author_one_run(page, live_server, serial):
    page.goto(f"{live_server.url}/runs/new/")
    page.get_by_role("button", name="Next →").click()
    with page.expect_response(lambda response: "q=" in response.url):
        page.get_by_label("Part").fill("BRKT")
    with page.expect_response(lambda response: "part=" in response.url):
        page.get_by_role("radio", name="BRKT-ASSY-001 rev A").check()
    page.get_by_role("radio", name="Bracket build · v1").check()
    page.get_by_role("button", name="Next →").click()
    page.get_by_label("Serial number", exact=True).fill(serial)
    page.get_by_role("button", name="Next →").click()
    page.get_by_role("button", name="Add to review →").click()
    expect(page.locator('[aria-current="step"]')).to_have_text("Review")


def row(page, text):
    return page.locator("tbody.review-row").filter(has_text=text)


def test_duplicate_edit_remove_batch_and_create(live_server, page, log_in, shoot, planner, part):
    log_in(planner)
    author_one_run(page, live_server, "SN-0007")
    create = page.locator("#create-button")
    expect(create).to_have_text("Create run")

    first = row(page, "SN-0007")
    first.get_by_label("Copies").fill("5")
    first.get_by_role("button", name="Duplicate").click()
    expect(page.locator("tbody.review-row")).to_have_count(6)
    for serial in ("SN-0008", "SN-0009", "SN-0010", "SN-0011", "SN-0012"):
        expect(row(page, serial)).to_be_visible()
    expect(create).to_have_text("Create 6 runs")
    shoot("1-duplicated")

    row(page, "SN-0009").get_by_role("link", name="Edit").click()
    editor = page.get_by_role("form", name="Edit run")
    editor.get_by_label("Run name").fill("Customer PO 4711")
    editor.get_by_role("button", name="Save").click()
    expect(row(page, "Customer PO 4711")).to_contain_text("SN-0009")
    shoot("2-edited")

    row(page, "SN-0012").get_by_role("button", name="Remove").click()
    expect(page.get_by_role("button", name="Undo")).to_be_visible()
    expect(page.locator("tbody.review-row")).to_have_count(5)
    expect(create).to_have_text("Create 5 runs")
    shoot("3-removed")

    page.get_by_label("Batch runs").check()
    expect(create).to_have_text("Create batched run")
    page.get_by_label("Batch name").fill("Brackets week 48")
    shoot("4-batched")
    create.click()

    expect(page.get_by_role("heading", name="5 runs created")).to_be_visible()
    expect(page.get_by_text("Batched as Brackets week 48")).to_be_visible()
    shoot("5-created")
    batch = RunBatch.objects.get(name="Brackets week 48")
    runs = Run.objects.select_related("part_inventory").order_by("number")
    assert [r.batch_id for r in runs] == [batch.pk] * 5
    assert [r.part_inventory.serial_number for r in runs] == [
        "SN-0007",
        "SN-0008",
        "SN-0009",
        "SN-0010",
        "SN-0011",
    ]
    assert runs[2].name == "Customer PO 4711"


def test_undo_restores_a_removed_row(live_server, page, log_in, planner, part):
    log_in(planner)
    author_one_run(page, live_server, "SN-0100")
    row(page, "SN-0100").get_by_role("button", name="Remove").click()
    expect(page.locator("tbody.review-row")).to_have_count(0)
    page.get_by_role("button", name="Undo").click()
    expect(row(page, "SN-0100")).to_be_visible()
    expect(page.locator("#create-button")).to_have_text("Create run")
