"""After creation in a real browser (SPEC §9): a planner adds existing runs to a batch from its
page, is refused a run on another procedure version, reassigns a run to a team, moves its due
date, cancels another run with a reason, and reads all of it in the runs' histories.

Screenshots of each stage go to test-artifacts/after-creation/<stage>.png.
"""

import pytest
from playwright.sync_api import expect

from runs.models import Run, RunStatus
from runs.services import RunRequest, create_runs
from tests import factories
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "after-creation"


@pytest.fixture
def shot(page):
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(stage: str):
        page.screenshot(path=SHOTS / f"{stage}.png", full_page=True)

    return take


@pytest.fixture
def world(org):
    factories.ensure_demo_groups()
    planner = factories.PlannerFactory(
        organisation=org, username="priya", first_name="Priya", export_cleared=True
    )
    operator = factories.OperatorFactory(organisation=org, first_name="Olga", last_name="Ops")
    factories.TeamFactory(organisation=org, name="Final Assembly", members=[operator])
    part = factories.PartFactory(organisation=org, number="BRKT-ASSY-001", description="Engine bracket")
    v1 = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], title="Bracket build", steps=2
    )
    v2 = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], title="Bracket build", number=2, steps=2
    )

    def runs(version, count=1, **kwargs):
        request = RunRequest(part_id=part.pk, procedure_version_id=version.pk)
        return create_runs(user=planner, requests=[request] * count, **kwargs)

    batched = runs(v1, batch_name="Week 12")[0]
    first, second = runs(v1, 2)
    other_version = runs(v2)[0]
    to_cancel = runs(v1)[0]
    return planner, batched, first, second, other_version, to_cancel


def test_a_planner_batches_reassigns_reschedules_and_cancels_then_reads_the_history(
    live_server, page, log_in, world, shot
):
    planner, batched, first, second, other_version, to_cancel = world
    log_in(planner)

    # Batches → Week 12: the batch holds one run; two more of its version are offered.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Batches").click()
    expect(page.get_by_role("heading", name="Batches")).to_be_visible()
    shot("1-batches")
    page.get_by_role("link", name="Week 12").click()
    expect(page.get_by_role("heading", name="Batch Week 12")).to_be_visible()
    picker = page.locator("#picker-results")
    expect(picker.get_by_role("checkbox")).to_have_count(3)  # first, second, to_cancel; never v2
    expect(picker).not_to_contain_text(f"#{other_version.number}")

    # Search narrows the picker in place; tick the two runs and add them.
    with page.expect_response(lambda response: "find=" in response.url):
        page.get_by_label("Find runs").fill(str(first.number))
    expect(picker.get_by_role("checkbox")).to_have_count(1)
    page.get_by_label("Find runs").fill("")
    expect(picker.get_by_role("checkbox")).to_have_count(3)
    picker.get_by_role("checkbox", name=f"#{first.number}").check()
    picker.get_by_role("checkbox", name=f"#{second.number}").check()
    page.get_by_role("button", name="Add ticked runs").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Added runs {first.number}, {second.number} to the batch."
    )
    expect(page.get_by_role("status")).to_be_focused()
    for run in (batched, first, second):
        expect(page.locator(f"#batch-run-{run.number}")).to_be_visible()
    expect(page.locator("#batch-history-heading ~ ol")).to_contain_text(f"Added run {first.number}")
    shot("2-batch-page")

    # The run on version 2 is refused from its own page, with the Review message naming the runs.
    page.goto(f"{live_server.url}/runs/{other_version.number}/")
    page.get_by_label("Add to batch").fill("Week 12")
    page.get_by_role("button", name="Add to batch").click()
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("Runs in a batch share one procedure version, but runs")
    expect(refusal).to_contain_text(f"run {other_version.number} uses Bracket build v2")
    shot("3-refused-other-version")
    assert Run.objects.get(pk=other_version.pk).batch is None

    # Reassign the first run to the team and move its due date: the header swaps in place.
    page.goto(f"{live_server.url}/runs/{first.number}/")
    header = page.locator("#run-header")
    header.get_by_label("Assigned to").select_option(label="Final Assembly (team)")
    header.get_by_role("button", name="Reassign").click()
    expect(header.get_by_role("status")).to_contain_text("is assigned to Final Assembly")
    # Focus is on what happened, not back at the top of the page.
    expect(header.get_by_role("status")).to_be_focused()
    expect(header.locator("dl.facts")).to_contain_text("Final Assembly (team)")
    header.get_by_label("Due date").fill("2026-12-24")
    header.get_by_role("button", name="Change due date").click()
    expect(header.get_by_role("status")).to_contain_text("is due 24 Dec 2026")
    expect(header.locator("dl.facts")).to_contain_text("Thursday 24 December 2026")

    # Its history, newest first: the due date, the team, the batch, its creation.
    history = page.locator("#run-history li")
    expect(history.nth(0)).to_contain_text("Due date changed no due date → 24 Dec 2026 by Priya")
    expect(history.nth(1)).to_contain_text("Reassigned the unassigned pool → team Final Assembly by Priya")
    expect(history.nth(2)).to_contain_text("Added to batch Week 12")
    expect(history.nth(3)).to_contain_text("Created")
    shot("4-run-page-history")

    # Cancel another run, with a reason: its forms go, the reason stays in the history.
    page.goto(f"{live_server.url}/runs/{to_cancel.number}/")
    page.get_by_text("Cancel this run…").click()
    page.get_by_label("Why is it canceled?").fill("Customer withdrew order 4711")
    page.get_by_role("button", name="Cancel run").click()
    # Nothing more is built on its unit: the unit is held for someone to decide.
    unit = to_cancel.part_inventory.identity
    expect(page.locator("#run-header").get_by_role("status")).to_have_text(
        f"Run {to_cancel.number} is canceled; {unit} is now on hold."
    )
    expect(page.locator("h1 .badge-canceled")).to_have_text("Canceled")
    expect(page.get_by_role("button", name="Reassign")).to_have_count(0)
    latest = page.locator("#run-history li").first
    expect(latest).to_contain_text("Canceled")
    expect(latest).to_contain_text("Customer withdrew order 4711")
    shot("5-canceled-run")
    assert Run.objects.get(pk=to_cancel.pk).status == RunStatus.CANCELED

    # Without JavaScript's help a reload shows the same: the changes are on the server.
    page.reload()
    expect(page.locator("#run-history li").first).to_contain_text("Customer withdrew order 4711")
