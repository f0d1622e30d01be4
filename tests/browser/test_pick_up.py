"""An operator logs in, picks a run up from the Unassigned pool and finds it in My work."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests import factories

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.browser
def test_an_operator_picks_up_a_run_and_sees_it_in_my_work(live_server, page, org):
    factories.ensure_demo_groups()
    operator = factories.OperatorFactory(organisation=org, username="olga", first_name="Olga")
    factories.TeamFactory(organisation=org, name="Cell 7", members=[operator])
    run = factories.RunFactory(organisation=org, name="Run 41: BRKT-ASSY-001 · SN-00041")
    factories.RunFactory(organisation=org, name="Run 42: BRKT-ASSY-001 · SN-00042")
    ARTIFACTS.mkdir(exist_ok=True)
    # A busy CI machine serves the live server slowly; wait for pages longer than the default.
    expect.set_options(timeout=20_000)
    page.set_default_timeout(20_000)

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("olga")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Welcome, Olga", exact=False)).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Unassigned").click()
    expect(page.get_by_role("heading", name="Unassigned pool")).to_be_visible()

    expect(page.locator("#pool-count")).to_have_text("2 open runs nobody has picked up.")

    row = page.locator(f"#pool-run-{run.number}")
    row.get_by_role("button", name="Pick up").click()
    expect(row.get_by_role("status")).to_contain_text("Picked up")
    # Focus stays in the swapped row, on what it says now; the count follows.
    expect(row.get_by_role("status")).to_be_focused()
    expect(page.locator("#pool-count")).to_have_text("1 open run nobody has picked up.")
    # The swap touched only that row: the other run can still be picked up.
    expect(page.get_by_role("button", name="Pick up")).to_have_count(1)
    page.screenshot(path=ARTIFACTS / "pick-up-pool.png", full_page=True)

    row.get_by_role("link", name="My work").click()
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    expect(page.get_by_role("link", name=run.name)).to_be_visible()
    expect(page.get_by_role("link", name="Cell 7")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "pick-up-my-work.png", full_page=True)
