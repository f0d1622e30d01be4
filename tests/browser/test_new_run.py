"""A planner logs in and creates runs through the five steps of the New Run wizard.

Every step is photographed into test-artifacts/<test name>/ so the pages can be looked at.
"""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from inventory.models import InventoryStatus, PartInventory, TrackingType
from runs.models import Run, RunDraft, RunStepField, StepStatus
from tests import factories

pytestmark = pytest.mark.browser

NOT_RUNNABLE = "Part inventory is not in a state that allows a new run"


@pytest.fixture
def planner(org):
    return factories.PlannerFactory(
        organisation=org, username="priya", first_name="Priya", last_name="Shah", export_cleared=True
    )


@pytest.fixture
def shop(org):
    """Parts of each tracking type, a released procedure linked to some, and stock in many states."""
    bracket = factories.PartFactory(
        organisation=org, number="BRKT-ASSY-001", description="Engine mount bracket assembly"
    )
    seal = factories.PartFactory(
        organisation=org, number="SEAL-OR-214", description="O-ring seal", tracking_type=TrackingType.LOT
    )
    rivet = factories.PartFactory(
        organisation=org, number="RVT-AL-4", description="Aluminium rivet", tracking_type=TrackingType.NONE
    )
    washer = factories.PartFactory(
        organisation=org, number="WSHR-M6", description="M6 washer", tracking_type=TrackingType.NONE
    )
    version = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[bracket, seal, rivet], title="Bracket build", steps=3
    )
    # A draft version of another family, linked to the bracket: never offered.
    factories.ProcedureVersionFactory(procedure__organisation=org, parts=[bracket], title="Draft rework")
    units = {
        status: factories.PartInventoryFactory(
            part=bracket, serial_number=f"SN-{status.upper()}-1", status=status, location="Line 2"
        )
        for status in (
            InventoryStatus.AVAILABLE,
            InventoryStatus.KITTED,
            InventoryStatus.INSTALLED,
            InventoryStatus.CONSUMED,
            InventoryStatus.SCRAPPED,
            InventoryStatus.ON_HOLD,
        )
    }
    # Another part's unit never shows among the bracket's.
    factories.PartInventoryFactory(part=seal, serial_number="", lot_number="LOT-OLD-1", quantity=40)
    return {
        "bracket": bracket,
        "seal": seal,
        "rivet": rivet,
        "washer": washer,
        "version": version,
        "units": units,
    }


# -- moving through the wizard ----------------------------------------------------------


def current_step(page):
    return page.locator('.stepper [aria-current="step"]')


def expect_step(page, label):
    expect(current_step(page)).to_have_count(1)
    expect(current_step(page)).to_have_text(label)
    expect(page).to_have_title(re.compile(rf"^New Run · {label}"))


def stepper_button(page, label):
    return page.get_by_role("navigation", name="New Run steps").get_by_role("button", name=label)


def submit(page, button):
    """Click a button that posts the wizard form, and wait for the page it leads to."""
    with page.expect_navigation():
        button.click()


def next_step(page):
    submit(page, page.get_by_role("button", name="Next →"))


def add_to_review(page):
    submit(page, page.get_by_role("button", name="Add to review →"))


def jump_to(page, label):
    submit(page, stepper_button(page, label))


def search_part(page, text):
    with page.expect_response(lambda r: "q=" in r.url and r.request.headers.get("hx-request") == "true"):
        page.get_by_role("searchbox", name="Part").fill(text)


def pick_part(page, number):
    with page.expect_response(lambda r: "part=" in r.url):
        page.get_by_role("radio", name=f"{number} rev A").check()


def open_wizard(page, live_server):
    page.goto(f"{live_server.url}/runs/new/")
    expect_step(page, "Source")


# -- the runs ----------------------------------------------------------------------------


def test_a_serialized_build_run_with_an_auto_generated_serial(
    live_server, page, log_in, shoot, planner, shop
):
    log_in(planner)
    page.get_by_role("link", name="Runs", exact=True).click()
    page.locator(".page-header").get_by_role("link", name="Create Run").click()

    # 1. Source: build is the default; later steps cannot be reached yet.
    expect_step(page, "Source")
    expect(page.get_by_text("Step 1 of 5")).to_be_visible()
    expect(page.get_by_role("radio", name="Build a new item")).to_be_checked()
    expect(page.get_by_role("radio", name="Use an item already in inventory")).not_to_be_checked()
    for locked in ("Identify", "Details", "Review"):
        expect(stepper_button(page, locked)).to_have_count(0)
    shoot("1-source")
    next_step(page)

    # 2. Part: search, pick the part, then its procedure (only released versions appear).
    expect_step(page, "Part")
    expect(page.get_by_text("Pick a part to see its released procedures.")).to_be_visible()
    search_part(page, "bracket")
    expect(page.get_by_role("radio", name="BRKT-ASSY-001 rev A")).to_be_visible()
    expect(page.get_by_role("radio", name="SEAL-OR-214 rev A")).to_have_count(0)
    shoot("2-part-search")
    pick_part(page, "BRKT-ASSY-001")
    # The part's only runnable procedure is picked for the planner.
    expect(page.get_by_role("radio", name="Bracket build · v1")).to_be_checked()
    expect(page.get_by_role("radio", name="None — add one later")).not_to_be_checked()
    expect(page.get_by_role("radio", name="Draft rework")).to_have_count(0)
    shoot("2-part-picked")
    next_step(page)

    # 3. Identify: serialized from the part, Auto-generated checked, lot and quantity hidden.
    expect_step(page, "Identify")
    expect(page.get_by_text("BRKT-ASSY-001 rev A — Engine mount bracket assembly")).to_be_visible()
    expect(page.get_by_role("radio", name="Serialized")).to_be_checked()
    expect(page.get_by_label("Serial number", exact=True)).to_have_value("")
    expect(page.locator('[data-tracking="serial"]').get_by_label("Auto-generated")).to_be_checked()
    expect(page.get_by_label("Lot number", exact=True)).to_be_hidden()
    expect(page.get_by_label("Quantity", exact=True)).to_be_hidden()
    shoot("3-identify")
    next_step(page)

    # 4. Details: name auto-generated, nobody assigned.
    expect_step(page, "Details")
    expect(page.get_by_label("Run name", exact=True)).to_have_value("")
    expect(page.get_by_label("Auto-generated")).to_be_checked()
    expect(page.get_by_label("Export controlled")).not_to_be_checked()
    expect(page.get_by_label("Assigned to")).to_have_value("")
    shoot("4-details")
    add_to_review(page)

    # 5. Review: one row, the button says "Create run".
    expect_step(page, "Review")
    row = page.locator("tbody.review-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Auto-generated name")
    expect(row).to_contain_text("BRKT-ASSY-001 rev A")
    expect(row).to_contain_text("Bracket build · v1")
    expect(row.get_by_role("cell", name="Serial auto-generated")).to_be_visible()
    expect(row).to_contain_text("Unassigned")
    shoot("5-review")
    page.get_by_role("button", name="Create run", exact=True).click()

    # Created: a page listing the run, with a link to it.
    expect(page.get_by_role("heading", name="1 run created")).to_be_visible()
    link = page.get_by_role("link", name="Run 1: BRKT-ASSY-001 · SN-00001")
    expect(link).to_be_visible()
    expect(page.get_by_role("cell", name="SN-00001", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="To do", exact=True)).to_be_visible()
    shoot("6-created")

    run = Run.objects.select_related("part_inventory", "procedure_version").get()
    assert run.name == "Run 1: BRKT-ASSY-001 · SN-00001"
    assert run.status == "todo" and run.source == "build" and run.tracking_type == TrackingType.SERIAL
    assert run.procedure_version == shop["version"] and run.created_by == planner
    unit = run.part_inventory
    assert (unit.part, unit.serial_number, unit.quantity, unit.status) == (
        shop["bracket"],
        "SN-00001",
        1,
        InventoryStatus.IN_BUILD,
    )
    steps = list(run.steps.order_by("position"))
    assert [(s.position, s.title, s.status) for s in steps] == [
        (1, "Step 1", StepStatus.TODO),
        (2, "Step 2", StepStatus.TODO),
        (3, "Step 3", StepStatus.TODO),
    ]
    assert RunStepField.objects.filter(run_step__run=run).count() == 6
    assert not RunDraft.objects.filter(owner=planner).exists()

    link.click()
    expect(page.get_by_role("heading", name=re.compile("Run 1: BRKT-ASSY-001"))).to_be_visible()


def test_a_lot_run_with_an_auto_generated_lot_of_five(live_server, page, log_in, shoot, planner, shop):
    log_in(planner)
    open_wizard(page, live_server)
    next_step(page)
    search_part(page, "o-ring")
    pick_part(page, "SEAL-OR-214")
    page.get_by_role("radio", name="Bracket build · v1").check()
    next_step(page)

    expect_step(page, "Identify")
    expect(page.get_by_role("radio", name="Lot-tracked")).to_be_checked()
    expect(page.get_by_label("Serial number", exact=True)).to_be_hidden()
    expect(page.locator('[data-tracking="lot"]').get_by_label("Auto-generated")).to_be_checked()
    quantity = page.get_by_label("Quantity", exact=True)
    expect(quantity).to_have_value("1")
    quantity.fill("5")
    shoot("3-identify")
    next_step(page)

    expect_step(page, "Details")
    add_to_review(page)
    expect_step(page, "Review")
    expect(page.get_by_role("cell", name="Lot auto-generated × 5")).to_be_visible()
    shoot("5-review")
    page.get_by_role("button", name="Create run", exact=True).click()

    expect(page.get_by_role("heading", name="1 run created")).to_be_visible()
    lot = f"LOT-{timezone.localdate():%Y%m%d}-001"
    expect(page.get_by_role("cell", name=f"{lot} × 5", exact=True)).to_be_visible()
    shoot("6-created")
    run = Run.objects.select_related("part_inventory").get()
    assert run.tracking_type == TrackingType.LOT and run.steps.count() == 3
    assert (run.part_inventory.lot_number, run.part_inventory.serial_number, run.part_inventory.quantity) == (
        lot,
        "",
        5,
    )


def test_a_lot_run_with_a_typed_lot_number(live_server, page, log_in, shoot, planner, shop):
    log_in(planner)
    open_wizard(page, live_server)
    next_step(page)
    search_part(page, "SEAL")
    pick_part(page, "SEAL-OR-214")
    # The part's only runnable procedure is preselected; "None" stays a deliberate choice.
    expect(page.get_by_role("radio", name="Bracket build · v1")).to_be_checked()
    page.get_by_role("radio", name="None — add one later").check()
    next_step(page)

    # Neither typed nor Auto-generated: the field says what it needs.
    page.locator('[data-tracking="lot"]').get_by_label("Auto-generated").uncheck()
    next_step(page)
    expect_step(page, "Identify")
    lot_field = page.locator('.field[data-tracking="lot"]')
    expect(lot_field.get_by_role("alert")).to_have_text("Type a lot number or check Auto-generated.")
    shoot("3-identify-error")

    page.get_by_label("Lot number", exact=True).fill("LOT-2611-A")
    page.get_by_label("Quantity", exact=True).fill("5")
    next_step(page)
    add_to_review(page)
    expect(page.get_by_role("cell", name="LOT-2611-A × 5")).to_be_visible()
    expect(page.get_by_role("cell", name="None — add one later")).to_be_visible()
    page.get_by_role("button", name="Create run", exact=True).click()

    expect(page.get_by_role("heading", name="1 run created")).to_be_visible()
    expect(page.get_by_role("link", name="Run 1: SEAL-OR-214 · LOT-2611-A × 5")).to_be_visible()
    run = Run.objects.select_related("part_inventory").get()
    assert (run.part_inventory.lot_number, run.part_inventory.quantity) == ("LOT-2611-A", 5)
    assert run.procedure_version is None and not run.steps.exists()


def test_an_attach_run_on_a_unit_already_in_inventory(live_server, page, log_in, shoot, planner, shop):
    units = shop["units"]
    before = PartInventory.objects.count()
    log_in(planner)
    open_wizard(page, live_server)
    page.get_by_role("radio", name="Use an item already in inventory").check()
    shoot("1-source")
    next_step(page)

    expect_step(page, "Part")
    search_part(page, "BRKT")
    pick_part(page, "BRKT-ASSY-001")
    page.get_by_role("radio", name="Bracket build · v1").check()
    next_step(page)

    # 3. Identify lists this part's units only, saying which cannot take a run.
    expect_step(page, "Identify")
    expect(page.get_by_role("radio", name="Serialized")).to_have_count(0)
    for status in InventoryStatus.runnable():
        if status in units:
            expect(page.get_by_role("radio", name=units[status].serial_number)).to_be_visible()
    expect(page.get_by_role("radio", name="LOT-OLD-1")).to_have_count(0)
    scrapped = page.locator("label.choice", has_text="SN-SCRAPPED-1")
    expect(scrapped).to_contain_text("Scrapped")
    expect(scrapped).to_contain_text("cannot take a new run")
    expect(page.locator("label.choice", has_text="SN-AVAILABLE-1")).not_to_contain_text("cannot take")
    shoot("3-identify")

    # Nothing picked: say so at the field.
    next_step(page)
    field = page.locator(".field.has-error")
    expect(field.get_by_role("alert")).to_have_text("Pick the inventory unit to attach.")

    # A scrapped unit is refused at the field, and stays picked so the planner sees which.
    page.get_by_role("radio", name="SN-SCRAPPED-1").check()
    next_step(page)
    expect_step(page, "Identify")
    field = page.locator(".field.has-error")
    expect(field.locator("label").first).to_have_text("Inventory item")
    expect(field.get_by_role("alert")).to_have_text(f"{NOT_RUNNABLE}: SN-SCRAPPED-1 is scrapped.")
    expect(page.get_by_role("radio", name="SN-SCRAPPED-1")).to_be_checked()
    shoot("3-identify-refused")

    # So are installed, consumed and held units.
    for status, label in (
        (InventoryStatus.ON_HOLD, "on hold"),
        (InventoryStatus.CONSUMED, "consumed"),
        (InventoryStatus.INSTALLED, "installed"),
    ):
        page.get_by_role("radio", name=units[status].serial_number).check()
        next_step(page)
        expect(page.locator(".field.has-error").get_by_role("alert")).to_have_text(
            f"{NOT_RUNNABLE}: {units[status].serial_number} is {label}."
        )

    # Search, then pick the available unit.
    with page.expect_response(lambda r: "q=" in r.url):
        page.get_by_role("searchbox", name="Inventory item").fill("avail")
    expect(page.get_by_role("radio", name="SN-KITTED-1")).to_have_count(0)
    page.get_by_role("radio", name="SN-AVAILABLE-1").check()
    shoot("3-identify-picked")
    next_step(page)

    expect_step(page, "Details")
    page.get_by_label("Run name", exact=True).fill("Bracket rework for SN-AVAILABLE-1")
    page.get_by_label("Due date").fill("2031-03-14")
    page.get_by_label("Assigned to").select_option(label="Priya Shah")
    shoot("4-details")
    add_to_review(page)

    expect_step(page, "Review")
    row = page.locator("tbody.review-row")
    expect(row).to_contain_text("Attach existing unit")
    expect(row).to_contain_text("SN-AVAILABLE-1")
    expect(row).to_contain_text("Available")
    expect(row).to_contain_text("Priya Shah")
    expect(row).to_contain_text("14 Mar 2031")
    shoot("5-review")
    page.get_by_role("button", name="Create run", exact=True).click()

    expect(page.get_by_role("heading", name="1 run created")).to_be_visible()
    expect(page.get_by_role("link", name="Bracket rework for SN-AVAILABLE-1")).to_be_visible()
    shoot("6-created")
    run = Run.objects.select_related("part_inventory").get()
    unit = units[InventoryStatus.AVAILABLE]
    unit.refresh_from_db()
    assert run.source == "attach" and run.part_inventory == unit and unit.status == InventoryStatus.WIP
    assert run.assigned_user == planner and str(run.due_date) == "2031-03-14"
    assert run.steps.count() == 3
    assert PartInventory.objects.count() == before, "an attach run makes no new unit"


def test_a_part_without_procedures_says_so_and_runs_on_quantity(
    live_server, page, log_in, shoot, planner, shop
):
    log_in(planner)
    open_wizard(page, live_server)
    next_step(page)
    search_part(page, "washer")
    pick_part(page, "WSHR-M6")
    notice = page.get_by_role("status").filter(has_text="No procedures available for this part")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("link the procedure to the part")
    expect(notice.get_by_role("link", name="procedure page")).to_be_visible()
    expect(page.get_by_role("radio", name="Bracket build · v1")).to_have_count(0)
    shoot("2-part-no-procedures")

    # Picking a part that has one brings the choices back.
    search_part(page, "rivet")
    pick_part(page, "RVT-AL-4")
    expect(page.get_by_text("No procedures available for this part")).to_have_count(0)
    expect(page.get_by_role("radio", name="Bracket build · v1")).to_be_visible()

    # Back to the washer, and on without a procedure: a quantity-only run.
    search_part(page, "WSHR")
    pick_part(page, "WSHR-M6")
    expect(notice).to_be_visible()
    next_step(page)
    expect_step(page, "Identify")
    expect(page.get_by_role("radio", name="Quantity only")).to_be_checked()
    expect(page.get_by_label("Serial number", exact=True)).to_be_hidden()
    expect(page.get_by_label("Lot number", exact=True)).to_be_hidden()
    page.get_by_label("Quantity", exact=True).fill("12")
    shoot("3-identify")
    next_step(page)
    add_to_review(page)
    expect(page.get_by_role("cell", name="Quantity 12")).to_be_visible()
    page.get_by_role("button", name="Create run", exact=True).click()
    expect(page.get_by_role("heading", name="1 run created")).to_be_visible()
    run = Run.objects.select_related("part_inventory").get()
    assert run.tracking_type == TrackingType.NONE and run.part_inventory.quantity == 12
    assert run.procedure_version is None and not run.steps.exists()


def test_the_stepper_jumps_back_and_forth_without_losing_what_was_typed(
    live_server, page, log_in, shoot, planner, shop
):
    log_in(planner)
    open_wizard(page, live_server)
    next_step(page)
    search_part(page, "bracket")
    pick_part(page, "BRKT-ASSY-001")
    page.get_by_role("radio", name="Bracket build · v1").check()
    next_step(page)

    # On Identify: earlier steps are buttons, the current one is marked, later ones are locked.
    expect_step(page, "Identify")
    expect(stepper_button(page, "Source")).to_be_visible()
    expect(stepper_button(page, "Part")).to_be_visible()
    expect(stepper_button(page, "Details")).to_have_count(0)
    expect(page.locator('.stepper [aria-disabled="true"]')).to_have_text(["Details", "Review"])
    page.get_by_label("Serial number", exact=True).fill("SN-TYPED-9")
    shoot("3-identify-typed")

    # Jump back to Part: the serial typed on Identify is kept, and Identify is still reachable.
    jump_to(page, "Part")
    expect_step(page, "Part")
    expect(page.get_by_role("radio", name="BRKT-ASSY-001 rev A")).to_be_checked()
    expect(page.get_by_role("radio", name="Bracket build · v1")).to_be_checked()
    shoot("2-part-jumped-back")
    jump_to(page, "Identify")
    expect_step(page, "Identify")
    expect(page.get_by_label("Serial number", exact=True)).to_have_value("SN-TYPED-9")
    next_step(page)

    # On Details, type a name and a due date, jump to Source and come back through the stepper.
    expect_step(page, "Details")
    page.get_by_label("Run name", exact=True).fill("PO-4471 first article")
    page.get_by_label("Due date").fill("2031-01-20")
    jump_to(page, "Source")
    expect_step(page, "Source")
    expect(page.get_by_role("radio", name="Build a new item")).to_be_checked()
    jump_to(page, "Details")
    expect_step(page, "Details")
    expect(page.get_by_label("Run name", exact=True)).to_have_value("PO-4471 first article")
    expect(page.get_by_label("Due date")).to_have_value("2031-01-20")

    # Even half-finished work survives a jump: a run name unticked and left blank.
    page.get_by_label("Run name", exact=True).fill("")
    page.get_by_label("Auto-generated").uncheck()
    jump_to(page, "Identify")
    expect_step(page, "Identify")
    expect(page.get_by_label("Serial number", exact=True)).to_have_value("SN-TYPED-9")
    next_step(page)
    expect_step(page, "Details")
    expect(page.get_by_label("Auto-generated")).not_to_be_checked()
    add_to_review(page)
    expect_step(page, "Details")
    expect(page.locator(".field.has-error").get_by_role("alert")).to_have_text(
        "Type a run name or check Auto-generated."
    )
    page.get_by_label("Run name", exact=True).fill("PO-4471 first article")
    add_to_review(page)

    expect_step(page, "Review")
    row = page.locator("tbody.review-row")
    expect(row).to_contain_text("PO-4471 first article")
    expect(row).to_contain_text("SN-TYPED-9")
    expect(row).to_contain_text("20 Jan 2031")
    # From Review every step can be revisited.
    for label in ("Source", "Part", "Identify", "Details"):
        expect(stepper_button(page, label)).to_be_visible()


def test_reloading_a_step_or_opening_a_second_tab_keeps_the_draft(
    live_server, page, log_in, shoot, planner, shop
):
    log_in(planner)
    open_wizard(page, live_server)
    next_step(page)
    search_part(page, "bracket")
    pick_part(page, "BRKT-ASSY-001")
    page.get_by_role("radio", name="Bracket build · v1").check()
    next_step(page)
    page.get_by_label("Serial number", exact=True).fill("SN-RELOAD-1")
    next_step(page)
    expect_step(page, "Details")
    step_url = page.url

    # Reload Details: still on Details, and the earlier steps still hold.
    page.reload()
    expect_step(page, "Details")
    assert page.url == step_url
    jump_to(page, "Identify")
    expect_step(page, "Identify")
    expect(page.get_by_label("Serial number", exact=True)).to_have_value("SN-RELOAD-1")
    page.reload()
    expect_step(page, "Identify")
    expect(page.get_by_label("Serial number", exact=True)).to_have_value("SN-RELOAD-1")
    jump_to(page, "Part")
    expect_step(page, "Part")
    page.reload()
    expect_step(page, "Part")
    expect(page.get_by_role("radio", name="BRKT-ASSY-001 rev A")).to_be_checked()
    expect(page.get_by_role("radio", name="Bracket build · v1")).to_be_checked()
    next_step(page)
    next_step(page)
    page.get_by_label("Run name", exact=True).fill("First tab's run")
    add_to_review(page)
    expect_step(page, "Review")

    # Reloading Review keeps the row: it lives on the server.
    page.reload()
    expect_step(page, "Review")
    expect(page.locator("tbody.review-row")).to_have_count(1)
    expect(page.locator("tbody.review-row")).to_contain_text("First tab's run")

    # A second tab starts its own wizard; the first tab's row is still there, and
    # the second tab's run joins the same review.
    second = page.context.new_page()
    second.goto(f"{live_server.url}/runs/new/")
    expect_step(second, "Source")
    assert second.url != page.url
    next_step(second)
    search_part(second, "SEAL")
    pick_part(second, "SEAL-OR-214")
    next_step(second)
    second.get_by_label("Lot number", exact=True).fill("LOT-TAB-2")
    next_step(second)
    add_to_review(second)
    expect_step(second, "Review")
    expect(second.locator("tbody.review-row")).to_have_count(2)
    expect(second.get_by_role("button", name="Create 2 runs")).to_be_visible()

    page.reload()
    expect(page.locator("tbody.review-row")).to_have_count(2)
    expect(page.locator("tbody.review-row").first).to_contain_text("First tab's run")
    jump_to(page, "Identify")
    expect(page.get_by_label("Serial number", exact=True)).to_have_value("SN-RELOAD-1")
    shoot("3-identify-first-tab")
    second.close()


def test_a_typed_serial_unticks_auto_generated_and_a_used_one_is_refused_at_the_field(
    live_server, page, log_in, shoot, planner, shop
):
    log_in(planner)
    open_wizard(page, live_server)
    next_step(page)
    search_part(page, "bracket")
    pick_part(page, "BRKT-ASSY-001")
    next_step(page)

    serial = page.get_by_label("Serial number", exact=True)
    auto = page.locator('[data-tracking="serial"]').get_by_label("Auto-generated")
    serial.fill("SN-AVAILABLE-1")
    expect(auto).not_to_be_checked()
    next_step(page)
    expect_step(page, "Identify")
    field = page.locator('.field[data-tracking="serial"]')
    expect(field.get_by_role("alert")).to_have_text(
        "Serial number SN-AVAILABLE-1 is already used by BRKT-ASSY-001 in inventory."
    )
    expect(serial).to_have_value("SN-AVAILABLE-1")
    shoot("3-identify-serial-taken")

    # Ticking Auto-generated clears the typed serial; emptying the field ticks it again.
    auto.check()
    expect(serial).to_have_value("")
    serial.fill("SN-NEW-7")
    expect(auto).not_to_be_checked()
    serial.fill("")
    expect(auto).to_be_checked()
    serial.fill("SN-NEW-7")
    next_step(page)
    expect_step(page, "Details")
    run_name = page.get_by_label("Run name", exact=True)
    run_name.fill("PO-88")
    expect(page.get_by_label("Auto-generated")).not_to_be_checked()
    add_to_review(page)
    expect(page.get_by_role("cell", name="SN-NEW-7", exact=True)).to_be_visible()
    page.get_by_role("button", name="Create run", exact=True).click()
    expect(page.get_by_role("heading", name="1 run created")).to_be_visible()
    run = Run.objects.select_related("part_inventory").get()
    assert (run.name, run.part_inventory.serial_number) == ("PO-88", "SN-NEW-7")


def test_switching_from_build_to_attach_after_authoring(live_server, page, log_in, shoot, planner, shop):
    log_in(planner)
    open_wizard(page, live_server)
    next_step(page)
    search_part(page, "bracket")
    pick_part(page, "BRKT-ASSY-001")
    page.get_by_role("radio", name="Bracket build · v1").check()
    next_step(page)
    next_step(page)
    expect_step(page, "Details")

    jump_to(page, "Source")
    page.get_by_role("radio", name="Use an item already in inventory").check()
    next_step(page)
    expect_step(page, "Part")
    expect(page.get_by_role("radio", name="BRKT-ASSY-001 rev A")).to_be_checked()
    expect(page.get_by_role("radio", name="Bracket build · v1")).to_be_checked()
    next_step(page)
    expect_step(page, "Identify")
    expect(page.get_by_role("radio", name="Serialized")).to_have_count(0)
    page.get_by_role("radio", name="SN-KITTED-1").check()
    next_step(page)
    add_to_review(page)
    row = page.locator("tbody.review-row")
    expect(row).to_contain_text("Attach existing unit")
    expect(row).to_contain_text("SN-KITTED-1")
    page.get_by_role("button", name="Create run", exact=True).click()
    expect(page.get_by_role("heading", name="1 run created")).to_be_visible()
    run = Run.objects.get()
    assert run.source == "attach" and run.part_inventory == shop["units"][InventoryStatus.KITTED]


def test_changing_the_part_drops_the_unit_picked_for_the_old_part(
    live_server, page, log_in, shoot, planner, shop
):
    log_in(planner)
    open_wizard(page, live_server)
    page.get_by_role("radio", name="Use an item already in inventory").check()
    next_step(page)
    search_part(page, "BRKT")
    pick_part(page, "BRKT-ASSY-001")
    next_step(page)
    page.get_by_role("radio", name="SN-AVAILABLE-1").check()
    next_step(page)
    expect_step(page, "Details")

    jump_to(page, "Part")
    search_part(page, "SEAL")
    pick_part(page, "SEAL-OR-214")
    next_step(page)
    expect_step(page, "Identify")
    shoot("3-identify-after-part-change")
    expect(page.get_by_role("radio", name="LOT-OLD-1 × 40")).to_be_visible()
    expect(page.get_by_role("radio", name="SN-AVAILABLE-1")).to_have_count(0, timeout=2_000)
    expect(page.get_by_role("alert")).to_have_count(0, timeout=2_000)
