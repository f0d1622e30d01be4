"""The New Run wizard at a laptop's, a tablet's and a phone's width, in a real browser.

Every step is photographed at 1366, 768 and 390 px (test-artifacts/<test name>/<width>-<step>.png).
"""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from runs.models import RunStatus
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
from tests.browser.test_work_pages import cut_off, identities_on_one_line

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


def late_batched_runs(planner):  # noqa: F811
    """The widest rows the work pages show: long names, batches, export flags, teams, Overdue."""
    org = planner.organisation
    factories.ensure_demo_groups()
    team = factories.TeamFactory(organisation=org, name="Final Assembly")
    oscar = factories.OperatorFactory(
        organisation=org, username="oscar", first_name="Oscar", last_name="Lindqvist"
    )
    batches = [
        factories.RunBatchFactory(
            organisation=org, name="Purge valves, week 48 and week 49", created_by=planner
        ),
        factories.RunBatchFactory(organisation=org, name="FC-2 spares, December", created_by=planner),
    ]
    part = factories.PartFactory(organisation=org, number="VLV-PURGE-12-HIGHFLOW", revision="A")
    today = timezone.localdate()
    lot_part = factories.PartFactory(organisation=org, number="SEAL-OR-214-VITON", tracking_type="lot")
    lot = factories.PartInventoryFactory(part=lot_part, serial_number="", lot_number="L2600-17", quantity=250)
    for i in range(8):
        unit = lot if i == 4 else factories.PartInventoryFactory(part=part, serial_number=f"SN-{i:05}")
        run = factories.RunFactory(
            organisation=org,
            number=4400 + i,  # a shop's run numbers soon take four digits
            part=unit.part,
            part_inventory=unit,
            batch=batches[i % 2],
            due_date=today - datetime.timedelta(days=20 - i),
            assigned_user=(oscar, None)[i % 2],
            assigned_team=(None, team)[i % 2],
            export_controlled=i % 3 == 0,
            status=(RunStatus.TODO, RunStatus.IN_PROGRESS)[i % 2],
        )
        run.name = f"Run {run.number}: {unit.part.number} · {unit.identity}"
        if i == 2:
            run.name = "Purge valve for the Falcon upper stage, customer order 4471-B, rush"
        run.save()
    return batches


def test_overdue_runs_show_whole_at_laptop_width(live_server, page, log_in, shoot, planner):  # noqa: F811
    late_batched_runs(planner)
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(planner)
    page.goto(f"{live_server.url}/runs/?sort=due")
    rows = page.locator("table.run-rows tbody tr")
    expect(rows).to_have_count(8)
    shoot("1366-runs-by-due")
    wrap = page.locator(".table-wrap:has(table.run-rows)")
    # Nothing hides past the table's right edge, to be scrolled to sideways.
    widths = wrap.evaluate("box => [box.scrollWidth, box.clientWidth]")
    assert widths[0] <= widths[1], f"the table is {widths[0]} px wide in a {widths[1]} px box"
    box = wrap.bounding_box()
    badges = page.locator(".badge-overdue")
    expect(badges).to_have_count(8)
    for badge in badges.all():
        expect(badge).to_have_text("Overdue")
        assert badge.evaluate("b => b.scrollWidth <= b.clientWidth"), "the Overdue badge clips its text"
        edge = badge.bounding_box()
        assert box["x"] <= edge["x"] and edge["x"] + edge["width"] <= box["x"] + box["width"], (edge, box)
    # Names, batches and identities show whole (they wrap); none ends in an ellipsis.
    assert cut_off(page) == []
    assert identities_on_one_line(page)


def test_the_runs_and_batches_pages_fit_a_phone(live_server, page, log_in, shoot, planner):  # noqa: F811
    late_batched_runs(planner)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(planner)
    page.goto(f"{live_server.url}/runs/?sort=due")
    expect(page.locator("table.run-rows tbody tr")).to_have_count(8)
    shoot("390-runs")
    assert fits_the_window(page), "the Runs page scrolls sideways on a phone"
    header = page.locator(".site-header").bounding_box()
    assert header["height"] <= 140, f"the header takes {header['height']:.0f} px of a phone"
    for badge in page.locator("table.run-rows .badge").all():
        assert in_view_across(page, badge), f"{badge.inner_text()} runs off its card"
        # A long batch name wraps inside the card.
        assert badge.evaluate("b => b.scrollWidth <= b.clientWidth"), badge.inner_text()

    page.goto(f"{live_server.url}/runs/batches/")
    expect(page.get_by_role("heading", name="Batches")).to_be_visible()
    shoot("390-batches")
    assert fits_the_window(page), "the Batches page scrolls sideways on a phone"
    wrap = page.locator("#batch-table .table-wrap")
    assert wrap.evaluate("box => box.scrollWidth <= box.clientWidth"), "the batch table hides columns"
    card = page.locator("#batch-table tbody tr").filter(has_text="FC-2 spares, December")
    year = timezone.localdate().strftime("%Y")
    for text in ["FC-2 spares, December", "4", "No procedure", "Priya Shah", year]:
        cell = card.locator("td").filter(has_text=text).first
        expect(cell).to_be_visible()
        assert in_view_across(page, cell), f"{text} is off screen"
    # Each value says which column it is: the header row is not on screen.
    labels = card.locator("td").evaluate_all(
        "cells => cells.map(c => getComputedStyle(c, '::before').content)"
    )
    assert labels[1:] == ['"Runs"', '"Procedure"', '"Created by"', '"Created"'], labels
