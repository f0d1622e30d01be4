"""An operator works a run at the station, with the keyboard alone (SPEC §12): picks a pool run
up by starting its first step, is refused an out-of-range value at the field, completes every
step, and finds the run Complete and its unit Available; or fails a step, and finds the run
Failed and its unit On hold. At a laptop's and a floor tablet's size.

Controls are reached with Tab / Shift+Tab and pressed with Enter or Space; locators only
check where focus is and what the page says. Screenshots go to
test-artifacts/test_<name>/<size>-<stage>.png.
"""

import pytest
from playwright.sync_api import expect

from runs.services import RunRequest, create_runs
from tests import factories

pytestmark = pytest.mark.browser

VIEWPORTS = {"laptop": {"width": 1366, "height": 768}, "tablet": {"width": 820, "height": 1180}}
TABLET = VIEWPORTS["tablet"]


@pytest.fixture
def run(org, planner):
    part = factories.PartFactory(organisation=org, number="BRKT-ASSY-001", description="Engine mount bracket")
    version = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], title="Bracket build", steps=2
    )
    request = RunRequest(part_id=part.pk, procedure_version_id=version.pk)
    return create_runs(user=planner, requests=[request])[0]


def is_focused(locator) -> bool:
    return locator.evaluate("e => e === document.activeElement")


def tab_to(page, locator, *, back: bool = False, limit: int = 60) -> None:
    """Press Tab (or Shift+Tab) until the control has focus, as someone at the keyboard would."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        if is_focused(locator):
            return
    raise AssertionError(f"{limit} presses of {'Shift+' if back else ''}Tab never reached {locator}")


def fits_across(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth")


def open_from_the_pool(page, live_server, run) -> None:
    page.goto(f"{live_server.url}/runs/unassigned/")
    tab_to(page, page.locator(f"#pool-run-{run.number}").get_by_role("link", name=run.name.split(": ")[1]))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Steps")).to_be_visible()


def start(page, position: int) -> None:
    tab_to(page, page.get_by_role("button", name=f"Start step {position}"))
    page.keyboard.press("Enter")
    notice = page.locator(f"#step-{position}").get_by_role("status")
    expect(notice).to_contain_text(f"Step {position}")
    expect(notice).to_be_focused()


@pytest.mark.parametrize("size", VIEWPORTS, ids=VIEWPORTS.keys())
def test_an_operator_works_a_pool_run_to_complete_with_the_keyboard(
    live_server, page, log_in, shoot, operator, run, size
):
    page.set_viewport_size(VIEWPORTS[size])
    header = page.locator("#run-header")
    log_in(operator)
    open_from_the_pool(page, live_server, run)
    shoot(f"{size}-1-opened")

    def check_fits():
        if size == "tablet":
            assert fits_across(page), "the run page scrolls sideways at a tablet's width"

    check_fits()

    start(page, 1)
    # Starting a pool run picked it up.
    expect(header.locator("dd", has_text=str(operator))).to_be_visible()
    expect(header.locator(".badge-in_progress")).to_have_text("In progress")
    step = page.locator("#step-1")
    torque = step.get_by_label("Torque (Nm)")
    signoff = step.get_by_role("checkbox", name=f"Sign off as {operator}")
    shoot(f"{size}-2-started")
    check_fits()

    # Out of range: refused at the field, saying the range, with focus waiting there.
    tab_to(page, torque)
    page.keyboard.type("25")
    tab_to(page, signoff)
    page.keyboard.press("Space")
    expect(signoff).to_be_checked()
    tab_to(page, step.get_by_role("button", name="Complete step 1"))
    page.keyboard.press("Enter")
    refusal = step.locator(".step-field", has=page.get_by_label("Torque (Nm)")).locator(".field-error")
    expect(refusal).to_have_text("Torque (Nm) must be between 1 and 20.")
    expect(refusal).to_be_visible()
    expect(torque).to_be_focused()
    # Read out with the field it belongs to, after its rule.
    described = "A number from 1 to 20 Torque (Nm) must be between 1 and 20."
    expect(torque).to_have_accessible_description(described)
    expect(torque).to_have_value("25")
    shoot(f"{size}-3-refused")
    check_fits()

    expect(signoff).to_be_checked()  # the refusal kept the tick, as it kept what was typed
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("7.5")
    tab_to(page, step.get_by_role("button", name="Complete step 1"))
    page.keyboard.press("Enter")
    done = step.get_by_role("status")
    expect(done).to_contain_text("is complete. Next: step 2")
    expect(done).to_be_focused()
    expect(step.locator(".badge-complete")).to_have_text("Complete")
    shoot(f"{size}-4-step-1-complete")

    start(page, 2)
    step = page.locator("#step-2")
    tab_to(page, step.get_by_label("Torque (Nm)"))
    page.keyboard.type("12")
    tab_to(page, step.get_by_role("button", name="Complete step 2"))
    page.keyboard.press("Enter")
    expect(step.get_by_role("status")).to_be_focused()
    expect(header.locator("h1 .badge")).to_have_text("Complete")
    shoot(f"{size}-5-run-complete")
    check_fits()

    # The run header links to its unit, now built and in stock.
    unit = header.get_by_role("link", name=run.part_inventory.identity)
    tab_to(page, unit, back=True)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/inventory/{run.part_inventory.pk}/")
    expect(page.locator("main")).to_contain_text("Available")
    shoot(f"{size}-6-unit")


def test_an_operator_fails_a_step_and_the_unit_goes_on_hold(live_server, page, log_in, shoot, operator, run):
    page.set_viewport_size(TABLET)
    header = page.locator("#run-header")
    log_in(operator)
    open_from_the_pool(page, live_server, run)
    start(page, 1)

    step = page.locator("#step-1")
    tab_to(page, step.get_by_text("Fail this step…"))
    page.keyboard.press("Enter")
    why = step.get_by_role("textbox", name="Why?")
    expect(why).to_be_visible()
    tab_to(page, why)
    page.keyboard.type("Bolt thread stripped on the left mount.")
    tab_to(page, step.get_by_role("button", name="Fail step 1"))
    shoot("1-failing")
    page.keyboard.press("Enter")

    expect(step.locator(".badge-failed")).to_have_text("Failed")
    expect(step).to_contain_text("Bolt thread stripped on the left mount.")
    expect(header.locator("h1 .badge")).to_have_text("Failed")
    expect(header.locator(".badge-on_hold")).to_have_text("On hold")
    shoot("2-failed")
    assert fits_across(page), "the run page scrolls sideways at a tablet's width"

    tab_to(page, header.get_by_role("link", name=run.part_inventory.identity), back=True)
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_contain_text("On hold")
    shoot("3-unit")
