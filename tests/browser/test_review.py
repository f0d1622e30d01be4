"""Review in a real browser: duplicate into copies, edit in place, remove and undo, batch, create.

Screenshots of each stage go to test-artifacts/review/<stage>.png.
"""

import re

import pytest
from playwright.sync_api import expect

from runs.models import Run, RunBatch, RunDraft
from tests import factories
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "review"


@pytest.fixture
def planner(org):
    factories.ensure_demo_groups()
    return factories.PlannerFactory(
        organisation=org, username="priya", first_name="Priya", export_cleared=True
    )


@pytest.fixture
def part(org):
    part = factories.PartFactory(organisation=org, number="BRKT-ASSY-001", description="Engine bracket")
    factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], title="Bracket build", steps=3
    )
    return part


@pytest.fixture
def shot(page):
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(stage: str):
        page.screenshot(path=SHOTS / f"{stage}.png", full_page=True)

    return take


def current_step(page):
    return page.locator('[aria-current="step"]')


def author_one_run(page, live_server, serial, shot=lambda stage: None):
    """Source → Part → Identify (typed serial) → Details (auto name) → Review."""
    page.goto(f"{live_server.url}/runs/new/")
    expect(current_step(page)).to_have_text("Source")
    expect(page.get_by_role("radio", name="Build a new item")).to_be_checked()
    page.get_by_role("button", name="Next →").click()

    expect(current_step(page)).to_have_text("Part")
    with page.expect_response(lambda response: "q=" in response.url):
        page.get_by_label("Part").fill("BRKT")
    with page.expect_response(lambda response: "part=" in response.url):
        page.get_by_role("radio", name="BRKT-ASSY-001 rev A").check()
    page.get_by_role("radio", name="Bracket build · v1").check()
    shot("01-part")
    page.get_by_role("button", name="Next →").click()

    expect(current_step(page)).to_have_text("Identify")
    expect(page.get_by_role("radio", name="Serialized")).to_be_checked()
    page.get_by_label("Serial number", exact=True).fill(serial)
    shot("02-identify")
    page.get_by_role("button", name="Next →").click()

    expect(current_step(page)).to_have_text("Details")
    expect(page.get_by_label("Run name", exact=True)).to_have_value("")
    shot("03-details")
    page.get_by_role("button", name="Add to review →").click()
    expect(current_step(page)).to_have_text("Review")


def rows(page):
    return page.locator("tbody.review-row")


def row(page, text):
    return rows(page).filter(has_text=text)


def identities(page) -> list[str]:
    """The Identity column of every row, top to bottom."""
    return [text.strip() for text in rows(page).locator("> tr > td:nth-child(5)").all_inner_texts()]


def test_duplicate_edit_remove_batch_and_create(live_server, page, log_in, shot, planner, part):
    log_in(planner)
    author_one_run(page, live_server, "SN-0007", shot)
    create = page.locator("#create-button")
    expect(rows(page)).to_have_count(1)
    expect(row(page, "SN-0007")).to_contain_text("Auto-generated name")
    expect(create).to_have_text("Create run")
    shot("04-review-one-row")

    # Five copies, right after the row, with the typed serial counting up.
    first = row(page, "SN-0007")
    first.get_by_label("Copies").fill("5")
    first.get_by_role("button", name="Duplicate").click()
    expect(rows(page)).to_have_count(6)
    expect(create).to_have_text("Create 6 runs")
    assert identities(page) == ["SN-0007", "SN-0008", "SN-0009", "SN-0010", "SN-0011", "SN-0012"]
    shot("05-duplicated")

    # Edit one row in place: the inline editor holds the row's values; Save shows the change.
    row(page, "SN-0010").get_by_role("link", name="Edit").click()
    editor = page.get_by_role("form", name="Edit run")
    expect(editor).to_be_visible()
    serial_field = editor.get_by_label("Serial number", exact=True)
    expect(serial_field).to_have_value("SN-0010")
    shot("06-editing")
    serial_field.fill("SN-0100")
    editor.get_by_role("button", name="Save").click()
    expect(editor).to_be_hidden()
    expect(row(page, "SN-0100")).to_be_visible()
    expect(rows(page)).to_have_count(6)
    assert identities(page) == ["SN-0007", "SN-0008", "SN-0009", "SN-0100", "SN-0011", "SN-0012"]
    expect(create).to_have_text("Create 6 runs")
    shot("07-edited")

    # Remove one row: it gives way to an Undo, and the button counts one fewer.
    row(page, "SN-0008").get_by_role("button", name="Remove").click()
    undo = page.locator("tbody.undo-row")
    expect(undo).to_contain_text("Removed “BRKT-ASSY-001 · SN-0008”.")
    expect(undo.get_by_role("button", name="Undo")).to_be_visible()
    expect(rows(page)).to_have_count(5)
    expect(create).to_have_text("Create 5 runs")
    shot("08-removed")

    # Batch them: the button says so, and says so no more when unchecked.
    batch_box = page.get_by_label("Batch runs")
    batch_box.check()
    expect(create).to_have_text("Create batched run")
    batch_box.uncheck()
    expect(create).to_have_text("Create 5 runs")
    batch_box.check()
    expect(create).to_have_text("Create batched run")
    page.get_by_label("Batch name").fill("Brackets week 48")
    shown = identities(page)
    assert shown == ["SN-0007", "SN-0009", "SN-0100", "SN-0011", "SN-0012"]
    shot("09-batched")

    # Hold the create request so the busy state can be seen: a spinner, a disabled button.
    held = []

    def hold_the_post(route):
        if route.request.method == "POST":
            held.append(route)
        else:
            route.continue_()

    page.route(re.compile(r".*/review/$"), hold_the_post)
    create.click()
    expect(create.locator(".spinner")).to_be_visible()
    expect(create).to_be_disabled()
    shot("10-creating")
    assert len(held) == 1
    held[0].continue_()

    expect(page.get_by_role("heading", name="5 runs created")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/runs/created/[^/]+/$"))
    expect(page.get_by_text("Batched as Brackets week 48")).to_be_visible()
    created_rows = page.locator("table.data tbody tr")
    expect(created_rows).to_have_count(5)
    on_created_page = [t.strip() for t in created_rows.locator("td:nth-child(5)").all_inner_texts()]
    assert on_created_page == shown
    shot("11-created")

    runs = list(Run.objects.select_related("part_inventory", "batch").order_by("number"))
    assert len(runs) == 5
    batch = RunBatch.objects.get()
    assert batch.name == "Brackets week 48"
    assert {run.batch_id for run in runs} == {batch.pk}
    serials = [run.part_inventory.serial_number for run in runs]
    assert serials == shown
    assert len(set(serials)) == 5
    assert not RunDraft.objects.filter(owner=planner, removed_at__isnull=True).exists()


def test_undo_restores_a_removed_row_in_its_place(live_server, page, log_in, shot, planner, part):
    log_in(planner)
    author_one_run(page, live_server, "SN-0200")
    first = row(page, "SN-0200")
    first.get_by_label("Copies").fill("2")
    first.get_by_role("button", name="Duplicate").click()
    expect(rows(page)).to_have_count(3)
    create = page.locator("#create-button")
    expect(create).to_have_text("Create 3 runs")

    row(page, "SN-0201").get_by_role("button", name="Remove").click()
    expect(rows(page)).to_have_count(2)
    expect(create).to_have_text("Create 2 runs")
    shot("undo-1-removed")

    page.get_by_role("button", name="Undo").click()
    expect(rows(page)).to_have_count(3)
    expect(page.locator("tbody.undo-row")).to_have_count(0)
    expect(create).to_have_text("Create 3 runs")
    assert identities(page) == ["SN-0200", "SN-0201", "SN-0202"]
    shot("undo-2-restored")

    # The restored row is kept on the server, in its place.
    page.reload()
    expect(rows(page)).to_have_count(3)
    assert identities(page) == ["SN-0200", "SN-0201", "SN-0202"]


def test_a_tablet_shows_rows_as_cards_with_their_actions_in_view(
    live_server, page, log_in, shot, planner, part
):
    """A tablet in portrait, or a laptop window in split view: nothing hides to the right."""
    log_in(planner)
    author_one_run(page, live_server, "SN-0300")
    page.set_viewport_size({"width": 768, "height": 900})
    expect(rows(page)).to_have_count(1)
    shot("tablet-768")
    page_width, window_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert page_width <= window_width, "the page scrolls sideways"
    table_width, box_width = page.locator(".table-wrap").evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert table_width <= box_width, "the rows scroll sideways"
    remove = row(page, "SN-0300").get_by_role("button", name="Remove")
    box = remove.bounding_box()
    assert box["x"] + box["width"] <= window_width
