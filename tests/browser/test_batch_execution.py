"""A batch executes together in a real browser (issue 19): two operators each open a different
run of a three-run batch; one signs off and completes step 1, and the page says it reached all
three; the other, on their own run, sees step 1 complete with the values and the sign-off.

Screenshots go to test-artifacts/test_two_operators_work_one_batch/<stage>.png.
"""

import pytest
from playwright.sync_api import expect

from runs.services import RunRequest, create_runs
from tests import factories
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def log_in(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Welcome", exact=False)).to_be_visible()


def test_two_operators_work_one_batch(live_server, browser, org, planner):
    expect.set_options(timeout=20_000)
    part = factories.PartFactory(organisation=org, number="VLV-PURGE-12")
    version = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], title="Valve build", steps=2
    )
    cell = factories.TeamFactory(organisation=org, name="Valve cell")
    request = RunRequest(part_id=part.pk, procedure_version_id=version.pk, assigned_team_id=cell.pk)
    runs = create_runs(user=planner, requests=[request] * 3, batch_name="Purge valves W48")
    ada, bob = (
        factories.OperatorFactory(organisation=org, username=name, first_name=name.title())
        for name in ("ada", "bob")
    )
    cell.members.add(ada, bob)
    folder = ARTIFACTS / "test_two_operators_work_one_batch"
    folder.mkdir(parents=True, exist_ok=True)

    pages = []
    for user, run in ((ada, runs[0]), (bob, runs[1])):
        page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
        page.set_default_timeout(20_000)
        log_in(page, live_server, user)
        page.goto(f"{live_server.url}/runs/{run.number}/#next-step")
        expect(page.locator("#step-1")).to_contain_text("Applies to this run and the 2 other open runs")
        pages.append(page)
    ada_page, bob_page = pages

    step = ada_page.locator("#step-1")
    step.get_by_role("button", name="Start step 1").click()
    expect(step.get_by_role("status")).to_contain_text("It reached 2 other runs of batch “Purge valves W48”")
    step.get_by_label("Torque (Nm)").fill("7.5")
    step.get_by_label("Sign off as Ada").check()
    step.get_by_role("button", name="Complete step 1").click()
    notice = step.get_by_role("status")
    expect(notice).to_contain_text("Step 1 “Step 1” is complete.")
    expect(notice).to_contain_text(
        f"It reached 2 other runs of batch “Purge valves W48”: #{runs[1].number}, #{runs[2].number}."
    )
    ada_page.screenshot(path=folder / "1-ada-completed.png", full_page=True)

    bob_page.reload()
    theirs = bob_page.locator("#step-1")
    expect(theirs.locator(".badge").first).to_have_text("Complete")
    expect(theirs.get_by_role("row", name="Torque (Nm)")).to_contain_text("7.5")
    expect(theirs.get_by_role("row", name="Inspector")).to_contain_text("Ada")
    expect(bob_page.locator("#run-history")).to_contain_text(f"with its batch, from run #{runs[0].number}")
    bob_page.screenshot(path=folder / "2-bob-sees-it.png", full_page=True)

    ada_page.goto(f"{live_server.url}/runs/batches/{runs[0].batch_id}/")
    expect(ada_page.locator(".batch-progress")).to_contain_text("3 of 3 complete")
    ada_page.screenshot(path=folder / "3-batch.png", full_page=True)
