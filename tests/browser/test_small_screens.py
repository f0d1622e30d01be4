"""The New Run wizard at a laptop's, a tablet's and a phone's width, in a real browser.

Every step is photographed at 1366, 768 and 390 px (test-artifacts/<test name>/<width>-<step>.png).
"""

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.test_wizard_edges import (
    draft_data,
    expect_step,
    next_step,
    open_review,
    open_wizard,
    pick_part,
    planner,  # noqa: F401 (a fixture)
    rows,
    search_part,
    shop,  # noqa: F401 (a fixture)
    step_url,
)

pytestmark = pytest.mark.browser

WIDTHS = {"laptop": 1366, "tablet": 768, "phone": 390}


def fits_the_window(page) -> bool:
    page_width, window_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return page_width <= window_width


def in_view_across(page, locator) -> bool:
    """Wholly inside the window from left to right: nothing to scroll sideways for."""
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_every_step_fits_and_the_stepper_stays_one_compact_row(
    live_server, page, log_in, shoot, planner, shop, width  # noqa: F811
):
    team = factories.TeamFactory(organisation=planner.organisation, name="Final Assembly")
    factories.RunDraftFactory(
        owner=planner,
        position=1,
        data=draft_data(shop["bracket"], shop["version"], serial_number="SN-0042", assigned_team=team.pk),
    )
    page.set_viewport_size({"width": width, "height": 900})
    log_in(planner)
    open_wizard(page, live_server)

    def check(step):
        expect_step(page, step)
        shoot(f"{width}-{step.lower()}")
        assert fits_the_window(page), f"{step} scrolls sideways at {width} px"
        stepper = page.get_by_role("navigation", name="New Run steps").bounding_box()
        # Stacked, five steps took ~240 px above every step of a tablet.
        assert stepper["height"] <= 64, f"the stepper takes {stepper['height']:.0f} px at {width} px"

    check("Source")
    next_step(page)
    search_part(page, "BRKT")
    pick_part(page, "BRKT-ASSY-001")
    check("Part")
    next_step(page)
    check("Identify")
    next_step(page)
    check("Details")
    page.goto(step_url(page, "review"))
    check("Review")


def test_review_rows_are_cards_on_a_phone_with_every_column_and_action_in_view(
    live_server, page, log_in, shoot, planner, shop  # noqa: F811
):
    factories.RunAttributeDefinitionFactory(
        organisation=planner.organisation, key="customer_po", label="Customer PO"
    )
    team = factories.TeamFactory(organisation=planner.organisation, name="Final Assembly")
    for position, serial in enumerate(["SN-0042", "SN-0043"], start=1):
        factories.RunDraftFactory(
            owner=planner,
            position=position,
            data=draft_data(
                shop["bracket"],
                shop["version"],
                serial_number=serial,
                due_date="2026-12-04",
                assigned_team=team.pk,
                attributes={"customer_po": "PO-4512"},
            ),
        )
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(planner)
    open_review(page, live_server)
    expect(rows(page)).to_have_count(2)
    shoot("390-review-cards")
    assert fits_the_window(page)

    card = rows(page).first
    for label, value in [
        ("Part", "BRKT-ASSY-001 rev A"),
        ("Procedure", "Bracket build · v1"),
        ("Identity", "SN-0042"),
        ("Assigned to", "Final Assembly"),
        ("Due", "4 Dec 2026"),
    ]:
        cell = card.locator(f'td[data-label="{label}"]')
        expect(cell).to_contain_text(value)
        assert in_view_across(page, cell), f"{label} is off screen"
        # Each value says which column it is: the table's header row is not on screen.
        assert cell.evaluate("e => getComputedStyle(e, '::before').content") == f'"{label}"'
    expect(card.get_by_text("Customer PO: PO-4512")).to_be_visible()
    for action in [
        card.get_by_role("link", name="Edit"),
        card.get_by_label("Copies"),
        card.get_by_role("button", name="Duplicate"),
        card.get_by_role("button", name="Remove"),
    ]:
        expect(action).to_be_visible()
        assert in_view_across(page, action), f"{action} is off screen"
    create = page.locator("#create-button")
    expect(create).to_have_text("Create 2 runs")
    assert in_view_across(page, create)
