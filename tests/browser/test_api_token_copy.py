"""The API token page's Copy button puts the new token on the clipboard and says so."""

import pytest
from playwright.sync_api import expect

from tests import factories

pytestmark = pytest.mark.browser


def test_copy_puts_the_new_token_on_the_clipboard(live_server, context, page, log_in, org, shoot):
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(factories.PlannerFactory(organisation=org, username="pat", first_name="Pat"))
    page.goto(f"{live_server.url}/accounts/api-tokens/")
    page.get_by_label("Token name").fill("ERP import")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("The new token").input_value()

    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#new-token-copied")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    shoot("copied")
