"""A planner makes an API token in the browser, copies it, uses it, and revokes it."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.api.conftest import ApiClient

SHOTS = Path(os.environ.get("API_SHOTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


@pytest.mark.browser
def test_a_planner_creates_uses_and_revokes_a_token(live_server, page, org):
    factories.ensure_demo_groups()
    factories.PlannerFactory(organisation=org, username="pat", first_name="Pat")
    SHOTS.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=20_000)
    page.set_default_timeout(20_000)

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("pat")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    expect(page.get_by_text("You have no API tokens yet.")).to_be_visible()

    page.get_by_label("Token name").fill("ERP import")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("it is shown only this once")).to_be_visible()
    secret = page.get_by_label("The new token").input_value()
    page.screenshot(path=SHOTS / "api-tokens-created.png", full_page=True)
    assert ApiClient(secret).get("/api/v1/runs").status_code == 200

    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_text("it is shown only this once")).to_have_count(0)
    assert secret not in page.content()
    page.get_by_role("link", name="Revoke ERP import").click()
    expect(page.get_by_role("heading", name="Revoke “ERP import”?")).to_be_visible()
    page.screenshot(path=SHOTS / "api-tokens-revoke.png", full_page=True)
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_text("Revoked “ERP import”")).to_be_visible()
    expect(page.get_by_role("row", name="ERP import")).to_contain_text("Revoked")
    page.screenshot(path=SHOTS / "api-tokens-revoked.png", full_page=True)
    assert ApiClient(secret).get("/api/v1/runs").status_code == 401
