"""Inputs that once reached the database or the URL router as a server error.

Each answers a 4xx, a message at the field or row, or a sensible page: never a 500, and
nothing half made.
"""

import html
import re
import uuid
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from inventory.models import InventoryStatus, TrackingType
from procedures.models import ProcedureVersion
from runs.models import Run, RunDraft, RunStatus
from runs.services import RunCreationError, RunRequest, create_runs
from tests import factories
from tests.runs.wizard_steps import WizardDriver

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
NUL = "\x00"


@pytest.fixture
def part(org):
    return factories.PartFactory(organisation=org, number="BRKT-ASSY-001")


@pytest.fixture
def version(org, part):
    return factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], title="Bracket build", steps=1
    )


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


def assert_refused(response):
    assert 400 <= response.status_code < 500, response.status_code


def field_errors(response, field: str) -> list[str]:
    return response.context["wizard"]["form"].errors.get(field, [])


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of a page, as a browser posts them with its forms."""
    fields = {}
    for tag in re.findall(r"<input\b[^>]*>", page):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        if attrs.get("type") == "hidden" and "name" in attrs:
            fields[attrs["name"]] = html.unescape(attrs.get("value", ""))
    return fields


def press_create(client, wizard: WizardDriver, page: str | None = None):
    """Press Create on the Review page `page` (by default, Review as it is now)."""
    page = page if page is not None else wizard.get("review").content.decode()
    return client.post(wizard.url("review"), hidden_fields(page))


def row_url(wizard: WizardDriver, draft: RunDraft) -> str:
    return reverse("runs:draft-row", args=[draft.pk]) + f"?wizard={wizard.wizard_id}"


def at_step(client, step: str, *, part=None, source: str = "build") -> WizardDriver:
    """A wizard whose earlier steps are done, so that `step` is the current one."""
    wizard = WizardDriver(client)
    if step != "source":
        assert wizard.post("source", {"source": source}).status_code == 302
    if step in ("identify", "details"):
        assert wizard.post("part", {"part": part.pk, "procedure": ""}).status_code == 302
    return wizard


# Entry points ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"procedure": "abc"},
        {"procedure": "1e3"},
        {"procedure": "9" * 30},
        {"inventory": "abc"},
        {"inventory": "-1"},
        {"due": "junk"},
        {"due": "2026-02-30"},
    ],
    ids=lambda query: "&".join(f"{k}={v[:12]}" for k, v in query.items()),
)
def test_an_entry_point_value_that_is_not_an_id_or_a_date_is_refused(planner_client, query):
    response = planner_client.get(reverse("runs:new"), query)
    assert_refused(response)


# The Part step --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["abc", "", "1.5", "9" * 30])
def test_the_htmx_procedure_list_of_a_part_that_is_not_one_lists_nothing(planner_client, version, value):
    wizard = at_step(planner_client, "part")
    response = wizard.get("part", data={"part": value}, **HTMX)
    # htmx swaps 200s only: a region saying there is nothing to pick is as good as a 4xx.
    assert response.status_code in (200, 400, 404)
    assert "Bracket build" not in response.content.decode()


@pytest.mark.parametrize("value", ["abc", "1.5", "9" * 30])
def test_posting_a_part_that_is_not_an_id_is_an_error_at_the_field(planner_client, part, value):
    wizard = at_step(planner_client, "part")
    response = wizard.post("part", {"part": value, "procedure": ""})
    assert response.status_code == 200
    [message] = field_errors(response, "part")
    assert html.escape(message) in response.content.decode()


@pytest.mark.parametrize("value", ["abc", "1.5"])
def test_posting_a_procedure_that_is_not_an_id_is_an_error_at_the_field(planner_client, part, value):
    wizard = at_step(planner_client, "part")
    response = wizard.post("part", {"part": part.pk, "procedure": value})
    assert response.status_code == 200
    assert field_errors(response, "procedure")


@pytest.mark.parametrize("value", ["abc", "1.5", "9" * 30])
def test_posting_a_unit_that_is_not_an_id_is_an_error_at_the_field(planner_client, part, value):
    factories.PartInventoryFactory(part=part, status=InventoryStatus.AVAILABLE)
    wizard = at_step(planner_client, "identify", part=part, source="attach")
    response = wizard.post("identify", {"inventory": value})
    assert response.status_code == 200
    [message] = field_errors(response, "inventory")
    assert html.escape(message) in response.content.decode()


@pytest.mark.parametrize("step", ["source", "part"])
@pytest.mark.parametrize(
    "tampered",
    ["nope", "done", "", "x" * 1000, "details"],
    ids=["nope", "done", "empty", "x*1000", "details"],
)
def test_a_tampered_current_step_does_not_break_the_wizard(planner_client, part, step, tampered):
    wizard = at_step(planner_client, step)
    assert wizard.get(step).status_code == 200
    data = {"source-source": "build"} if step == "source" else {"part-part": part.pk}
    response = planner_client.post(wizard.url(step), data | {f"{wizard.prefix}-current_step": tampered})
    assert response.status_code in (200, 302, 400)
    assert wizard.get("source").status_code == 200


# NUL bytes, which PostgreSQL refuses in text --------------------------------------------


@pytest.mark.parametrize("step", ["part", "identify"])
@pytest.mark.parametrize("query", [NUL, f"BRKT{NUL}"])
def test_a_nul_in_a_wizard_picker_search(planner_client, part, step, query):
    wizard = at_step(planner_client, step, part=part)
    for headers in ({}, HTMX):
        response = wizard.get(step, data={"q": query}, **headers)
        assert response.status_code in (200, 400)


@pytest.mark.parametrize("name", ["procedures:list", "inventory:list", "runs:list", "runs:pool"])
def test_a_nul_in_a_list_search(planner_client, name):
    response = planner_client.get(reverse(name), {"q": NUL})
    assert response.status_code in (200, 400)


# A search longer than SQLite's LIKE pattern limit (50,000 bytes) -------------------------

HUGE_SEARCH = "x" * 60_000


@pytest.mark.parametrize("step", ["part", "identify"])
def test_a_huge_wizard_picker_search_is_cut_to_the_box(planner_client, part, step):
    wizard = at_step(planner_client, step, part=part)
    response = wizard.get(step, data={"q": HUGE_SEARCH}, **HTMX)
    assert response.status_code == 200
    assert response.context["query"] == "x" * 100


@pytest.mark.parametrize("name", ["procedures:list", "inventory:list", "runs:batches", "runs:list"])
def test_a_huge_list_search_is_not_a_server_error(planner_client, name):
    response = planner_client.get(reverse(name), {"q": HUGE_SEARCH})
    assert response.status_code in (200, 400)


def test_a_huge_search_for_runs_to_add_to_a_batch(planner_client, org):
    batch = factories.RunBatchFactory(organisation=org)
    response = planner_client.get(reverse("runs:batch", args=[batch.pk]), {"find": HUGE_SEARCH})
    assert response.status_code == 200


def test_a_nul_in_a_posted_field_is_not_a_server_error(planner_client, part):
    wizard = at_step(planner_client, "identify", part=part)
    response = wizard.post("identify", {"serial_number": f"SN{NUL}1"})
    assert response.status_code in (200, 302)


# Pick up, paging and the schedule --------------------------------------------------------


@pytest.mark.parametrize("back", ["0", "my-work", "javascript:alert(1)"])
def test_pick_up_with_a_next_that_is_not_a_page_returns_to_the_pool(operator_client, org, back):
    run = factories.RunFactory(organisation=org)
    response = operator_client.post(reverse("runs:pick-up", args=[run.number]), {"next": back})
    assert response.status_code == 302
    assert response.url == reverse("runs:pool")


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("runs:list", {}),
        ("runs:list", {"q": "Run"}),
        ("runs:my-work", {}),
        ("runs:pool", {}),
        ("procedures:list", {}),
        ("inventory:list", {}),
    ],
)
def test_a_page_number_past_any_database_integer(planner_client, org, name, query):
    factories.RunFactory(organisation=org, name="Run 1")
    response = planner_client.get(reverse(name), query | {"page": "1000000000000000000"})
    assert response.status_code in (200, 404)


@pytest.mark.parametrize("span", ["week", "month"])
@pytest.mark.parametrize("start", ["9999-12-31", "0001-01-01"])
def test_the_schedule_at_the_ends_of_the_calendar(planner_client, start, span):
    response = planner_client.get(reverse("runs:schedule"), {"start": start, "span": span})
    assert response.status_code in (200, 400)


# Values that fit a form but not the database ---------------------------------------------


def test_create_after_duplicating_a_200_character_name(planner_client, part, version):
    wizard = WizardDriver(planner_client)
    wizard.author(part=part, procedure=version, details={"name": "N" * 200})
    planner_client.post(row_url(wizard, RunDraft.objects.get()), {"action": "duplicate", "copies": 2})
    response = press_create(planner_client, wizard)
    assert response.status_code == 302
    names = list(Run.objects.values_list("name", flat=True))
    assert len(names) == 3 and len(set(names)) == 3
    assert all(len(name) <= 200 for name in names)


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_duplicating_a_serial_that_cannot_count_up_within_100_characters(planner_client, part, headers):
    wizard = WizardDriver(planner_client)
    wizard.author(part=part, identify={"serial_number": "9" * 100})
    response = planner_client.post(
        row_url(wizard, RunDraft.objects.get()), {"action": "duplicate", "copies": 2}, follow=True, **headers
    )
    assert response.status_code == 200
    assert RunDraft.objects.count() == 1  # 10**100 has 101 digits: no copy can be made
    if headers:
        assert 'role="alert"' in response.content.decode()
    else:
        assert [m.level_tag for m in response.context["messages"]] == ["error"]

    response = press_create(planner_client, wizard)
    assert response.status_code == 302
    assert Run.objects.get().part_inventory.serial_number == "9" * 100


def test_create_after_duplicating_a_row_whose_auto_name_would_be_too_long(planner_client, org):
    long_part = factories.PartFactory(organisation=org, number="P" * 100)
    wizard = WizardDriver(planner_client)
    wizard.author(part=long_part, identify={"serial_number": "S" * 96 + "0001"})
    planner_client.post(row_url(wizard, RunDraft.objects.get()), {"action": "duplicate", "copies": 2})
    response = press_create(planner_client, wizard)
    assert response.status_code == 302
    runs = list(Run.objects.order_by("number"))
    assert [run.part_inventory.serial_number[-4:] for run in runs] == ["0001", "0002", "0003"]
    for run in runs:
        assert len(run.name) <= 200 and run.name.startswith(f"Run {run.number}: PPP")


@pytest.mark.parametrize("tracking", [TrackingType.LOT, TrackingType.NONE])
def test_create_runs_refuses_a_quantity_too_large_to_store(planner, org, tracking):
    bulk = factories.PartFactory(organisation=org, tracking_type=tracking)
    with pytest.raises(RunCreationError) as refused:
        create_runs(user=planner, requests=[RunRequest(part_id=bulk.pk, quantity=10**12)])
    assert refused.value.rows[0]
    assert not Run.objects.exists()


def test_admin_adding_a_version_to_a_family_that_has_a_draft_is_a_form_error(client, org):
    client.force_login(
        factories.UserFactory(organisation=org, is_staff=True, export_cleared=True, groups=["Admin"])
    )
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, title="Seal kitting", steps=0)
    url = reverse("admin:procedures_procedureversion_add")
    page = client.get(url)
    inlines = re.findall(r'name="([^"]+)-TOTAL_FORMS"', page.content.decode())
    data = {f"{prefix}-{count}": 0 for prefix in inlines for count in ("TOTAL_FORMS", "INITIAL_FORMS")}
    response = client.post(
        url, data | {"procedure": draft.procedure_id, "title": "Seal kitting v2", "type": "build"}
    )
    assert response.status_code == 200
    assert "already has a draft" in response.content.decode()
    assert ProcedureVersion.objects.filter(procedure=draft.procedure).count() == 1


# Review's Create ------------------------------------------------------------------------


def test_create_makes_nothing_when_a_row_was_added_after_the_page_was_shown(planner_client, part, version):
    wizard = WizardDriver(planner_client)
    wizard.author(part=part, procedure=version)
    shown = wizard.get("review").content.decode()
    WizardDriver(planner_client).author(part=part, procedure=version)  # in another tab

    response = press_create(planner_client, wizard, page=shown)

    assert response.status_code == 200
    assert not Run.objects.exists()
    body = response.content.decode()
    assert 'role="alert"' in body
    assert body.count('class="review-row"') == 2  # the list as it is now


def test_create_makes_nothing_when_a_row_was_removed_after_the_page_was_shown(planner_client, part, version):
    wizard = WizardDriver(planner_client)
    wizard.author(part=part, procedure=version)
    WizardDriver(planner_client).author(part=part, procedure=version)
    shown = wizard.get("review").content.decode()
    first = RunDraft.objects.order_by("position").first()
    planner_client.post(row_url(wizard, first), {"action": "remove"})  # in another tab

    response = press_create(planner_client, wizard, page=shown)

    assert response.status_code == 200
    assert not Run.objects.exists()
    assert 'role="alert"' in response.content.decode()


def test_create_makes_exactly_the_rows_shown(planner_client, part, version):
    wizard = WizardDriver(planner_client)
    wizard.author(part=part, procedure=version)
    WizardDriver(planner_client).author(part=part, procedure=version)
    response = press_create(planner_client, wizard)
    assert response.status_code == 302
    assert Run.objects.count() == 2 and not RunDraft.objects.exists()


def test_another_organisations_creation_token_does_not_lead_to_its_runs(
    planner_client, org, part, version, other_org, outsider
):
    theirs = create_runs(
        user=outsider, requests=[RunRequest(part_id=factories.PartFactory(organisation=other_org).pk)]
    )
    token = theirs[0].creation_token
    wizard = WizardDriver(planner_client)
    wizard.author(part=part, procedure=version)
    page = wizard.get("review").content.decode()
    fields = hidden_fields(page)
    fields[next(name for name in fields if name.endswith("-token"))] = str(token)

    response = planner_client.post(wizard.url("review"), fields)

    assert list(Run.objects.filter(creation_token=token)) == theirs
    ours = Run.objects.filter(organisation=org)
    if response.status_code == 302:
        assert ours.get().creation_token != token
        assert response.url == reverse("runs:created", args=[ours.get().creation_token])
    else:
        assert response.status_code == 200 and not ours.exists()
        assert 'role="alert"' in response.content.decode()


# Login --------------------------------------------------------------------------------------


@pytest.mark.parametrize("wizard_id", ["AbCdEfGh12", "x"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_anonymous_wizard_step_redirects_to_login_with_next(wizard_id, method):
    url = reverse("runs:wizard-step", args=[wizard_id, "part"])
    response = getattr(Client(), method)(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('accounts:login')}?next={quote(url)}"


def test_an_anonymous_row_action_redirects_to_login_with_next():
    url = reverse("runs:draft-row", args=[uuid.uuid4()])
    response = Client().post(url, {"action": "remove"})
    assert response.status_code == 302
    assert response.url == f"{reverse('accounts:login')}?next={quote(url)}"


def test_a_closed_run_is_not_picked_up_whatever_next_says(operator_client, org):
    run = factories.RunFactory(organisation=org, status=RunStatus.COMPLETE)
    response = operator_client.post(reverse("runs:pick-up", args=[run.number]), {"next": "0"})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.assigned_user is None
