"""axe-core finds no serious or critical accessibility violation on any page (WCAG 2.2 AA is the bar).

axe comes from the copy inside axe-playwright-python and is evaluated through Playwright's
DevTools connection: nothing is fetched, and the page's CSP (script-src 'self'), which would
refuse an inline or injected <script>, does not apply to it. The first test proves axe really
runs there by planting a violation.
"""

import datetime
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from inventory.models import InventoryStatus, TrackingType
from ion_runs.accounts.models import ApiToken
from procedures.models import FieldType
from runs.models import Run, RunStatus
from runs.services import RunRequest, create_runs
from tests import factories

pytestmark = pytest.mark.browser

AXE = Axe()
BLOCKING = {"serious", "critical"}
# Milder by axe's measure, but they cost screen-reader users their bearings, and the issue named them.
NAMED = {"heading-order", "empty-table-header"}
# WCAG 2.0 to 2.2 A and AA, plus axe's best practices (heading order, landmarks, table headers).
RULES = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    }
}


def blocking_violations(page) -> list[dict]:
    response = AXE.run(page, options={**RULES, "resultTypes": ["violations"]}).response
    return [v for v in response["violations"] if v["impact"] in BLOCKING or v["id"] in NAMED]


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines += [f"    {' '.join(node['target'])}: {node['html'][:160]}" for node in violation["nodes"]]
    return "\n".join(lines)


def assert_accessible(page, where: str) -> None:
    violations = blocking_violations(page)
    assert not violations, f"{where} ({page.url}):\n{describe(violations)}"


@pytest.fixture
def shoot_a11y(page):
    def take(name: str):
        page.screenshot(path=f"/tmp/a11y/{name}.png", full_page=True)

    return take


@pytest.fixture
def planner(org):
    return factories.PlannerFactory(
        organisation=org, username="priya", first_name="Priya", last_name="Shah", export_cleared=True
    )


@pytest.fixture
def shop(org, planner):
    """A working shop floor: parts of each tracking type, a released procedure, stock in every
    state, and runs in every state, assigned to the planner, her team and nobody."""
    today = timezone.localdate()

    def due(days: int) -> datetime.date:
        return today + datetime.timedelta(days=days)

    operator = factories.OperatorFactory(organisation=org, username="omar", first_name="Omar")
    team = factories.TeamFactory(organisation=org, name="Final Assembly", members=[planner, operator])
    bracket = factories.PartFactory(
        organisation=org, number="BRKT-ASSY-001", description="Engine mount bracket assembly"
    )
    seal = factories.PartFactory(
        organisation=org, number="SEAL-OR-214", description="O-ring seal", tracking_type=TrackingType.LOT
    )
    rivet = factories.PartFactory(
        organisation=org, number="RVT-AL-4", description="Aluminium rivet", tracking_type=TrackingType.NONE
    )
    actuator = factories.PartFactory(
        organisation=org, number="TVC-ACT-100", description="Thrust vector actuator", export_controlled=True
    )
    version = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[bracket, seal, rivet], title="Bracket build", steps=3
    )
    units = {
        status: factories.PartInventoryFactory(
            part=bracket, serial_number=f"SN-{status.upper()}-1", status=status, location="Line 2"
        )
        for status in InventoryStatus
    }
    factories.PartInventoryFactory(part=seal, serial_number="", lot_number="LOT-2611-A", quantity=40)
    plans = [
        ("Bracket for Falcon", bracket, RunStatus.TODO, due(0), {"assigned_user": planner}),
        ("Late bracket", bracket, RunStatus.IN_PROGRESS, due(-2), {"assigned_user": planner}),
        ("Seal kit", seal, RunStatus.HOLD, due(1), {"assigned_team": team}),
        ("Rivet top-up", rivet, RunStatus.TODO, due(3), {}),
        ("Actuator build", actuator, RunStatus.TODO, due(1), {"export_controlled": True}),
        ("Finished bracket", bracket, RunStatus.COMPLETE, due(-1), {"assigned_user": operator}),
        ("Unscheduled seal", seal, RunStatus.TODO, None, {}),
    ]
    runs = []
    # Numbered clear of the ones the wizard's counter hands out.
    for number, (name, part, status, due, extra) in enumerate(plans, start=101):
        run = factories.RunFactory(
            organisation=org,
            number=number,
            name=name,
            part=part,
            procedure_version=version if part != actuator else None,
            status=status,
            due_date=due,
            tracking_type=part.tracking_type,
            part_inventory__serial_number=f"SN-{name.upper().replace(' ', '-')}"
            if part.tracking_type == TrackingType.SERIAL
            else "",
            part_inventory__lot_number="LOT-RUN-1" if part.tracking_type == TrackingType.LOT else "",
            **extra,
        )
        runs.append(run)
    first = runs[0]
    for position, title in enumerate(["Kit parts", "Torque the bolts", "Inspect"], start=1):
        step = factories.RunStepFactory(run=first, position=position, title=title)
        factories.RunStepFieldFactory(run_step=step, position=1, label="Torque (Nm)", type=FieldType.NUMBER)
        factories.RunStepFieldFactory(run_step=step, position=2, label="Inspector", type=FieldType.SIGNOFF)
    batch = factories.RunBatchFactory(organisation=org, name="Falcon brackets", created_by=planner)
    Run.objects.filter(pk__in=[runs[0].pk, runs[1].pk]).update(batch=batch)
    ApiToken.issue(user=planner, name="Line 2 scanner")
    return {
        "team": team,
        "version": version,
        "units": units,
        "runs": runs,
        "batch": batch,
        "operator": operator,
    }


# Each page, the path it is at, and a text it shows when it has data to show.
PAGES = {
    "home": (lambda shop: "/", "Welcome"),
    "runs list": (lambda shop: "/runs/", "Bracket for Falcon"),
    "run page": (lambda shop: f"/runs/{shop['runs'][0].number}/", "Torque the bolts"),
    "my work": (lambda shop: "/runs/my-work/", "Late bracket"),
    "team queue": (lambda shop: f"/runs/teams/{shop['team'].pk}/", "Seal kit"),
    "unassigned pool": (lambda shop: "/runs/unassigned/", "Rivet top-up"),
    "schedule week": (lambda shop: "/runs/schedule/", "Bracket for Falcon"),
    "schedule month": (lambda shop: "/runs/schedule/?span=month", "Bracket for Falcon"),
    "procedures list": (lambda shop: "/procedures/", "Bracket build"),
    "procedure page": (lambda shop: f"/procedures/{shop['version'].pk}/", "Step 2"),
    "inventory list": (lambda shop: "/inventory/", "SN-AVAILABLE-1"),
    "inventory unit": (
        lambda shop: f"/inventory/{shop['units'][InventoryStatus.AVAILABLE].pk}/",
        "SN-AVAILABLE-1",
    ),
    "404 page": (lambda shop: "/runs/999999/", "404"),
    "batches": (lambda shop: "/runs/batches/", "Falcon brackets"),
    "batch page": (lambda shop: f"/runs/batches/{shop['batch'].pk}/", "Late bracket"),
    "api tokens": (lambda shop: "/accounts/api-tokens/", "Line 2 scanner"),
    "import runs": (lambda shop: "/runs/import/", "Import runs"),
}


# A button without a name (critical), a heading that skips levels and a table column without a header.
PLANTED = """
const main = document.querySelector("main");
main.append(document.createElement("button"));
main.insertAdjacentHTML("beforeend", "<h6>Deep</h6><table><tr><th></th><th>Run</th></tr></table>");
"""


def test_axe_runs_under_the_csp_and_reports_planted_violations(live_server, page, log_in, planner):
    log_in(planner)
    assert_accessible(page, "home")
    page.evaluate(PLANTED)
    violations = blocking_violations(page)
    assert sorted(v["id"] for v in violations) == ["button-name", "empty-table-header", "heading-order"]
    assert "<button></button>" in describe(violations)


@pytest.mark.parametrize("name", PAGES)
def test_app_pages_have_no_serious_violations(live_server, page, log_in, shoot_a11y, planner, shop, name):
    path, shows = PAGES[name]
    log_in(planner)
    page.goto(f"{live_server.url}{path(shop)}")
    expect(page.locator("main")).to_contain_text(shows)
    shoot_a11y(name.replace(" ", "-"))
    assert_accessible(page, name)


def test_the_login_and_403_pages_have_no_serious_violations(live_server, page, log_in, shop):
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_label("Username")).to_be_visible()
    assert_accessible(page, "login")
    # A failed login shows its error too.
    page.get_by_label("Username").fill("omar")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("main")).to_contain_text(re.compile("correct username|didn.t match|incorrect", re.I))
    assert_accessible(page, "login with an error")

    log_in(shop["operator"])  # operators do not create runs
    page.goto(f"{live_server.url}/runs/new/")
    expect(page.locator("main")).to_contain_text("403")
    assert_accessible(page, "403 page")


# -- the New Run wizard, step by step -------------------------------------------------------


def next_step(page, name="Next →"):
    with page.expect_navigation():
        page.get_by_role("button", name=name).click()


def pick_part(page, search, number):
    with page.expect_response(lambda r: "q=" in r.url and r.request.headers.get("hx-request") == "true"):
        page.get_by_role("searchbox", name="Part").fill(search)
    with page.expect_response(lambda r: "part=" in r.url):
        page.get_by_role("radio", name=f"{number} rev A").check()


def test_each_wizard_step_has_no_serious_violations(live_server, page, log_in, shoot_a11y, planner, shop):
    log_in(planner)
    page.goto(f"{live_server.url}/runs/new/")
    expect(page.get_by_role("radio", name="Build a new item")).to_be_checked()
    assert_accessible(page, "wizard: Source")
    next_step(page)

    expect(page.get_by_role("searchbox", name="Part")).to_be_visible()
    assert_accessible(page, "wizard: Part, nothing searched")
    pick_part(page, "bracket", "BRKT-ASSY-001")
    expect(page.get_by_role("radio", name="Bracket build · v1")).to_be_checked()
    shoot_a11y("wizard-part")
    assert_accessible(page, "wizard: Part, picked")
    next_step(page)

    expect(page.get_by_role("radio", name="Serialized")).to_be_checked()
    assert_accessible(page, "wizard: Identify")
    next_step(page)

    expect(page.get_by_label("Run name", exact=True)).to_be_visible()
    assert_accessible(page, "wizard: Details")
    next_step(page, "Add to review →")

    row = page.locator("tbody.review-row")
    expect(row).to_have_count(1)
    shoot_a11y("wizard-review")
    assert_accessible(page, "wizard: Review")
    row.get_by_text("Edit", exact=True).click()
    editor = page.locator(".row-editor")
    expect(editor).to_be_visible()
    assert_accessible(page, "wizard: Review, a row being edited")
    editor.get_by_text("Cancel", exact=True).click()
    expect(editor).to_have_count(0)

    page.get_by_role("button", name="Create run", exact=True).click()
    expect(page.get_by_role("heading", name="1 run created")).to_be_visible()
    shoot_a11y("wizard-created")
    assert_accessible(page, "wizard: created")


def test_review_after_an_import_with_problems_has_no_serious_violations(
    live_server, page, log_in, shoot_a11y, planner, shop
):
    bracket = shop["units"][InventoryStatus.AVAILABLE].part
    factories.RunDraftFactory(
        owner=planner,
        position=1,
        data={
            "source": "build",
            "part": bracket.pk,
            "procedure": shop["version"].pk,
            "quantity": 1,
            "import_row": 3,
            "import_problems": [
                "Row 3 of runs.csv: There is no team “Nigth shift” in your organisation.",
                "Row 3 of runs.csv: Priority is required.",
            ],
        },
    )
    log_in(planner)
    page.goto(f"{live_server.url}/runs/new/")
    page.goto(page.url.replace("/source/", "/review/"))
    expect(page.get_by_role("alert").filter(has_text="Nigth shift")).to_be_visible()
    shoot_a11y("review-imported-problems")
    assert_accessible(page, "Review: an imported row's problems")


def test_attaching_shows_refused_units_accessibly(live_server, page, log_in, shoot_a11y, planner, shop):
    log_in(planner)
    page.goto(f"{live_server.url}/runs/new/")
    page.get_by_role("radio", name="Use an item already in inventory").check()
    next_step(page)
    pick_part(page, "BRKT", "BRKT-ASSY-001")
    next_step(page)

    # Units that cannot take a run say so; picking one is refused at the field.
    expect(page.locator("label.choice", has_text="SN-SCRAPPED-1")).to_contain_text("cannot take a new run")
    assert_accessible(page, "wizard: Identify, attach")
    page.get_by_role("radio", name="SN-SCRAPPED-1").check()
    next_step(page)
    expect(page.locator(".field.has-error").get_by_role("alert")).to_be_visible()
    shoot_a11y("wizard-identify-refused")
    assert_accessible(page, "wizard: Identify, a refused unit")


# -- working a run's steps (SPEC §12) -------------------------------------------------------


def test_working_a_step_has_no_serious_violations(live_server, page, log_in, shoot_a11y, planner, shop):
    bracket = shop["units"][InventoryStatus.AVAILABLE].part
    run = create_runs(
        user=planner, requests=[RunRequest(part_id=bracket.pk, procedure_version_id=shop["version"].pk)]
    )[0]
    log_in(planner)
    page.goto(f"{live_server.url}/runs/{run.number}/")
    step = page.locator("#step-1")
    step.get_by_role("button", name="Start step 1").click()
    expect(step.get_by_role("button", name="Complete step 1")).to_be_visible()
    shoot_a11y("run-step-in-progress")
    assert_accessible(page, "run page: step 1 in progress, its values form")

    step.get_by_label("Torque (Nm)").fill("25")
    step.get_by_role("button", name="Complete step 1").click()
    expect(step.locator(".field-error")).to_have_text("Torque (Nm) must be between 1 and 20.")
    shoot_a11y("run-step-refused")
    assert_accessible(page, "run page: a refused value")

    step.get_by_text("Fail this step…").click()
    step.get_by_role("textbox", name="Why?").fill("Thread stripped.")
    step.get_by_role("button", name="Fail step 1").click()
    expect(page.locator("#run-header h1 .badge")).to_have_text("Failed")
    expect(step.get_by_text("Reopen for rework…")).to_be_visible()
    assert_accessible(page, "run page: a failed step, ready to reopen")


# -- the admin's procedure pages, which we customised ---------------------------------------


def assert_admin_accessible(page, where: str) -> None:
    """As assert_accessible, but for Django's own markup: its tabular inlines head their
    first column with an empty <th> (axe: empty-table-header, minor), which is Django's to mend."""
    violations = [v for v in blocking_violations(page) if v["impact"] in BLOCKING]
    assert not violations, f"{where} ({page.url}):\n{describe(violations)}"


def test_the_admin_procedure_pages_have_no_serious_violations(live_server, page, log_in, shoot_a11y, org):
    curator = factories.UserFactory(
        organisation=org, username="curator", is_staff=True, export_cleared=True, groups=["Admin", "Planner"]
    )
    part = factories.PartFactory(organisation=org, number="BRKT-ASSY-001")
    version = factories.ProcedureVersionFactory(procedure__organisation=org, parts=[part], steps=1)
    step = version.steps.get()
    step.fields.create(position=3, label="Finish", type=FieldType.SELECT, options=["Matte", "Gloss"])
    log_in(curator)

    page.goto(f"{live_server.url}/admin/procedures/procedureversion/{version.pk}/change/")
    expect(page.get_by_role("button", name="Submit for review")).to_be_visible()
    shoot_a11y("admin-procedure-version")
    expect(page.get_by_role("searchbox", name="Search Parts")).to_be_visible()
    assert_admin_accessible(page, "admin: a draft procedure version")

    page.goto(f"{live_server.url}/admin/procedures/procedurestep/{step.pk}/change/")
    options = page.get_by_role("textbox", name="Options")
    expect(options.last).to_have_value("Matte\nGloss")
    shoot_a11y("admin-procedure-step")
    assert_admin_accessible(page, "admin: a draft step and its fields")
