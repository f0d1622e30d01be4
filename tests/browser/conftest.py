from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests import factories

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def shoot(page, request):
    """Save a full-page screenshot under test-artifacts/<test name>/<stage>.png."""
    folder = ARTIFACTS / request.node.name.split("[")[0]
    folder.mkdir(parents=True, exist_ok=True)

    def take(stage: str):
        page.screenshot(path=folder / f"{stage}.png", full_page=True)

    return take


@pytest.fixture
def log_in(live_server, page):
    """Log in through the login form, as a person would."""
    # A busy CI machine serves the live server slowly; wait for pages longer than the default.
    expect.set_options(timeout=20_000)
    page.set_default_timeout(20_000)

    def as_user(user):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(factories.PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Welcome", exact=False)).to_be_visible()

    return as_user
