"""Working a run's steps over the API (SPEC §12): the service's rules and messages, the API's answers."""

import pytest
from django.utils import timezone

from procedures.models import FieldType
from runs.models import Run, RunEvent, RunEventKind, RunStepField
from runs.services import RunRequest, complete_step, create_runs, record_values, start_step
from tests import factories
from tests.api.conftest import api_client_for

pytestmark = pytest.mark.django_db

TORQUE, INSPECTOR = 1, 2  # the fields ReleasedVersionFactory gives every step


@pytest.fixture
def make_run(org, planner, part):
    """A run of a released procedure with `steps` steps, made as the planner makes them."""

    def make(steps=2, by=planner, **kwargs) -> Run:
        version = factories.ReleasedVersionFactory(
            procedure__organisation=by.organisation, parts=[kwargs.pop("part", part)], steps=steps
        )
        request = RunRequest(part_id=version.parts.get().pk, procedure_version_id=version.pk, **kwargs)
        (run,) = create_runs(user=by, requests=[request])
        return run

    return make


@pytest.fixture
def run(make_run, operator):
    """Two steps, assigned to the operator."""
    return make_run(assigned_user_id=operator.pk)


@pytest.fixture
def station(operator):
    """A test station, with the operator's token."""
    return api_client_for(operator)


def step_url(run, position=1, action=None):
    return f"/api/v1/runs/{run.number}/steps/{position}" + (f"/{action}" if action else "")


def field_url(run, position=1, field=TORQUE):
    return f"{step_url(run, position)}/fields/{field}"


def stored(run, position=1, field=TORQUE):
    return RunStepField.objects.get(run_step__run=run, run_step__position=position, position=field)


def ok(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()


def refused(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def test_a_test_station_starts_measures_and_completes_a_step(station, run, operator):
    # curl -X POST sends no body and no Content-Type.
    started = ok(station.client.generic("POST", step_url(run, action="start"), headers=station.headers))
    assert started["status"] == "in_progress"
    assert started["started_by"] == "operator"
    assert started["run_status"] == "in_progress"
    assert "is started" in started["message"]

    measured = ok(station.put(field_url(run), {"value": 12.5}))
    assert measured["fields"][0]["value"] == "12.5"
    assert measured["fields"][0]["recorded_by"] == "operator"
    assert measured["message"] == "Saved 1 value on step 1."
    assert measured["status"] == "in_progress"

    completed = ok(station.post(step_url(run, action="complete"), {}))
    assert completed["status"] == "complete"
    assert completed["finished_by"] == "operator"
    assert completed["run_status"] == "in_progress"
    assert "Next: step 2" in completed["message"]
    assert RunEvent.objects.filter(run=run, kind=RunEventKind.VALUE_RECORDED, actor=operator).count() == 1


# The body as a station writes it: json.dumps would turn the float 7.50 into 7.5 before sending.
@pytest.mark.parametrize(
    "body, kept",
    [
        ('{"value": 7.50}', "7.50"),
        ('{"value": "7.50"}', "7.50"),
        ('{"value": 12}', "12"),
        ('{"value": 1.25e1}', "12.5"),
    ],
)
def test_a_number_keeps_the_precision_it_was_sent_with(station, run, operator, body, kept):
    start_step(actor=operator, step=run.steps.get(position=1))
    assert ok(station.put(field_url(run), body))["fields"][0]["value"] == kept
    assert stored(run).value == kept


def test_a_value_out_of_range_is_422_saying_the_range_and_nothing_is_saved(station, run, operator):
    start_step(actor=operator, step=run.steps.get(position=1))
    answer = refused(station.put(field_url(run), {"value": 25}), 422)
    assert answer["errors"] == [
        {"row": None, "field": "value", "message": "Torque (Nm) must be between 1 and 20."}
    ]
    assert stored(run).value is None
    assert not RunEvent.objects.filter(run=run, kind=RunEventKind.VALUE_RECORDED).exists()


@pytest.mark.parametrize(
    "field, value, message",
    [
        (TORQUE, True, "Torque (Nm) takes a number."),
        (TORQUE, [12], "Torque (Nm) takes a number."),
        (TORQUE, {"value": 12}, "Torque (Nm) takes a number."),
        (TORQUE, "twelve", "Torque (Nm) takes a number, such as 7.5."),
        (INSPECTOR, "yes", "Inspector takes true or false."),
        (INSPECTOR, 1, "Inspector takes true or false."),
    ],
)
def test_a_value_of_the_wrong_json_type_is_422_at_value(station, run, operator, field, value, message):
    start_step(actor=operator, step=run.steps.get(position=1))
    answer = refused(station.put(field_url(run, field=field), {"value": value}), 422)
    assert answer["errors"] == [{"row": None, "field": "value", "message": message}]
    assert stored(run, field=field).value is None


def test_a_body_not_as_described_is_422_at_its_field(station, run, operator):
    start_step(actor=operator, step=run.steps.get(position=1))
    for body, field in [
        ({}, "value"),
        ({"value": 12, "unit": "Nm"}, "unit"),
        ({"value": "1\x002"}, "value"),
        ({"value": ["a\x00"]}, "value"),
    ]:
        answer = refused(station.put(field_url(run), body), 422)
        assert [e["field"] for e in answer["errors"]] == [field], body
    for body in [{"reason": 5}, {"reason": "x" * 2001}, {"why": "because"}]:
        answer = refused(station.post(step_url(run, action="hold"), body), 422)
        assert answer["errors"][0]["field"] in ("reason", "why")
    assert refused(station.put(field_url(run), "12"), 422)["errors"][0]["message"]
    assert stored(run).value is None


def test_text_is_trimmed_and_checked_against_its_field(station, run, operator):
    step = start_step(actor=operator, step=run.steps.get(position=1)).step
    factories.RunStepFieldFactory(
        run_step=step,
        position=3,
        label="Batch code",
        type=FieldType.TEXT,
        max_length=8,
        pattern=r"[A-Z]+-\d+",
    )
    assert (
        ok(station.put(field_url(run, field=3), {"value": "  LOT-42 \n"}))["fields"][2]["value"] == "LOT-42"
    )
    for value, message in [
        ("lot-42", r"Batch code must match the pattern [A-Z]+-\d+."),
        ("LOT-123456", "Batch code is 10 characters long; at most 8 fit."),
        (42, "Batch code takes text."),
    ]:
        answer = refused(station.put(field_url(run, field=3), {"value": value}), 422)
        assert answer["errors"] == [{"row": None, "field": "value", "message": message}]
    assert stored(run, field=3).value == "LOT-42"


def test_a_file_field_takes_no_value_over_json(station, run, operator):
    step = start_step(actor=operator, step=run.steps.get(position=1)).step
    factories.RunStepFieldFactory(run_step=step, position=3, label="Trace", type=FieldType.FILE)
    answer = refused(station.put(field_url(run, field=3), {"value": "trace.csv"}), 422)
    assert answer["errors"] == [
        {"row": None, "field": "value", "message": "Trace takes a file, uploaded on the run's page."}
    ]


@pytest.mark.parametrize("moment", ["0001-01-01T00:00+05:00", "9999-12-31T23:59-05:00"])
def test_a_moment_no_clock_here_can_show_is_422_not_500(station, run, operator, moment):
    step = start_step(actor=operator, step=run.steps.get(position=1)).step
    factories.RunStepFieldFactory(run_step=step, position=3, label="Cured at", type=FieldType.DATETIME)
    answer = refused(station.put(field_url(run, field=3), {"value": moment}), 422)
    assert answer["errors"] == [
        {"row": None, "field": "value", "message": "Cured at takes a date and time such as 2026-12-07T14:30."}
    ]
    assert (
        ok(station.put(field_url(run, field=3), {"value": "2026-12-07T14:30+01:00"}))["fields"][2]["value"]
        == "2026-12-07T14:30:00+01:00"
    )


def test_completing_a_complete_step_is_409_naming_its_state(station, run):
    ok(station.post(step_url(run, action="start"), {}))
    ok(station.put(field_url(run), {"value": 10}))
    ok(station.post(step_url(run, action="complete"), {}))
    answer = refused(station.post(step_url(run, action="complete"), {}), 409)
    assert answer["detail"] == "Step 1 is complete; you cannot complete it."
    assert answer["errors"] == [{"row": None, "field": "status", "message": "complete"}]
    # A value on a step that is not in progress: the same.
    answer = refused(station.put(field_url(run), {"value": 11}), 409)
    assert answer["errors"][0]["message"] == "complete"
    assert stored(run).value == "10"


def test_steps_go_in_order_and_a_closed_run_refuses(station, run):
    answer = refused(station.post(step_url(run, 2, "start"), {}), 409)
    assert answer["detail"] == "Step 1 “Step 1” comes first: it is to do."
    assert answer["errors"][0]["message"] == "todo"
    Run.objects.filter(pk=run.pk).update(status="canceled")
    answer = refused(station.post(step_url(run, action="start"), {}), 409)
    assert answer["detail"] == f"Run {run.number} is canceled; its steps can no longer be changed."
    assert answer["errors"] == [{"row": None, "field": "status", "message": "canceled"}]


def test_completing_names_each_required_field_left_empty(station, run):
    ok(station.post(step_url(run, action="start"), {}))
    answer = refused(station.post(step_url(run, action="complete"), {}), 422)
    assert answer["detail"] == "Step 1 cannot be completed yet: fill in Torque (Nm)."
    assert answer["errors"] == [{"row": None, "field": "values.1", "message": "Torque (Nm) is required."}]


def test_fail_hold_resume_need_a_reason_start_and_complete_take_none(api, station, run):
    answer = refused(station.post(step_url(run, action="start"), {"reason": "because"}), 422)
    assert answer["errors"] == [
        {"row": None, "field": "reason", "message": "Start takes no reason; leave reason out."}
    ]
    # The document has no reason here at all: an empty or null one is refused the same way.
    for body in [{"reason": None}, {"reason": ""}]:
        assert (
            refused(station.post(step_url(run, action="start"), body), 422)["errors"][0]["field"] == "reason"
        )
    ok(station.post(step_url(run, action="start"), {}))
    for body in [{}, {"reason": "   "}, None]:
        answer = refused(station.post(step_url(run, action="hold"), body), 422)
        assert answer["errors"] == [
            {"row": None, "field": "reason", "message": "Say why the step is on hold."}
        ], body
    held = ok(station.post(step_url(run, action="hold"), {"reason": "  Torque wrench out for calibration "}))
    assert (held["status"], held["run_status"]) == ("hold", "hold")
    assert held["status_reason"] == "Torque wrench out for calibration"
    ok(station.post(step_url(run, action="resume"), {"reason": "Wrench back"}))
    failed = ok(station.post(step_url(run, action="fail"), {"reason": "Thread stripped"}))
    assert (failed["status"], failed["run_status"]) == ("failed", "failed")
    # Reopening is a planner's call.
    refused(station.post(step_url(run, action="reopen"), {"reason": "Rework"}), 403)
    reopened = ok(api.post(step_url(run, action="reopen"), {"reason": "Rework: new insert"}))
    assert (reopened["status"], reopened["run_status"]) == ("todo", "in_progress")


def test_only_a_planner_skips(api, station, run):
    answer = refused(station.post(step_url(run, action="skip"), {"reason": "Not on this variant"}), 403)
    assert answer["detail"] == "Only a planner can skip a step."
    skipped = ok(api.post(step_url(run, action="skip"), {"reason": "Not on this variant"}))
    assert skipped["status"] == "canceled"


def test_an_operator_cannot_work_someone_elses_run(org, make_run):
    bob = factories.OperatorFactory(organisation=org, username="bob")
    theirs = make_run(assigned_user_id=bob.pk)
    intruder = api_client_for(factories.OperatorFactory(organisation=org, username="eve"))
    for response in [
        intruder.post(step_url(theirs, action="start"), {}),
        intruder.put(field_url(theirs), {"value": 12}),
    ]:
        answer = refused(response, 403)
        assert (
            answer["detail"]
            == f"Run {theirs.number} is assigned to {bob}; only they or a planner can work on it."
        )
    assert theirs.steps.get(position=1).status == "todo"


def test_a_token_without_the_view_permission_is_403(org, run):
    nobody = api_client_for(factories.UserFactory(organisation=org))
    refused(nobody.post(step_url(run, action="start"), {}), 403)
    refused(nobody.put(field_url(run), {"value": 12}), 403)


def test_another_organisations_run_is_404(api, make_run, outsider, other_org):
    theirs = make_run(by=outsider, part=factories.PartFactory(organisation=other_org))
    refused(api.post(step_url(theirs, action="start"), {}), 404)
    refused(api.put(field_url(theirs), {"value": 12}), 404)
    assert theirs.steps.get(position=1).status == "todo"


def test_an_export_controlled_run_is_404_for_the_uncleared(make_run, uncleared_planner):
    controlled = make_run(export_controlled=True)
    client = api_client_for(uncleared_planner)
    answer = refused(client.post(step_url(controlled, action="start"), {}), 404)
    assert answer["detail"] == "No run with this number is visible to you."
    refused(client.put(field_url(controlled), {"value": 12}), 404)
    assert controlled.steps.get(position=1).status == "todo"


def test_a_step_or_field_that_does_not_exist_is_404(api, run, operator):
    start_step(actor=operator, step=run.steps.get(position=1))
    assert (
        refused(api.post(step_url(run, 3, "start"), {}), 404)["detail"] == f"Run {run.number} has no step 3."
    )
    answer = refused(api.put(field_url(run, field=9), {"value": 1}), 404)
    assert answer["detail"] == f"Step 1 of run {run.number} has no field 9."
    # Each action is an operation of its own: another word is no address.
    refused(api.post(step_url(run, 1, "launch"), {}), 404)


def test_a_sign_off_is_the_tokens_user_and_only_theirs(api, station, run, planner):
    ok(station.post(step_url(run, action="start"), {}))
    signed = ok(api.put(field_url(run, field=INSPECTOR), {"value": True}))
    assert signed["fields"][1]["value"] is True
    assert signed["fields"][1]["recorded_by"] == "planner"
    assert stored(run, field=INSPECTOR).recorded_by == planner
    event = RunEvent.objects.get(run=run, kind=RunEventKind.SIGNED_OFF)
    assert event.actor == planner
    # Nobody withdraws or signs over another's sign-off.
    for value in (False, True):
        answer = refused(station.put(field_url(run, field=INSPECTOR), {"value": value}), 422)
        assert (
            answer["errors"][0]["message"]
            == f"Inspector is signed off by {planner}; only they can change it."
        )
    withdrawn = ok(api.put(field_url(run, field=INSPECTOR), {"value": False}))
    assert withdrawn["fields"][1]["value"] is None


def test_get_run_shows_states_values_who_and_when(api, station, run):
    before = timezone.now()
    ok(station.post(step_url(run, action="start"), {}))
    ok(station.put(field_url(run), {"value": "7.50"}))
    ok(station.post(step_url(run, action="complete"), {}))
    answer = ok(api.get(f"/api/v1/runs/{run.number}"))
    assert answer["status"] == "in_progress"
    assert answer["started_at"] >= before.isoformat()[:19]
    assert answer["completed_at"] is None
    first, second = answer["steps"]
    assert (first["status"], first["started_by"], first["finished_by"]) == (
        "complete",
        "operator",
        "operator",
    )
    assert first["started_at"] and first["finished_at"] and first["status_reason"] == ""
    torque, inspector = first["fields"]
    assert torque | {"recorded_at": None} == {
        "position": 1,
        "label": "Torque (Nm)",
        "type": "number",
        "required": True,
        "options": [],
        "min_value": "1",
        "max_value": "20",
        "max_length": None,
        "pattern": None,
        "value": "7.50",
        "recorded_by": "operator",
        "recorded_at": None,
    }
    assert torque["recorded_at"]
    assert (inspector["value"], inspector["recorded_by"], inspector["recorded_at"]) == (None, None, None)
    assert (second["status"], second["started_at"], second["started_by"]) == ("todo", None, None)


def test_a_run_completes_over_the_api(station, make_run, operator):
    run = make_run(steps=1, assigned_user_id=operator.pk)
    ok(station.post(step_url(run, action="start"), {}))
    ok(station.put(field_url(run), {"value": 5}))
    done = ok(station.post(step_url(run, action="complete"), {}))
    assert done["run_status"] == "complete"
    assert f"Run {run.number} is complete" in done["message"]
    run.refresh_from_db()
    assert run.completed_at is not None
    assert run.part_inventory.status == "available"


@pytest.mark.parametrize("steps", [2, 12])
def test_put_and_complete_take_a_fixed_number_of_queries(
    station, make_run, operator, steps, django_assert_max_num_queries
):
    run = make_run(steps=steps, assigned_user_id=operator.pk)
    ok(station.post(step_url(run, action="start"), {}))
    with django_assert_max_num_queries(18):
        ok(station.put(field_url(run), {"value": 12}))
    with django_assert_max_num_queries(18):
        ok(station.put(field_url(run, field=INSPECTOR), {"value": True}))
    with django_assert_max_num_queries(17):
        ok(station.post(step_url(run, action="complete"), {}))


@pytest.mark.parametrize("steps", [2, 12])
def test_get_run_takes_a_fixed_number_of_queries(
    api, make_run, planner, steps, django_assert_max_num_queries
):
    run = make_run(steps=steps)
    for step in run.steps.all():
        start_step(actor=planner, step=step)
        record_values(actor=planner, step=step, values={TORQUE: 3, INSPECTOR: True})
        complete_step(actor=planner, step=step)
    with django_assert_max_num_queries(7):
        answer = ok(api.get(f"/api/v1/runs/{run.number}"))
    assert {s["finished_by"] for s in answer["steps"]} == {"planner"}
    assert {f["recorded_by"] for s in answer["steps"] for f in s["fields"]} == {"planner"}
