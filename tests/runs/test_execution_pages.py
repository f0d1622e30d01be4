"""The run page's step panels (SPEC §12): start, record, complete, fail, hold, skip, reopen.

Each action is posted as a plain form (a redirect back to the step) and with htmx (the steps
swapped in place, the header following out of band), and refused in place with nothing
changed when a value breaks its rule, the state does not allow it, or the run is not the
user's to work on.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inventory.models import InventoryStatus
from procedures.models import FieldType
from runs.models import RunEvent, RunEventKind, RunStatus
from runs.models.steps import StepStatus
from runs.services import RunRequest, complete_step, create_runs, start_step
from tests import factories

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def part(org):
    return factories.PartFactory(organisation=org, number="BRKT-ASSY-001")


@pytest.fixture
def version(org, part):
    return factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], title="Bracket build", steps=2
    )


@pytest.fixture
def run(planner, part, version):
    return create_runs(user=planner, requests=[RunRequest(part_id=part.pk, procedure_version_id=version.pk)])[
        0
    ]


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


def action_url(run, position, action):
    return reverse("runs:step-action", args=[run.number, position, action])


def test_the_run_page_opens_the_next_step_with_its_rules(operator_client, run):
    page = operator_client.get(reverse("runs:detail", args=[run.number])).content.decode()
    assert 'id="next-step"' in page.split('id="step-2"')[0]
    assert "Start step 1" in page
    assert "Start step 2" not in page
    assert "A number from 1 to 20" in page
    assert "Starting picks this run up" in page


def test_an_operator_picks_up_a_pool_run_by_starting_it(operator_client, operator, run):
    response = operator_client.post(action_url(run, 1, "start"))
    assert response.status_code == 302
    assert response.url.endswith("#step-1")
    run.refresh_from_db()
    assert run.assigned_user == operator
    assert run.status == RunStatus.IN_PROGRESS
    assert run.steps.get(position=1).status == StepStatus.IN_PROGRESS
    kinds = set(RunEvent.objects.filter(run=run).values_list("kind", flat=True))
    assert {RunEventKind.PICKED_UP, RunEventKind.STEP_STARTED, RunEventKind.STATUS_CHANGED} <= kinds


def test_an_out_of_range_value_is_refused_at_its_field_and_nothing_is_saved(operator_client, operator, run):
    start_step(actor=operator, step=run.steps.get(position=1))
    response = operator_client.post(
        action_url(run, 1, "complete"), {"field-1": "25", "field-2": "on"}, **HTMX
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Torque (Nm) must be between 1 and 20." in page
    assert 'value="25"' in page  # what was typed stays to be fixed
    assert "autofocus" in page.split('name="field-1"')[1].split(">")[0]
    step = run.steps.get(position=1)
    assert step.status == StepStatus.IN_PROGRESS
    assert not step.fields.filter(value__isnull=False).exists()


def test_completing_with_valid_values_moves_to_the_next_step(operator_client, operator, run):
    start_step(actor=operator, step=run.steps.get(position=1))
    response = operator_client.post(
        action_url(run, 1, "complete"), {"field-1": "7.50", "field-2": "on"}, **HTMX
    )
    page = response.content.decode()
    assert "Step 1 “Step 1” is complete. Next: step 2 “Step 2”." in page
    assert 'hx-swap-oob="true"' in page  # the header, with the run's status, follows
    step = run.steps.get(position=1)
    assert step.status == StepStatus.COMPLETE
    torque, signoff = step.fields.order_by("position")
    assert torque.value == "7.50"
    assert signoff.value is True and signoff.recorded_by == operator
    assert "Start step 2" in page


def test_complete_names_each_missing_required_field(operator_client, operator, run):
    start_step(actor=operator, step=run.steps.get(position=1))
    page = operator_client.post(action_url(run, 1, "complete"), {}, **HTMX).content.decode()
    assert "Step 1 cannot be completed yet: fill in Torque (Nm)." in page
    assert "Torque (Nm) is required." in page
    assert run.steps.get(position=1).status == StepStatus.IN_PROGRESS


def test_save_keeps_values_without_completing(operator_client, operator, run):
    start_step(actor=operator, step=run.steps.get(position=1))
    response = operator_client.post(action_url(run, 1, "save"), {"field-1": "4"})
    assert response.status_code == 302
    step = run.steps.get(position=1)
    assert step.status == StepStatus.IN_PROGRESS
    assert step.fields.get(position=1).value == "4"


def test_the_whole_run_completes_and_its_unit_becomes_available(operator_client, operator, run):
    for position in (1, 2):
        operator_client.post(action_url(run, position, "start"))
        operator_client.post(action_url(run, position, "complete"), {"field-1": "10"})
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETE
    assert run.part_inventory.status == InventoryStatus.AVAILABLE
    page = operator_client.get(reverse("runs:detail", args=[run.number])).content.decode()
    assert "Start step" not in page and "Save values" not in page  # read-only


def test_failing_needs_a_reason_and_puts_the_unit_on_hold(operator_client, operator, run):
    start_step(actor=operator, step=run.steps.get(position=1))
    page = operator_client.post(action_url(run, 1, "fail"), {"fail-1-reason": " "}, **HTMX).content.decode()
    assert "Say why." in page
    assert run.steps.get(position=1).status == StepStatus.IN_PROGRESS
    operator_client.post(action_url(run, 1, "fail"), {"fail-1-reason": "Thread stripped"})
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.part_inventory.status == InventoryStatus.ON_HOLD
    page = operator_client.get(reverse("runs:detail", args=[run.number])).content.decode()
    assert "Thread stripped" in page
    assert "Reopen for rework" not in page  # a planner's call


def test_a_planner_reopens_a_failed_step(planner_client, operator, run):
    start_step(actor=operator, step=run.steps.get(position=1))
    planner_client.post(action_url(run, 1, "fail"), {"fail-1-reason": "Thread stripped"})
    response = planner_client.post(action_url(run, 1, "reopen"), {"reopen-1-reason": "Rework the thread"})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.IN_PROGRESS
    assert run.steps.get(position=1).status == StepStatus.TODO


def test_an_operator_cannot_skip(operator_client, operator, run):
    response = operator_client.post(action_url(run, 1, "skip"), {"skip-1-reason": "Not needed"})
    assert response.status_code == 403
    assert "Only a planner can skip a step." in response.content.decode()
    assert run.steps.get(position=1).status == StepStatus.TODO


def test_another_operators_run_is_read_only_for_me(client, org, run):
    someone = factories.OperatorFactory(organisation=org, first_name="Ada", last_name="Lovelace")
    me = factories.OperatorFactory(organisation=org)
    start_step(actor=someone, step=run.steps.get(position=1))
    client.force_login(me)
    page = client.get(reverse("runs:detail", args=[run.number])).content.decode()
    assert "only they or a planner can work on it" in page
    assert "Save values" not in page
    response = client.post(action_url(run, 1, "complete"), {"field-1": "5"})
    assert response.status_code == 403
    assert run.steps.get(position=1).status == StepStatus.IN_PROGRESS


def test_a_stale_action_is_told_the_current_state(operator_client, operator, run):
    start_step(actor=operator, step=run.steps.get(position=1))
    response = operator_client.post(action_url(run, 1, "start"))
    assert response.status_code == 409
    assert "Step 1 is in progress; you cannot start it." in response.content.decode()
    response = operator_client.post(action_url(run, 1, "start"), **HTMX)
    assert response.status_code == 200  # htmx swaps only 2xx: shown in place all the same
    assert "you cannot start it" in response.content.decode()


def test_an_unknown_action_is_a_404(operator_client, run):
    assert operator_client.post(action_url(run, 1, "explode")).status_code == 404
    assert operator_client.post(action_url(run, 9, "start")).status_code == 404


def test_a_file_is_stored_and_served_only_to_who_may_see_the_run(
    client, operator, org, other_org, planner, part, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    version = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=1)
    # A released version's fields are not edited through the model; the test sets one up.
    version.steps.get().fields.filter(position=1).update(type=FieldType.FILE, min_value=None, max_value=None)
    request = RunRequest(part_id=part.pk, procedure_version_id=version.pk)
    run = create_runs(user=planner, requests=[request])[0]
    start_step(actor=operator, step=run.steps.get())
    client.force_login(operator)
    upload = SimpleUploadedFile("torque-log.csv", b"nm,7.5\n", content_type="text/csv")
    client.post(action_url(run, 1, "save"), {"field-1": upload})
    recorded = run.steps.get().fields.get(position=1)
    assert recorded.value == "torque-log.csv"
    url = reverse("runs:step-file", args=[run.number, 1, 1])
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"nm,7.5\n"
    client.force_login(factories.PlannerFactory(organisation=other_org))
    assert client.get(url).status_code == 404


def test_an_admin_reopens_a_complete_run(client, org, operator, run):
    for position in (1, 2):
        start_step(actor=operator, step=run.steps.get(position=position))
        complete_step(actor=operator, step=run.steps.get(position=position), values={1: "5"})
    admin = factories.UserFactory(organisation=org, is_staff=True, groups=["Admin"])
    client.force_login(admin)
    url = reverse("runs:run-reopen", args=[run.number])
    assert "Say why." in client.post(url, {"reopen-run-reason": ""}).content.decode()
    response = client.post(url, {"reopen-run-reason": "Torque re-check"})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.IN_PROGRESS
    assert run.part_inventory.status == InventoryStatus.IN_BUILD


def test_a_long_history_shows_the_newest_fifty_and_offers_the_rest(operator_client, operator, run):
    RunEvent.objects.bulk_create(
        RunEvent(run=run, kind=RunEventKind.RENAMED, actor=operator, before=f"N{i}", after=f"N{i + 1}")
        for i in range(60)
    )
    url = reverse("runs:detail", args=[run.number])
    page = operator_client.get(url).content.decode()
    assert page.count('<li class="history-') == 50
    assert "and 11 earlier changes." in page
    assert f'href="{url}?history=all#run-history"' in page
    everything = operator_client.get(url, {"history": "all"}).content.decode()
    assert everything.count('<li class="history-') == 61
    assert "earlier change" not in everything
