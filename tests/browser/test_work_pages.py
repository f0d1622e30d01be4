"""The work pages as a planner and an operator see them, at laptop (1366 px) and phone (390 px) width."""

import datetime
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from runs.models import RunStatus
from tests import factories

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/work")
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
TODAY = timezone.localdate()


@pytest.fixture
def shop(org, planner):
    """Runs with the longest things a row shows: typed names, lots, teams, badges."""
    factories.ensure_demo_groups()
    operator = factories.OperatorFactory(
        organisation=org, username="olga", first_name="Olga", last_name="Okonkwo-Vandenberghe"
    )
    team = factories.TeamFactory(organisation=org, name="Final assembly cell 7", members=[operator, planner])
    part = factories.PartFactory(organisation=org, number="BRKT-ASSY-001", revision="C")
    lot_part = factories.PartFactory(organisation=org, number="RIVET-AL-4X12-LONG", tracking_type="lot")
    lot = factories.PartInventoryFactory(part=lot_part, serial_number="", lot_number="L2600-17", quantity=250)
    runs = []
    for i in range(12):
        unit = lot if i % 4 == 3 else factories.PartInventoryFactory(part=part, serial_number=f"SN-{i:05}")
        run = factories.RunFactory(
            organisation=org,
            part=unit.part,
            part_inventory=unit,
            due_date=TODAY + datetime.timedelta(days=i - 9) if i % 5 else None,
            assigned_user=(operator, None, None)[i % 3],
            assigned_team=(None, team, None)[i % 3],
            export_controlled=i % 6 == 0,
            status=(RunStatus.TODO, RunStatus.IN_PROGRESS, RunStatus.HOLD)[i % 3],
        )
        run.name = f"Run {run.number}: {unit.part.number} · {unit.identity}"
        if i == 2:
            run.name = "Bracket for the Falcon upper stage, customer order 4471-B, rush — second attempt"
        run.save()
        runs.append(run)
    return {"operator": operator, "team": team, "runs": runs}


def fits_without_scrolling(page) -> bool:
    """Every run table shows its last column without scrolling sideways."""
    return page.locator(".table-wrap:has(table.run-rows)").evaluate_all(
        "boxes => boxes.every(box => box.scrollWidth <= box.clientWidth)"
    )


def cut_off(page) -> list[str]:
    """Texts in the run tables that do not show whole: an ellipsis, or clipped at a box's edge."""
    return page.locator("table.run-rows tbody").evaluate_all(
        """bodies => bodies.flatMap(body => [...body.querySelectorAll('*')])
            .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX != 'visible')
            .map(e => e.textContent.trim())"""
    )


def identities_on_one_line(page) -> bool:
    """Each identity (a serial, or a lot and its quantity) keeps to one line: it tells units apart."""
    return page.locator("table.run-rows td.mono .clip").evaluate_all(
        "ids => ids.every(id => id.getClientRects().length == 1 "
        "&& id.getBoundingClientRect().height < 1.5 * parseFloat(getComputedStyle(id).lineHeight))"
    )


def test_the_runs_page_shows_names_and_identities_whole_at_laptop_width(
    live_server, page, log_in, planner, shop
):
    page.set_viewport_size(LAPTOP)
    log_in(planner)
    page.goto(f"{live_server.url}/runs/")
    expect(page.get_by_role("heading", name="Runs", exact=True)).to_be_visible()
    expect(page.locator("table.run-rows tbody tr")).to_have_count(12)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / "runs-planner-1366.png", full_page=True)

    # An operator tells units apart by the end of their names and identities: nothing is cut off.
    assert cut_off(page) == []
    assert identities_on_one_line(page)
    expect(page.get_by_role("cell", name="L2600-17 × 250").first).to_be_visible()
    # The table fits the page: no sideways scrolling to see the due date.
    assert fits_without_scrolling(page)
    # The filters are one bar: search, status, assignee, team, sort and the buttons in one row.
    bar = page.get_by_role("search", name="Filter runs")
    tops = bar.locator(":scope > .field, :scope > .actions").evaluate_all(
        "items => items.map(item => Math.round(item.getBoundingClientRect().bottom))"
    )
    assert len(set(tops)) == 1, tops
    expect(bar.get_by_label("Due from")).to_be_hidden()
    bar.get_by_text("More filters").click()
    expect(bar.get_by_label("Due from")).to_be_visible()


def test_the_work_pages_at_laptop_and_phone_width(live_server, page, log_in, planner, shop):
    """Screenshots of every work page, looked at by a person; each row is one line at 1366 px."""
    log_in(shop["operator"])
    SHOTS.mkdir(exist_ok=True)
    pages = {
        "runs": "/runs/",
        "my-work": "/runs/my-work/",
        "pool": "/runs/unassigned/",
        "team-queue": f"/runs/teams/{shop['team'].pk}/",
        "schedule-week": "/runs/schedule/",
        "schedule-month": "/runs/schedule/?span=month",
    }
    for size, viewport in (("1366", LAPTOP), ("390", PHONE)):
        page.set_viewport_size(viewport)
        for name, path in pages.items():
            page.goto(f"{live_server.url}{path}")
            expect(page.locator("h1")).to_be_visible()
            page.screenshot(path=SHOTS / f"{name}-{size}.png", full_page=True)
            if size == "1366" and page.locator("table.run-rows tbody tr").count():
                assert cut_off(page) == [], name
                assert identities_on_one_line(page), name
                assert fits_without_scrolling(page), name
    # The week's overdue lane names the late runs with their unit, assignee and status.
    page.set_viewport_size(LAPTOP)
    page.goto(f"{live_server.url}/runs/schedule/")
    lane = page.get_by_role("region", name="Overdue")
    late = shop["runs"][1]  # due 8 days ago: before this week's Monday
    chip = lane.locator(f'a[href="/runs/{late.number}/"]')
    expect(chip).to_contain_text("SN-00001")
    expect(chip).to_contain_text("Final assembly cell 7 (team)")
    expect(chip).to_contain_text("In progress")
