"""The New Run wizard's edges, in a real browser: Undo on Review, an emptied Review, the stepper
on a fresh wizard, choices made for the planner on Part and Details, refusals at the field,
and Enter in a picker's search box.

Review rows are made with factories where authoring them through the wizard is not the point.
Screenshots go to test-artifacts/<test name>/<stage>.png.
"""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from inventory.models import InventoryStatus, TrackingType
from runs.models import RunDraft, RunStatus
from runs.review import UNDO_GRACE_SECONDS, UNDO_SECONDS
from tests import factories

pytestmark = pytest.mark.browser

TOO_LATE = "Too late to undo: that row was discarded."


@pytest.fixture
def planner(org):
    return factories.PlannerFactory(
        organisation=org, username="priya", first_name="Priya", last_name="Shah", export_cleared=True
    )


@pytest.fixture
def shop(org):
    """Two brackets (one runnable procedure each), a lot-tracked seal, an export-controlled gyro."""
    bracket = factories.PartFactory(
        organisation=org, number="BRKT-ASSY-001", description="Engine mount bracket assembly"
    )
    bracket_2 = factories.PartFactory(
        organisation=org, number="BRKT-ASSY-002", description="Tail bracket assembly"
    )
    seal = factories.PartFactory(
        organisation=org, number="SEAL-OR-214", description="O-ring seal", tracking_type=TrackingType.LOT
    )
    gyro = factories.PartFactory(
        organisation=org, number="GYRO-EC-9", description="Rate gyro", export_controlled=True
    )
    version = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[bracket], title="Bracket build", steps=2
    )
    factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[bracket_2], title="Tail bracket build", steps=1
    )
    # A draft of another family linked to the bracket is never offered, so never preselected.
    factories.ProcedureVersionFactory(procedure__organisation=org, parts=[bracket], title="Draft rework")
    return {"bracket": bracket, "bracket_2": bracket_2, "seal": seal, "gyro": gyro, "version": version}


def draft_data(part, version=None, **overrides) -> dict:
    """A Review row as the wizard stores it (as in tests/runs/test_services.py)."""
    return {
        "source": "build",
        "part": part.pk,
        "procedure": version.pk if version else None,
        "inventory": None,
        "tracking_type": part.tracking_type,
        "serial_number": "",
        "lot_number": "",
        "quantity": 1,
        "name": "",
        "due_date": None,
        "export_controlled": False,
        "assigned_user": None,
        "assigned_team": None,
        "attributes": {},
    } | overrides


def make_rows(planner, shop, *names):
    return [
        factories.RunDraftFactory(
            owner=planner, position=position, data=draft_data(shop["bracket"], shop["version"], name=name)
        )
        for position, name in enumerate(names, start=1)
    ]


def removed_seconds_ago(draft, seconds):
    """Pretend the row was removed `seconds` ago, rather than waiting for it."""
    RunDraft.objects.filter(pk=draft.pk).update(
        removed_at=timezone.now() - datetime.timedelta(seconds=seconds)
    )


# -- moving through the wizard ----------------------------------------------------------


def current_step(page):
    return page.locator('.stepper [aria-current="step"]')


def expect_step(page, label):
    expect(current_step(page)).to_have_count(1)
    expect(current_step(page)).to_have_text(label)
    expect(page).to_have_title(re.compile(rf"^New Run · {label}"))


def stepper_button(page, label):
    return page.get_by_role("navigation", name="New Run steps").get_by_role("button", name=label)


def locked_steps(page):
    return page.locator('.stepper [aria-disabled="true"]')


def done_steps(page):
    return page.locator(".stepper li.is-done")


def submit(page, button):
    """Click a button that posts the wizard form, and wait for the page it leads to."""
    with page.expect_navigation():
        button.click()


def next_step(page):
    submit(page, page.get_by_role("button", name="Next →"))


def add_to_review(page):
    submit(page, page.get_by_role("button", name="Add to review →"))


def step_url(page, step):
    return re.sub(r"/[a-z]+/$", f"/{step}/", page.url)


def open_wizard(page, live_server):
    page.goto(f"{live_server.url}/runs/new/")
    expect_step(page, "Source")


def open_review(page, live_server):
    """A fresh wizard's Review: the planner's saved rows, whatever the steps hold."""
    open_wizard(page, live_server)
    page.goto(step_url(page, "review"))
    expect_step(page, "Review")


def search_part(page, text):
    with page.expect_response(lambda r: "q=" in r.url and r.request.headers.get("hx-request") == "true"):
        page.get_by_role("searchbox", name="Part").fill(text)


def pick_part(page, number):
    with page.expect_response(lambda r: "part=" in r.url):
        page.get_by_role("radio", name=f"{number} rev A").check()


def to_identify(page, live_server, part_query, number, *, attach=False):
    open_wizard(page, live_server)
    if attach:
        page.get_by_role("radio", name="Use an item already in inventory").check()
    next_step(page)
    search_part(page, part_query)
    pick_part(page, number)
    next_step(page)
    expect_step(page, "Identify")


def rows(page):
    return page.locator("tbody.review-row")


def row(page, text):
    return rows(page).filter(has_text=text)


def undo_rows(page):
    return page.locator("tbody.undo-row")


def undo_row(page, name):
    return undo_rows(page).filter(has_text=f"Removed “{name}”.")


def row_names(page) -> list[str]:
    return [
        text.split("\n")[0].strip() for text in rows(page).locator("> tr > td:nth-child(2)").all_inner_texts()
    ]


# -- Undo on Review ---------------------------------------------------------------------


def test_every_undo_works_until_it_visibly_expires(live_server, page, log_in, shoot, planner, shop):
    log_in(planner)
    # Authored in this sign-in: rows from before it would be marked "From earlier".
    alpha, bravo, charlie = make_rows(planner, shop, "Alpha", "Bravo", "Charlie")
    open_review(page, live_server)
    create = page.locator("#create-button")
    expect(rows(page)).to_have_count(3)
    expect(create).to_have_text("Create 3 runs")

    # Remove two rows: each leaves an Undo.
    row(page, "Alpha").get_by_role("button", name="Remove").click()
    expect(undo_row(page, "Alpha")).to_be_visible()
    row(page, "Bravo").get_by_role("button", name="Remove").click()
    expect(undo_row(page, "Bravo")).to_be_visible()
    expect(undo_row(page, "Alpha")).to_be_visible()
    expect(rows(page)).to_have_count(1)
    expect(create).to_have_text("Create run")
    shoot("1-two-removed")

    # The first Undo brings its row back (it used to answer 404), and the second still works.
    undo_row(page, "Alpha").get_by_role("button", name="Undo").click()
    expect(row(page, "Alpha")).to_be_visible()
    expect(undo_row(page, "Alpha")).to_have_count(0)
    expect(undo_row(page, "Bravo").get_by_role("button", name="Undo")).to_be_visible()
    expect(create).to_have_text("Create 2 runs")
    shoot("2-first-undone")
    undo_row(page, "Bravo").get_by_role("button", name="Undo").click()
    expect(row(page, "Bravo")).to_be_visible()
    expect(undo_rows(page)).to_have_count(0)
    expect(create).to_have_text("Create 3 runs")
    expect(page.get_by_text("No RunDraft matches")).to_have_count(0)
    assert row_names(page) == ["Alpha", "Bravo", "Charlie"]
    page.reload()
    assert row_names(page) == ["Alpha", "Bravo", "Charlie"]
    shoot("3-both-undone")

    # An Undo expires on screen when its time is up: here, three seconds after the reload.
    row(page, "Charlie").get_by_role("button", name="Remove").click()
    expect(undo_row(page, "Charlie")).to_be_visible()
    removed_seconds_ago(charlie, UNDO_SECONDS - 3)
    page.reload()
    expect(undo_row(page, "Charlie").get_by_role("button", name="Undo")).to_be_visible()
    shoot("4-undo-about-to-expire")
    expect(undo_rows(page)).to_have_count(0, timeout=10_000)
    expect(rows(page)).to_have_count(2)
    expect(create).to_have_text("Create 2 runs")
    shoot("5-undo-expired")
    # Past its time, a reload offers no Undo either.
    page.reload()
    expect(rows(page)).to_have_count(2)
    expect(undo_rows(page)).to_have_count(0)

    # An Undo clicked after the row was discarded (by another tab's purge) says so.
    row(page, "Bravo").get_by_role("button", name="Remove").click()
    expect(undo_row(page, "Bravo")).to_be_visible()
    removed_seconds_ago(bravo, UNDO_SECONDS + UNDO_GRACE_SECONDS + 1)
    other_tab = page.context.new_page()
    other_tab.goto(page.url)
    expect_step(other_tab, "Review")
    expect(other_tab.locator("tbody.review-row")).to_have_count(1)
    other_tab.close()
    assert not RunDraft.objects.filter(pk=bravo.pk).exists()
    undo_row(page, "Bravo").get_by_role("button", name="Undo").click()
    expect(page.get_by_role("status").filter(has_text=TOO_LATE)).to_be_visible()
    expect(page.get_by_role("button", name="Undo")).to_have_count(0)
    expect(rows(page)).to_have_count(1)
    expect(row(page, "Alpha")).to_be_visible()
    expect(create).to_have_text("Create run")
    shoot("6-too-late")
    kept = RunDraft.objects.filter(owner=planner, removed_at__isnull=True)
    assert list(kept.values_list("pk", flat=True)) == [alpha.pk]


def test_review_emptied_by_expired_undos_shows_an_empty_state_not_a_redirect_loop(
    live_server, page, log_in, shoot, planner, shop
):
    drafts = make_rows(planner, shop, "Alpha", "Bravo")
    log_in(planner)
    open_review(page, live_server)
    review_url = page.url
    for name in ("Alpha", "Bravo"):
        row(page, name).get_by_role("button", name="Remove").click()
        expect(undo_row(page, name)).to_be_visible()
    expect(rows(page)).to_have_count(0)
    shoot("1-all-removed")

    for draft in drafts:
        removed_seconds_ago(draft, UNDO_SECONDS + UNDO_GRACE_SECONDS + 1)
    response = page.reload()
    assert response.status == 200 and response.request.redirected_from is None
    assert page.url == review_url
    expect_step(page, "Review")
    expect(page.get_by_text("No runs to review yet.")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Create"))).to_have_count(0)
    expect(page.get_by_label("Batch runs")).to_have_count(0)
    assert not RunDraft.objects.filter(owner=planner).exists()
    shoot("2-empty-review")

    # Reloading again is just as calm, and the way out authors a run.
    response = page.reload()
    assert response.status == 200 and response.request.redirected_from is None
    page.get_by_role("link", name="Author a run").click()
    expect_step(page, "Source")
    assert page.url != review_url

    # No URL of a fresh wizard loops: each answers after at most one redirect.
    for step in ("source", "part", "identify", "details", "review", "done", "nonsense"):
        response = page.goto(step_url(page, step))
        assert response.status in (200, 404), step
        first = response.request.redirected_from
        assert first is None or first.redirected_from is None, f"{step} redirected twice"


# -- the stepper ------------------------------------------------------------------------


def test_a_fresh_wizard_claims_no_step_done_and_sends_a_jump_to_the_first_missing_step(
    live_server, page, log_in, shoot, planner, shop
):
    log_in(planner)
    open_wizard(page, live_server)
    expect(done_steps(page)).to_have_count(0)
    expect(locked_steps(page)).to_have_text(["Part", "Identify", "Details", "Review"])
    expect(stepper_button(page, "Review")).to_have_count(0)
    shoot("1-fresh-source")

    # The Details URL of a fresh wizard lands on Source, saying why.
    page.goto(step_url(page, "details"))
    expect_step(page, "Source")
    expect(
        page.get_by_role("status").filter(has_text="Complete Source first: Details needs it.")
    ).to_be_visible()
    shoot("2-details-sent-to-source")

    # Only a step whose data is valid gets its ✓.
    next_step(page)
    expect_step(page, "Part")
    expect(done_steps(page)).to_have_text(["Source"])
    expect(locked_steps(page)).to_have_text(["Identify", "Details", "Review"])

    # With rows saved, Review opens from a fresh wizard, and still no step is ✓.
    make_rows(planner, shop, "Alpha")
    open_wizard(page, live_server)
    expect(stepper_button(page, "Review")).to_be_visible()
    page.goto(step_url(page, "review"))
    expect_step(page, "Review")
    expect(rows(page)).to_have_count(1)
    expect(done_steps(page)).to_have_count(0)
    expect(stepper_button(page, "Source")).to_be_visible()
    expect(locked_steps(page)).to_have_text(["Part", "Identify", "Details"])
    shoot("3-fresh-wizard-at-review")
    page.goto(step_url(page, "details"))
    expect_step(page, "Source")
    expect(
        page.get_by_role("status").filter(has_text="Complete Source first: Details needs it.")
    ).to_be_visible()


# -- choices made for the planner -------------------------------------------------------


def test_the_only_runnable_procedure_is_preselected_and_none_stays_a_choice(
    live_server, page, log_in, shoot, planner, shop
):
    log_in(planner)
    open_wizard(page, live_server)
    next_step(page)
    search_part(page, "BRKT-ASSY-001")
    pick_part(page, "BRKT-ASSY-001")
    expect(page.get_by_role("radio", name="Bracket build · v1")).to_be_checked()
    expect(page.get_by_role("radio", name="None — add one later")).not_to_be_checked()
    expect(page.get_by_role("radio", name=re.compile("Draft rework"))).to_have_count(0)
    shoot("1-preselected")

    page.get_by_role("radio", name="None — add one later").check()
    next_step(page)
    expect_step(page, "Identify")
    submit(page, stepper_button(page, "Part"))
    expect_step(page, "Part")
    expect(page.get_by_role("radio", name="None — add one later")).to_be_checked()
    expect(page.get_by_role("radio", name="Bracket build · v1")).not_to_be_checked()
    shoot("2-none-kept")


def test_from_a_procedure_linked_to_several_parts_the_part_step_names_the_procedure(
    live_server, page, log_in, shoot, planner, shop, org
):
    gasket = factories.PartFactory(organisation=org, number="GSKT-9", description="Gasket")
    fitting = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[shop["seal"], gasket], title="Seal fitting", number=2, steps=1
    )
    # The seal has a second runnable procedure: the one the planner came from must win.
    factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[shop["seal"]], title="Seal inspection", steps=1
    )
    log_in(planner)
    page.goto(f"{live_server.url}/procedures/{fitting.pk}/")
    page.get_by_role("link", name="Create Run").click()
    expect_step(page, "Source")
    next_step(page)

    expect_step(page, "Part")
    notice = page.get_by_role("status").filter(has_text="is preselected")
    expect(notice).to_have_text("Procedure Seal fitting · v2 is preselected: pick one of its parts above.")
    # The procedure's parts are offered first, and only they.
    expect(page.locator("#part-results").get_by_role("radio")).to_have_count(2)
    expect(page.get_by_role("radio", name="SEAL-OR-214 rev A")).to_be_visible()
    expect(page.get_by_role("radio", name="GSKT-9 rev A")).to_be_visible()
    shoot("1-procedure-named")

    pick_part(page, "SEAL-OR-214")
    expect(notice).to_have_count(0)
    expect(page.get_by_role("radio", name="Seal fitting · v2")).to_be_checked()
    expect(page.get_by_role("radio", name="Seal inspection · v1")).not_to_be_checked()
    expect(page.get_by_role("radio", name="None — add one later")).not_to_be_checked()
    shoot("2-part-picked")


def test_assigned_to_offers_only_cleared_people_for_an_export_controlled_run(
    live_server, page, log_in, shoot, planner, shop, org
):
    factories.UserFactory(organisation=org, first_name="Uma", last_name="Uncleared", export_cleared=False)
    factories.UserFactory(organisation=org, first_name="Carl", last_name="Cleared", export_cleared=True)
    factories.TeamFactory(organisation=org, name="Line 2 crew")
    make_rows(planner, shop, "Bracket run")
    everyone = [
        "Nobody — the unassigned pool",
        "Line 2 crew (team)",
        "Carl Cleared",
        "Priya Shah",
        "Uma Uncleared",
    ]
    cleared = [name for name in everyone if name != "Uma Uncleared"]

    log_in(planner)
    to_identify(page, live_server, "GYRO", "GYRO-EC-9")
    next_step(page)
    expect_step(page, "Details")
    expect(page.get_by_label("Export controlled")).to_be_checked()
    expect(page.get_by_label("Export controlled")).to_be_disabled()
    assigned = page.get_by_label("Assigned to")
    expect(assigned.locator("option")).to_have_text(cleared)
    expect(assigned.locator("optgroup")).to_have_count(2)
    groups = assigned.locator("optgroup").evaluate_all("groups => groups.map(g => g.label)")
    assert groups == ["Teams", "People"]
    shoot("1-details-export-controlled")
    assigned.select_option(label="Carl Cleared")
    add_to_review(page)

    # Review's editor offers the same: everyone for the bracket, only the cleared for the gyro.
    expect(rows(page)).to_have_count(2)
    gyro_row = row(page, "GYRO-EC-9")
    expect(gyro_row).to_contain_text("Carl Cleared")
    row(page, "Bracket run").get_by_role("link", name="Edit").click()
    editor = page.get_by_role("form", name="Edit run")
    expect(editor.get_by_label("Assigned to").locator("option")).to_have_text(everyone)
    editor.get_by_role("link", name="Cancel").click()
    expect(editor).to_have_count(0)
    gyro_row.get_by_role("link", name="Edit").click()
    expect(editor.get_by_label("Assigned to").locator("option")).to_have_text(cleared)
    expect(editor.get_by_label("Assigned to")).to_have_value(re.compile(r"^user:\d+$"))
    shoot("2-review-edit-export-controlled")


# -- refusals and notes at the field ----------------------------------------------------


def test_a_typed_lot_that_already_exists_for_the_part_is_refused_at_the_field(
    live_server, page, log_in, shoot, planner, shop
):
    factories.PartInventoryFactory(part=shop["seal"], serial_number="", lot_number="L2600-17", quantity=40)
    # The same number on another part is no conflict.
    factories.PartInventoryFactory(part=shop["bracket"], serial_number="", lot_number="L2600-18")
    log_in(planner)
    to_identify(page, live_server, "SEAL", "SEAL-OR-214")
    lot = page.get_by_label("Lot number", exact=True)
    lot.fill("L2600-17")
    page.get_by_label("Quantity", exact=True).fill("5")
    next_step(page)

    expect_step(page, "Identify")
    field = page.locator('.field[data-tracking="lot"]')
    expect(field.get_by_role("alert")).to_have_text("Lot L2600-17 already exists for this part.")
    expect(page.get_by_role("alert")).to_have_count(1)
    expect(lot).to_have_value("L2600-17")
    shoot("1-lot-refused")

    lot.fill("L2600-18")
    next_step(page)
    expect_step(page, "Details")


def test_the_inventory_picker_says_which_unit_has_an_open_run(
    live_server, page, log_in, shoot, planner, shop, org
):
    bracket = shop["bracket"]
    busy = factories.PartInventoryFactory(
        part=bracket, serial_number="SN-BUSY-1", status=InventoryStatus.KITTED
    )
    factories.RunFactory(
        organisation=org, part=bracket, part_inventory=busy, number=27, status=RunStatus.TODO
    )
    done = factories.PartInventoryFactory(part=bracket, serial_number="SN-DONE-1")
    factories.RunFactory(
        organisation=org, part=bracket, part_inventory=done, number=12, status=RunStatus.COMPLETE
    )
    factories.PartInventoryFactory(part=bracket, serial_number="SN-FREE-1")

    log_in(planner)
    to_identify(page, live_server, "BRKT-ASSY-001", "BRKT-ASSY-001", attach=True)
    unit = page.locator("label.choice", has_text="SN-BUSY-1")
    expect(unit).to_contain_text("has open run #27")
    expect(page.locator("label.choice", has_text="SN-DONE-1")).not_to_contain_text("open run")
    expect(page.locator("label.choice", has_text="SN-FREE-1")).not_to_contain_text("open run")
    shoot("1-open-run-noted")

    # Search results say so too.
    with page.expect_response(lambda r: "q=" in r.url):
        page.get_by_role("searchbox", name="Inventory item").fill("BUSY")
    expect(page.locator("label.choice")).to_have_count(1)
    expect(unit).to_contain_text("has open run #27")
    shoot("2-open-run-noted-in-search")


# -- Enter in a search box --------------------------------------------------------------


def press_enter_and_stay(page, searchbox, query):
    """Type a query, press Enter, and check the page searched in place rather than posting the step."""
    posts = []

    def record(request):
        if request.method == "POST":
            posts.append(request.url)

    page.on("request", record)
    page.evaluate("window.stillHere = true")
    searchbox.fill(query)
    with page.expect_response(lambda r: f"q={query}" in r.url):
        searchbox.press("Enter")
    # A form submission would have posted by the time the search answered; give it a moment more.
    page.wait_for_timeout(300)
    page.remove_listener("request", record)
    assert posts == [], "Enter submitted the step"
    assert page.evaluate("window.stillHere") is True
    expect(searchbox).to_have_value(query)


def test_enter_in_a_search_box_searches_or_picks_the_only_match(
    live_server, page, log_in, shoot, planner, shop
):
    for status in (InventoryStatus.AVAILABLE, InventoryStatus.KITTED, InventoryStatus.SCRAPPED):
        factories.PartInventoryFactory(
            part=shop["bracket"], serial_number=f"SN-{status.upper()}-1", status=status
        )
    log_in(planner)
    open_wizard(page, live_server)
    page.get_by_role("radio", name="Use an item already in inventory").check()
    next_step(page)

    # Part: Enter searches; the query stays and nothing is refused.
    expect_step(page, "Part")
    part_search = page.get_by_role("searchbox", name="Part")
    press_enter_and_stay(page, part_search, "BRKT")
    expect_step(page, "Part")
    expect(page.get_by_role("radio", name="BRKT-ASSY-001 rev A")).to_be_visible()
    expect(page.get_by_role("radio", name="BRKT-ASSY-002 rev A")).to_be_visible()
    expect(page.get_by_role("radio", name="SEAL-OR-214 rev A")).to_have_count(0)
    expect(page.locator("#part-results input:checked")).to_have_count(0)
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.get_by_text("Pick the part")).to_have_count(0)
    shoot("1-part-enter-searches")

    # An exact query with one match: Enter picks it, and its procedure follows.
    press_enter_and_stay(page, part_search, "BRKT-ASSY-001")
    expect(page.get_by_role("radio", name="BRKT-ASSY-001 rev A")).to_be_checked()
    expect(page.get_by_role("radio", name="Bracket build · v1")).to_be_checked()
    expect(page.get_by_role("alert")).to_have_count(0)
    shoot("2-part-enter-picks")
    next_step(page)

    # Identify's inventory picker behaves the same.
    expect_step(page, "Identify")
    expect(page.get_by_text("BRKT-ASSY-001 rev A — Engine mount bracket assembly")).to_be_visible()
    unit_search = page.get_by_role("searchbox", name="Inventory item")
    press_enter_and_stay(page, unit_search, "SN-")
    expect(page.locator("#unit-results").get_by_role("radio")).to_have_count(3)
    expect(page.locator("#unit-results input:checked")).to_have_count(0)
    expect(page.get_by_role("alert")).to_have_count(0)
    shoot("3-unit-enter-searches")
    press_enter_and_stay(page, unit_search, "KITTED")
    expect(page.get_by_role("radio", name="SN-KITTED-1")).to_be_checked()
    expect(page.get_by_role("alert")).to_have_count(0)
    shoot("4-unit-enter-picks")
    next_step(page)
    expect_step(page, "Details")
    add_to_review(page)
    expect(row(page, "SN-KITTED-1")).to_contain_text("Attach existing unit")


# -- pickers and Review's small print ---------------------------------------------------


def test_pickers_say_how_many_match_and_that_the_list_scrolls(
    live_server, page, log_in, shoot, planner, shop
):
    for number in range(25):
        factories.PartFactory(organisation=planner.organisation, number=f"WIDGET-{number:03}")
    for number in range(3):
        factories.PartInventoryFactory(part=shop["bracket"], serial_number=f"SN-77{number}")
    log_in(planner)
    open_wizard(page, live_server)
    page.get_by_role("radio", name="Use an item already in inventory").check()
    next_step(page)

    count = page.locator("#part-results .picker-count")
    shown = "20 of 29 parts — type to narrow · scroll the list for more"
    expect(count).to_have_text(shown, use_inner_text=True)
    shoot("1-all-parts")
    search_part(page, "BRKT")
    expect(count).to_have_text("2 of 29 parts match “BRKT”", use_inner_text=True)
    search_part(page, "WIDGET")
    expect(count).to_contain_text("20 of 25 parts matching “WIDGET” — type to narrow")
    # Scrolled to its end, the list no longer says there is more below.
    page.locator("#part-results").evaluate("e => e.scrollTo(0, e.scrollHeight)")
    expect(page.get_by_text("scroll the list for more")).to_be_hidden()
    shoot("2-widgets-scrolled")

    search_part(page, "BRKT-ASSY-001")
    pick_part(page, "BRKT-ASSY-001")
    next_step(page)
    expect_step(page, "Identify")
    # All of them shown: no "3 of 3".
    expect(page.locator("#unit-results .picker-count")).to_have_text("3 units", use_inner_text=True)


def test_copies_says_how_many_rows_it_adds_and_removed_rows_are_named(
    live_server, page, log_in, shoot, planner, shop
):
    factories.RunDraftFactory(
        owner=planner, position=1, data=draft_data(shop["bracket"], shop["version"], serial_number="SN-0042")
    )
    log_in(planner)
    open_review(page, live_server)
    first = rows(page).first
    copies = first.get_by_label("Copies")
    expect(first.locator("label", has_text="Copies")).to_be_visible()
    expect(first.get_by_text("adds 1 row")).to_be_visible()
    copies.fill("4")
    expect(first.get_by_text("adds 4 rows")).to_be_visible()
    shoot("1-four-copies")
    first.get_by_role("button", name="Duplicate").click()
    expect(rows(page)).to_have_count(5)

    row(page, "SN-0043").get_by_role("button", name="Remove").click()
    expect(undo_rows(page)).to_have_text(re.compile("Removed “BRKT-ASSY-001 · SN-0043”."))
    shoot("2-removed-named")


def test_the_batch_mismatch_notice_shows_only_while_batching(live_server, page, log_in, shoot, planner, shop):
    factories.RunDraftFactory(owner=planner, position=1, data=draft_data(shop["bracket"], shop["version"]))
    tail_version = shop["bracket_2"].procedure_versions.get()
    factories.RunDraftFactory(owner=planner, position=2, data=draft_data(shop["bracket_2"], tail_version))
    log_in(planner)
    open_review(page, live_server)
    notice = page.get_by_text("Runs in a batch share one procedure version")
    expect(rows(page)).to_have_count(2)
    expect(notice).to_be_hidden()
    page.get_by_label("Batch runs").check()
    expect(notice).to_be_visible()
    shoot("batching-mismatch")
    page.get_by_label("Batch runs").uncheck()
    expect(notice).to_be_hidden()


def test_removing_every_row_ends_in_the_empty_state_with_no_create_button(
    live_server, page, log_in, shoot, planner, shop, monkeypatch
):
    monkeypatch.setattr("runs.review.UNDO_SECONDS", 2)
    make_rows(planner, shop, "Alpha")
    log_in(planner)
    open_review(page, live_server)
    row(page, "Alpha").get_by_role("button", name="Remove").click()
    expect(undo_row(page, "Alpha")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Create"))).to_have_count(0)
    shoot("1-removed")
    # The Undo expires: the list is empty, and Review says so, offering to author a run.
    expect(page.get_by_text("No runs to review yet.")).to_be_visible(timeout=10_000)
    expect(page.get_by_role("link", name="Author a run")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Create"))).to_have_count(0)
    expect(page.locator("#create-button")).to_have_count(0)
    shoot("2-empty")
