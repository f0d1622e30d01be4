"""Adding a procedure later in a real browser (SPEC §12, issue 19): a planner opens a run of a
three-run batch created without a procedure, adds one with htmx, lands on the run's page again
with the message and the copied steps, and finds the other runs of the batch with theirs.

Screenshots go to test-artifacts/test_a_planner_adds_a_procedure_to_a_batch/<stage>.png.
"""

import pytest
from playwright.sync_api import expect

from runs.models import RunStep
from runs.services import RunRequest, create_runs
from tests import factories

pytestmark = pytest.mark.browser


def test_a_planner_adds_a_procedure_to_a_batch(live_server, page, log_in, shoot, org, planner):
    part = factories.PartFactory(organisation=org, number="BRKT-ASSY-001", description="Engine bracket")
    factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], title="Bracket build", steps=2
    )
    runs = create_runs(user=planner, requests=[RunRequest(part_id=part.pk)] * 3, batch_name="Order 4711")
    log_in(planner)

    page.goto(f"{live_server.url}/runs/{runs[0].number}/")
    expect(page.get_by_text("No procedure — add one later")).to_be_visible()
    expect(page.get_by_text("Applies to all 3 runs of batch “Order 4711”")).to_be_visible()
    shoot("1-without")
    page.get_by_label("Add procedure").select_option(label="Bracket build · v1")
    with page.expect_response(lambda response: response.url.endswith("/procedure/")) as posted:
        page.get_by_role("button", name="Add procedure").click()
    # htmx posted it, and was told to load the page again: the steps region changed too.
    assert posted.value.headers["hx-redirect"] == f"/runs/{runs[0].number}/"

    expect(page.get_by_role("status")).to_contain_text(
        "“Bracket build v1” is added to all 3 runs of batch “Order 4711”: 2 steps copied to each."
    )
    expect(page.locator("#run-steps h3")).to_have_count(2)
    expect(page.get_by_role("button", name="Add procedure")).to_have_count(0)
    expect(page.get_by_role("link", name="Bracket build")).to_be_visible()
    shoot("2-added")

    page.goto(f"{live_server.url}/runs/{runs[2].number}/")
    expect(page.locator("#run-steps h3")).to_have_count(2)
    expect(page.locator("#run-history")).to_contain_text("Procedure added")
    assert RunStep.objects.filter(run__in=runs).count() == 6
