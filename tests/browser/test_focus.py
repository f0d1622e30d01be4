"""Keyboard focus in the New Run wizard, in a real browser: where each step and each Review row
action leaves it, the skip link, and the ring a focused choice shows.

Screenshots go to test-artifacts/<test name>/<stage>.png.
"""

import re

import pytest
from playwright.sync_api import expect

from runs.services import RunRequest, create_runs
from tests import factories
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_wizard_edges import (
    draft_data,
    expect_step,
    make_rows,
    next_step,
    open_review,
    open_wizard,
    pick_part,
    planner,  # noqa: F401 (a fixture)
    row,
    search_part,
    shop,  # noqa: F401 (a fixture)
    undo_row,
)

pytestmark = pytest.mark.browser


def test_each_step_opens_on_its_first_field_and_a_failed_submit_on_the_refused_one(
    live_server,
    page,
    log_in,
    shoot,
    planner,  # noqa: F811
    shop,  # noqa: F811
):
    log_in(planner)
    open_wizard(page, live_server)
    expect(page.get_by_role("radio", name="Build a new item")).to_be_focused()

    # The arrow keys move between the choices, and the focused one is ringed for all to see.
    page.keyboard.press("ArrowDown")
    attach = page.get_by_role("radio", name="Use an item already in inventory")
    expect(attach).to_be_focused()
    ring = page.locator(".choice", has=attach).evaluate("e => getComputedStyle(e).boxShadow")
    assert ring != "none", "a focused choice shows no ring"
    shoot("1-source-focused-choice")
    page.keyboard.press("ArrowUp")

    next_step(page)
    expect_step(page, "Part")
    expect(page.get_by_role("searchbox", name="Part")).to_be_focused()
    search_part(page, "BRKT")
    pick_part(page, "BRKT-ASSY-001")
    next_step(page)

    expect_step(page, "Identify")
    expect(page.get_by_role("radio", name="Serialized")).to_be_focused()
    page.get_by_role("checkbox", name="Auto-generated").uncheck()
    next_step(page)
    # Refused: no serial and no Auto-generated. Focus waits in the field to fix.
    expect_step(page, "Identify")
    expect(page.get_by_text("Type a serial number or check Auto-generated.")).to_be_visible()
    expect(page.get_by_label("Serial number", exact=True)).to_be_focused()
    shoot("2-identify-refused")
    page.keyboard.type("SN-0042")
    next_step(page)

    expect_step(page, "Details")
    expect(page.get_by_label("Run name", exact=True)).to_be_focused()


def test_a_skip_link_leads_past_the_navigation(live_server, page, log_in, shoot, planner, shop):  # noqa: F811
    log_in(planner)
    page.goto(f"{live_server.url}/runs/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    shoot("skip-link")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    page.keyboard.press("Tab")
    # The next stop is the page's first control, not the header's links.
    assert page.evaluate("document.activeElement.closest('header') === null")


def test_after_each_row_action_focus_is_where_the_next_action_is(
    live_server,
    page,
    log_in,
    shoot,
    planner,  # noqa: F811
    shop,  # noqa: F811
):
    factories.PartInventoryFactory(part=shop["bracket"], serial_number="SN-TAKEN")
    _alpha, bravo = [
        factories.RunDraftFactory(
            owner=planner,
            position=position,
            data=draft_data(shop["bracket"], shop["version"], name=name, serial_number=f"SN-00{position}"),
        )
        for position, name in enumerate(["Alpha", "Bravo"], start=1)
    ]
    log_in(planner)
    open_review(page, live_server)

    # Edit → the row editor's first field.
    row(page, "Alpha").get_by_role("link", name="Edit").click()
    editor = page.get_by_role("form", name="Edit run")
    expect(editor.get_by_label("Procedure")).to_be_focused()
    # Cancel → the row's Edit button.
    editor.get_by_role("link", name="Cancel").click()
    expect(row(page, "Alpha").get_by_role("link", name="Edit")).to_be_focused()

    # A refused Save → the refused field; a good one → the row's Edit button.
    page.keyboard.press("Enter")
    expect(editor.get_by_label("Procedure")).to_be_focused()
    editor.get_by_label("Serial number", exact=True).fill("SN-TAKEN")
    editor.get_by_role("button", name="Save").click()
    expect(editor.get_by_text("Serial number SN-TAKEN is already used")).to_be_visible()
    expect(editor.get_by_label("Serial number", exact=True)).to_be_focused()
    shoot("1-save-refused")
    editor.get_by_label("Serial number", exact=True).fill("SN-0100")
    editor.get_by_role("button", name="Save").click()
    expect(row(page, "SN-0100").get_by_role("link", name="Edit")).to_be_focused()

    # Remove → its Undo; Undo (from the keyboard) → the restored row.
    row(page, "Bravo").get_by_role("button", name="Remove").click()
    expect(undo_row(page, "Bravo").get_by_role("button", name="Undo")).to_be_focused()
    shoot("2-removed")
    page.keyboard.press("Enter")
    expect(row(page, "Bravo").get_by_role("link", name="Edit")).to_be_focused()
    shoot("3-restored")

    # Duplicate → the same Duplicate button, ready for more.
    bravo_row = page.locator(f"#row-{bravo.pk}")
    bravo_row.get_by_label("Copies").fill("2")
    bravo_row.get_by_role("button", name="Duplicate").click()
    expect(page.locator("tbody.review-row")).to_have_count(4)
    expect(bravo_row.get_by_role("button", name="Duplicate")).to_be_focused()


def test_escape_cancels_a_row_edit(live_server, page, log_in, planner, shop):  # noqa: F811
    make_rows(planner, shop, "Alpha")
    log_in(planner)
    open_review(page, live_server)
    row(page, "Alpha").get_by_role("link", name="Edit").click()
    editor = page.get_by_role("form", name="Edit run")
    editor.get_by_label("Run name").fill("Changed my mind")
    page.keyboard.press("Escape")
    expect(editor).to_have_count(0)
    expect(row(page, "Alpha").get_by_role("link", name="Edit")).to_be_focused()


@pytest.fixture
def no_js_page(browser, live_server, planner):  # noqa: F811
    """A page without JavaScript, logged in as the planner: plain links and form posts only."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(planner.username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    yield page
    context.close()


def test_a_refused_create_without_javascript_opens_on_what_refused_it(
    live_server,
    no_js_page,
    planner,  # noqa: F811
    shop,  # noqa: F811
):
    page = no_js_page
    shots = ARTIFACTS / "test_a_refused_create_without_javascript_opens_on_what_refused_it"
    shots.mkdir(parents=True, exist_ok=True)
    make_rows(planner, shop, "Alpha")
    other = factories.ReleasedVersionFactory(
        procedure__organisation=planner.organisation, parts=[shop["bracket"]], title="Bracket rework", steps=1
    )
    bravo = draft_data(shop["bracket"], other, name="Bravo")
    factories.RunDraftFactory(owner=planner, position=2, data=bravo)
    page.goto(f"{live_server.url}/runs/new/")
    page.get_by_role("button", name="Next →").click()
    page.goto(page.url.replace("/part/", "/review/"))
    expect(page.get_by_role("heading", name="New Run")).to_be_visible()

    page.get_by_role("checkbox", name="Batch runs").check()
    page.get_by_role("button", name=re.compile("^Create")).click()
    expect(page.get_by_label("Batch name")).to_be_focused()
    page.screenshot(path=shots / "1-no-js-batch-name-refused.png", full_page=True)

    page.get_by_label("Batch name").fill("Week 12")
    page.get_by_role("button", name=re.compile("^Create")).click()
    summary = page.locator(".form-errors").first
    expect(summary).to_contain_text("share one procedure version")
    expect(summary).to_be_focused()
    page.screenshot(path=shots / "2-no-js-batch-refused.png", full_page=True)


def test_a_refused_add_to_batch_without_javascript_opens_on_the_field(
    live_server,
    no_js_page,
    planner,  # noqa: F811
    shop,  # noqa: F811
):
    page = no_js_page
    request = RunRequest(part_id=shop["bracket"].pk, procedure_version_id=shop["version"].pk)
    run = create_runs(user=planner, requests=[request])[0]
    page.goto(f"{live_server.url}/runs/{run.number}/")
    page.get_by_label("Add to batch").fill("No such batch")
    page.get_by_role("button", name="Add to batch").click()
    expect(page.get_by_text("There is no batch named “No such batch”.")).to_be_visible()
    expect(page.get_by_label("Add to batch")).to_be_focused()


def test_unticking_batch_runs_takes_the_batch_name_and_its_error_away(
    live_server,
    page,
    log_in,
    planner,  # noqa: F811
    shop,  # noqa: F811
):
    make_rows(planner, shop, "Alpha")
    factories.RunDraftFactory(
        owner=planner, position=2, data=draft_data(shop["bracket"], shop["version"], name="Bravo")
    )
    log_in(planner)
    open_review(page, live_server)
    page.get_by_role("checkbox", name="Batch runs").check()
    page.get_by_role("button", name=re.compile("^Create")).click()
    error = page.locator("#batch-name-error")
    expect(error).to_be_visible()

    page.get_by_role("checkbox", name="Batch runs").uncheck()

    expect(error).to_be_hidden()
    expect(page.get_by_label("Batch name")).to_be_hidden()
