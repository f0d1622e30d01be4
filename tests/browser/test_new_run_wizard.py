"""A planner creates each kind of run through the five steps of the New Run wizard."""

import pytest
from playwright.sync_api import expect

from inventory.models import InventoryStatus, TrackingType
from runs.models import Run
from tests import factories

pytestmark = pytest.mark.browser


@pytest.fixture
def planner(org):
    factories.ensure_demo_groups()
    return factories.PlannerFactory(
        organisation=org, username="priya", first_name="Priya", export_cleared=True
    )


@pytest.fixture
def catalogue(org):
    serial = factories.PartFactory(organisation=org, number="BRKT-ASSY-001", description="Engine bracket")
    lot = factories.PartFactory(
        organisation=org, number="SEAL-OR-214", description="O-ring seal", tracking_type=TrackingType.LOT
    )
    factories.PartFactory(
        organisation=org, number="WSHR-M6", description="Washer", tracking_type=TrackingType.NONE
    )
    version = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[serial, lot], title="Bracket build", steps=4
    )
    return {"serial": serial, "lot": lot, "version": version}


def pick_part(page, search, number):
    with page.expect_response(lambda response: "q=" in response.url):
        page.get_by_label("Part").fill(search)
    with page.expect_response(lambda response: "part=" in response.url):
        page.get_by_role("radio", name=f"{number} rev A").check()


def next_step(page):
    page.get_by_role("button", name="Next →").click()


def test_a_serialized_build_run_with_an_auto_serial(live_server, page, log_in, shoot, planner, catalogue):
    log_in(planner)
    page.get_by_role("link", name="Runs", exact=True).click()
    page.get_by_role("link", name="Create Run").first.click()
    expect(page.locator('[aria-current="step"]')).to_have_text("Source")
    expect(page.get_by_role("radio", name="Build a new item")).to_be_checked()
    shoot("1-source")
    next_step(page)

    expect(page.locator('[aria-current="step"]')).to_have_text("Part")
    pick_part(page, "bracket", "BRKT-ASSY-001")
    page.get_by_role("radio", name="Bracket build · v1").check()
    shoot("2-part")
    next_step(page)

    expect(page.locator('[aria-current="step"]')).to_have_text("Identify")
    expect(page.get_by_role("radio", name="Serialized")).to_be_checked()
    expect(page.get_by_label("Lot number", exact=True)).to_be_hidden()
    shoot("3-identify")
    next_step(page)

    expect(page.locator('[aria-current="step"]')).to_have_text("Details")
    shoot("4-details")
    page.get_by_role("button", name="Add to review →").click()

    expect(page.locator('[aria-current="step"]')).to_have_text("Review")
    expect(page.get_by_role("cell", name="Serial auto-generated")).to_be_visible()
    shoot("5-review")
    page.get_by_role("button", name="Create run").click()

    expect(page.get_by_role("heading", name="1 run created")).to_be_visible()
    expect(page.get_by_role("link", name="Run 1: BRKT-ASSY-001 · SN-00001")).to_be_visible()
    shoot("6-created")
    run = Run.objects.get()
    assert run.part_inventory.serial_number == "SN-00001" and run.steps.count() == 4


def test_a_lot_run(live_server, page, log_in, shoot, planner, catalogue):
    log_in(planner)
    page.goto(f"{live_server.url}/runs/new/")
    next_step(page)
    pick_part(page, "SEAL", "SEAL-OR-214")
    next_step(page)
    expect(page.get_by_role("radio", name="Lot-tracked")).to_be_checked()
    page.get_by_label("Lot number", exact=True).fill("LOT-2611-A")
    page.get_by_label("Quantity", exact=True).fill("250")
    shoot("3-identify")
    next_step(page)
    page.get_by_role("button", name="Add to review →").click()
    expect(page.get_by_role("cell", name="LOT-2611-A × 250")).to_be_visible()
    page.get_by_role("button", name="Create run").click()
    expect(page.get_by_role("heading", name="1 run created")).to_be_visible()
    unit = Run.objects.get().part_inventory
    assert (unit.lot_number, unit.quantity) == ("LOT-2611-A", 250)


def test_an_attach_run_refuses_used_up_units(live_server, page, log_in, shoot, planner, catalogue):
    part = catalogue["serial"]
    good = factories.PartInventoryFactory(part=part, serial_number="SN-FLOOR-1", location="Line 2")
    factories.PartInventoryFactory(part=part, serial_number="SN-SCRAP-1", status=InventoryStatus.SCRAPPED)
    log_in(planner)
    page.goto(f"{live_server.url}/runs/new/")
    page.get_by_role("radio", name="Use an item already in inventory").check()
    next_step(page)
    pick_part(page, "bracket", "BRKT-ASSY-001")
    next_step(page)

    page.get_by_role("radio", name="SN-SCRAP-1").check()
    next_step(page)
    expect(page.get_by_role("alert")).to_contain_text(
        "Part inventory is not in a state that allows a new run"
    )
    shoot("3-identify-refused")

    with page.expect_response(lambda response: "q=" in response.url):
        page.get_by_label("Inventory item").fill("FLOOR")
    page.get_by_role("radio", name="SN-FLOOR-1").check()
    next_step(page)
    page.get_by_role("button", name="Add to review →").click()
    page.get_by_role("button", name="Create run").click()
    expect(page.get_by_role("heading", name="1 run created")).to_be_visible()
    good.refresh_from_db()
    assert Run.objects.get().part_inventory == good and good.status == InventoryStatus.WIP


def test_a_part_without_procedures_says_so(live_server, page, log_in, planner, catalogue):
    log_in(planner)
    page.goto(f"{live_server.url}/runs/new/")
    next_step(page)
    pick_part(page, "wshr", "WSHR-M6")
    expect(page.get_by_text("No procedures available for this part")).to_be_visible()


def test_the_stepper_jumps_back_without_losing_what_was_typed(live_server, page, log_in, planner, catalogue):
    log_in(planner)
    page.goto(f"{live_server.url}/runs/new/")
    next_step(page)
    pick_part(page, "bracket", "BRKT-ASSY-001")
    next_step(page)
    page.get_by_label("Serial number", exact=True).fill("SN-TYPED-9")
    page.get_by_role("button", name="Part").click()
    expect(page.locator('[aria-current="step"]')).to_have_text("Part")
    page.reload()
    expect(page.get_by_role("radio", name="BRKT-ASSY-001 rev A")).to_be_checked()
    page.get_by_role("button", name="Identify").click()
    expect(page.get_by_label("Serial number", exact=True)).to_have_value("SN-TYPED-9")
