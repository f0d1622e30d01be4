"""The CSP refuses inline scripts and styles, and no page of ours or the admin's needs them."""

import pytest
from playwright.sync_api import expect

from tests import factories

# Chromium logs every refusal to the console; the listener also catches any it words differently.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI} at ${where}`);
});
"""


@pytest.fixture
def csp_violations(page):
    violations = []
    page.add_init_script(REPORT_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text or "CSP violation" in message.text
            else None
        ),
    )
    page.on("pageerror", lambda error: violations.append(str(error)))
    return violations


@pytest.mark.browser
def test_runs_the_wizard_and_the_admin_load_without_csp_violations(
    live_server, page, log_in, org, csp_violations
):
    curator = factories.UserFactory(
        organisation=org,
        username="curator",
        first_name="Cora",
        is_staff=True,
        export_cleared=True,
        groups=["Admin", "Planner"],
    )
    factories.RunFactory(organisation=org, name="Run 7: BRKT-ASSY-001 · SN-00007")
    log_in(curator)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Runs").click()
    expect(page.get_by_role("heading", name="Runs", exact=True)).to_be_visible()
    # An htmx search, with its indicator, runs under the policy too.
    with page.expect_response(lambda response: "hx-request" in response.request.headers):
        page.locator("form.filter-bar input[name=q]").fill("BRKT")

    page.goto(f"{live_server.url}/runs/new/")
    expect(page.get_by_role("heading", name="New Run")).to_be_visible()

    page.goto(f"{live_server.url}/admin/")
    expect(page.get_by_role("link", name="Parts", exact=True)).to_be_visible()
    page.goto(f"{live_server.url}/admin/inventory/part/add/")
    expect(page.get_by_role("button", name="Save", exact=True)).to_be_visible()

    assert csp_violations == []
