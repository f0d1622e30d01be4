"""Executing a run's steps (SPEC §12), as an operator, a planner or an admin would notice it.

Concurrent actions on one run are in test_execution_concurrency.py.
"""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from inventory.models import InventoryStatus
from ion_runs.accounts.models import User
from procedures.models import FieldType
from runs.access import visible_runs
from runs.models import Run, RunEvent, RunEventKind, RunSource, RunStatus, RunStep, StepStatus
from runs.models.steps import STEP_TRANSITIONS, StepAction, derive_run_status
from runs.services import (
    ACTIONS,
    InvalidValues,
    NotYours,
    RunChangeError,
    RunRequest,
    StepConflict,
    complete_step,
    create_runs,
    execution,
    fail_step,
    hold_step,
    record_values,
    reopen_run,
    reopen_step,
    skip_step,
    start_step,
)
from tests import factories

pytestmark = pytest.mark.django_db

TORQUE, INSPECTOR = 1, 2  # the fields ReleasedVersionFactory gives every step


@pytest.fixture
def part(org):
    return factories.PartFactory(organisation=org, number="BRKT-ASSY-001")


@pytest.fixture
def make_run(org, planner, part):
    """A run of a released procedure with `steps` steps, made as the planner makes them."""

    def make(steps=2, **kwargs) -> Run:
        version = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=steps)
        request = RunRequest(part_id=part.pk, procedure_version_id=version.pk, **kwargs)
        (run,) = create_runs(user=planner, requests=[request])
        return run

    return make


@pytest.fixture
def run(make_run, operator):
    """Two steps, assigned to the operator."""
    return make_run(assigned_user_id=operator.pk)


def step(run, position=1) -> RunStep:
    return run.steps.get(position=position)


def started(run, actor, position=1) -> RunStep:
    return start_step(actor=actor, step=step(run, position)).step


def finish(run, actor):
    """Start and complete every step still to do, in order."""
    for s in run.steps.order_by("position"):
        if s.status == StepStatus.TODO:
            start_step(actor=actor, step=s)
        complete_step(actor=actor, step=s, values={TORQUE: "5"})


def add_field(run_step, type, label="Note", **kwargs):
    position = run_step.fields.count() + 1
    return factories.RunStepFieldFactory(
        run_step=run_step, position=position, type=type, label=label, **kwargs
    )


def status_of(run) -> str:
    return Run.objects.get(pk=run.pk).status


def unit_status(run) -> str:
    run.part_inventory.refresh_from_db()
    return run.part_inventory.status


def events(run, *kinds) -> list[RunEvent]:
    qs = RunEvent.objects.filter(run=run).exclude(kind=RunEventKind.CREATED).order_by("at", "id")
    return list(qs.filter(kind__in=kinds) if kinds else qs)


# The run's status, derived from its steps ------------------------------------------------


def spec_rule(states: tuple[str, ...], started: bool) -> str:
    """SPEC §12 in its own words, written without the code's helpers.

    A started run whose steps are all to do again (its failed first step reopened for
    rework) is back in progress, not new.
    """
    if all(s == "todo" for s in states):
        return "in_progress" if started else "todo"
    if "hold" in states:
        return "hold"
    if "failed" in states:
        return "failed"
    if all(s in ("complete", "canceled") for s in states) and "complete" in states:
        return "complete"
    return "in_progress"


def test_it_derives_the_run_status_from_every_combination_of_step_states():
    combinations = [
        (states, started)
        for n in range(4)
        for states in itertools.product(StepStatus.values, repeat=n)
        for started in (False, True)
    ]
    assert len(combinations) == 2 * (1 + 6 + 36 + 216)

    got = {(states, started): derive_run_status(states, started=started) for states, started in combinations}
    assert {key: status for key, status in got.items() if status != spec_rule(*key)} == {}
    assert derive_run_status([]) == RunStatus.TODO
    # Skipping everything completes nothing; failing while on hold is still on hold.
    assert derive_run_status(["canceled", "canceled"]) == RunStatus.IN_PROGRESS
    assert derive_run_status(["failed", "hold"]) == RunStatus.HOLD


# Step transitions --------------------------------------------------------------------------

PAIRS = [(action, state) for action in StepAction for state in StepStatus]


@pytest.mark.parametrize(("action", "state"), PAIRS, ids=[f"{a}-from-{s}" for a, s in PAIRS])
def test_it_allows_exactly_the_transitions_of_its_table(make_run, planner, action, state):
    run = make_run(steps=2)
    RunStep.objects.filter(run=run, position=1).update(status=state)
    Run.objects.filter(pk=run.pk).update(status=derive_run_status([state, StepStatus.TODO]))
    kwargs = {"reason": "Because."} if action.needs_reason else {}
    if action == StepAction.COMPLETE:
        kwargs["values"] = {TORQUE: "5"}
    allowed, target = STEP_TRANSITIONS[action]

    if state in allowed:
        ACTIONS[action](actor=planner, step=step(run), **kwargs)
        assert step(run).status == target
        assert events(run, execution.EVENT_OF[action])[0].after == target
    else:
        with pytest.raises(StepConflict) as excinfo:
            ACTIONS[action](actor=planner, step=step(run), **kwargs)
        shown = StepStatus(state).label.lower()
        assert str(excinfo.value).startswith(f"Step 1 is {shown}; you cannot {action.label.lower()}")
        assert excinfo.value.status == state
        assert step(run).status == state
        assert events(run) == []


def test_it_refuses_to_start_a_step_before_the_one_before_it_is_done(run, operator):
    with pytest.raises(StepConflict) as excinfo:
        start_step(actor=operator, step=step(run, 2))

    assert str(excinfo.value) == "Step 1 “Step 1” comes first: it is to do."
    assert step(run, 2).status == StepStatus.TODO


def test_a_skipped_step_lets_the_next_one_start(run, planner, operator):
    outcome = skip_step(actor=planner, step=step(run, 1), reason="No primer on this variant.")
    assert "Next: step 2 “Step 2”." in outcome.message

    start_step(actor=operator, step=step(run, 2))

    assert step(run, 2).status == StepStatus.IN_PROGRESS
    assert step(run, 1).status_reason == "No primer on this variant."


def test_an_action_needing_a_reason_is_refused_without_one(run, operator):
    s = started(run, operator)

    with pytest.raises(RunChangeError) as excinfo:
        hold_step(actor=operator, step=s, reason="   ")

    assert (str(excinfo.value), excinfo.value.field) == ("Say why the step is on hold.", "reason")
    assert step(run).status == StepStatus.IN_PROGRESS


# Values, per field type -------------------------------------------------------------------


def refusal(actor, run_step, values=None, files=None) -> dict[int, str]:
    """The messages record_values gives, by field position (and that it gives some)."""
    with pytest.raises(InvalidValues) as excinfo:
        record_values(actor=actor, step=run_step, values=values, files=files)
    return excinfo.value.errors


def saved(run_step, position):
    return run_step.fields.get(position=position).value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("21", "Torque (Nm) must be between 1 and 20."),
        ("0.99", "Torque (Nm) must be between 1 and 20."),
        ("-3", "Torque (Nm) must be between 1 and 20."),
        ("twelve", "Torque (Nm) takes a number, such as 7.5."),
        ("NaN", "Torque (Nm) takes a number, such as 7.5."),
        ("Infinity", "Torque (Nm) takes a number, such as 7.5."),
        (True, "Torque (Nm) takes a number."),
        ([7], "Torque (Nm) takes a number."),
    ],
)
def test_it_refuses_a_number_out_of_range_or_not_a_number(run, operator, value, message):
    s = started(run, operator)

    assert refusal(operator, s, {TORQUE: value}) == {TORQUE: message}
    assert saved(s, TORQUE) is None


@pytest.mark.parametrize(
    ("value", "kept"), [("7.50", "7.50"), (" 20 ", "20"), ("1", "1"), (12, "12"), (Decimal("7.50"), "7.50")]
)
def test_it_keeps_a_number_exactly_as_typed(run, operator, value, kept):
    s = started(run, operator)

    record_values(actor=operator, step=s, values={TORQUE: value})

    assert saved(s, TORQUE) == kept


def test_it_says_the_one_limit_a_number_has(run, operator):
    s = started(run, operator)
    add_field(s, FieldType.NUMBER, "Gap (mm)", min_value=0)
    add_field(s, FieldType.NUMBER, "Runout (mm)", max_value="0.05")

    assert refusal(operator, s, {3: "-1", 4: "0.06"}) == {
        3: "Gap (mm) must be at least 0.",
        4: "Runout (mm) must be at most 0.05.",
    }


def test_it_checks_text_length_and_pattern(run, operator):
    s = started(run, operator)
    add_field(s, FieldType.TEXT, "Batch code", max_length=6, pattern=r"B-\d+")

    assert refusal(operator, s, {3: "B-12345"}) == {3: "Batch code is 7 characters long; at most 6 fit."}
    assert refusal(operator, s, {3: "X-1"}) == {3: r"Batch code must match the pattern B-\d+."}
    assert refusal(operator, s, {3: 12}) == {3: "Batch code takes text."}
    record_values(actor=operator, step=s, values={3: "B-42"})
    assert saved(s, 3) == "B-42"


def test_it_takes_only_the_options_of_a_select_or_multiselect(run, operator):
    s = started(run, operator)
    add_field(s, FieldType.SELECT, "Finish", options=["Anodised", "Painted"])
    add_field(s, FieldType.MULTISELECT, "Checks", options=["Visual", "Torque", "Leak"])

    assert refusal(operator, s, {3: "Chromed", 4: ["Leak", "X-ray"]}) == {
        3: "Finish must be one of: Anodised, Painted.",
        4: "Checks: X-ray is not an option; pick from Visual, Torque, Leak.",
    }
    assert refusal(operator, s, {4: "Leak"}) == {4: "Checks takes a list of options."}
    record_values(actor=operator, step=s, values={3: "Painted", 4: ["Leak", "Visual"]})
    # A multiselect's answers keep the options' order.
    assert (saved(s, 3), saved(s, 4)) == ("Painted", ["Visual", "Leak"])


def test_a_yes_no_answered_no_is_a_value(run, operator):
    s = started(run, operator)
    add_field(s, FieldType.BOOLEAN, "Deburred", required=True)

    assert refusal(operator, s, {3: "no"}) == {3: "Deburred takes true or false."}
    record_values(actor=operator, step=s, values={3: False})

    assert saved(s, 3) is False
    assert s.fields.get(position=3).shown_value == "No"


def test_it_takes_a_date_and_time_as_iso_text_in_the_local_zone(run, operator, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    s = started(run, operator)
    add_field(s, FieldType.DATETIME, "Cured at")
    add_field(s, FieldType.DATETIME, "Shipped at")

    assert refusal(operator, s, {3: "next Tuesday"}) == {
        3: "Cured at takes a date and time such as 2026-12-07T14:30."
    }
    utc = datetime.datetime(2026, 6, 1, 8, 0, tzinfo=datetime.UTC)
    record_values(actor=operator, step=s, values={3: "2026-12-07T14:30", 4: utc})

    assert saved(s, 3) == "2026-12-07T14:30:00+01:00"
    assert saved(s, 4) == "2026-06-01T08:00:00+00:00"
    assert s.fields.get(position=4).shown_value == "1 Jun 2026, 10:00"


def test_a_sign_off_records_the_signer_and_only_they_can_change_it(run, operator, planner):
    s = started(run, operator)

    record_values(actor=operator, step=s, values={INSPECTOR: True})

    field = s.fields.get(position=INSPECTOR)
    assert (field.value, field.recorded_by) == (True, operator)
    assert field.recorded_at is not None
    signed = f"Inspector is signed off by {operator}; only they can change it."
    assert refusal(planner, s, {INSPECTOR: True}) == {INSPECTOR: signed}
    assert refusal(planner, s, {INSPECTOR: False}) == {INSPECTOR: signed}
    assert s.fields.get(position=INSPECTOR).recorded_by == operator

    record_values(actor=operator, step=s, values={INSPECTOR: False})
    assert saved(s, INSPECTOR) is None


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STEP_FILE_MAX_BYTES = 2**20
    return tmp_path


def test_it_stores_a_file_with_the_storage_backend(run, operator, media):
    s = started(run, operator)
    add_field(s, FieldType.FILE, "Leak report")

    record_values(actor=operator, step=s, files={3: SimpleUploadedFile("leak.csv", b"bar,0.1\n")})

    field = s.fields.get(position=3)
    assert field.value == "leak.csv"
    assert field.file.name.startswith(f"run-files/{run.organisation_id}/{run.pk}/1/leak")
    with default_storage.open(field.file.name) as stored:
        assert stored.read() == b"bar,0.1\n"
    assert (media / field.file.name).exists()


def test_it_refuses_a_file_over_the_size_limit_and_a_value_for_a_file(run, operator, media):
    s = started(run, operator)
    add_field(s, FieldType.FILE, "Leak report")
    big = SimpleUploadedFile("leak.csv", b"x" * (2**20 + 1))

    assert refusal(operator, s, files={3: big}) == {
        3: "leak.csv is 1.0 MB; Leak report takes files of up to 1 MB."
    }
    assert refusal(operator, s, {3: "leak.csv"}) == {
        3: "Leak report takes a file, uploaded on the run's page."
    }
    assert list(media.rglob("*.csv")) == []
    assert saved(s, 3) is None


def test_one_invalid_value_among_several_saves_none_of_them(run, operator):
    s = started(run, operator)
    add_field(s, FieldType.TEXT, "Batch code", max_length=3)

    errors = refusal(operator, s, {TORQUE: "7.5", INSPECTOR: True, 3: "B-1234", 9: "x"})

    assert errors == {3: "Batch code is 6 characters long; at most 3 fit.", 9: "Step 1 has no field 9."}
    assert [f.value for f in s.fields.order_by("position")] == [None, None, None]
    assert events(run, RunEventKind.VALUE_RECORDED, RunEventKind.SIGNED_OFF) == []


def test_it_refuses_values_on_a_step_not_in_progress(run, operator):
    with pytest.raises(StepConflict) as excinfo:
        record_values(actor=operator, step=step(run), values={TORQUE: "5"})

    assert str(excinfo.value) == "Step 1 is to do; you cannot record values on it."
    assert saved(step(run), TORQUE) is None


# Completing a step -------------------------------------------------------------------------


def test_it_refuses_to_complete_while_a_required_field_is_empty(run, operator):
    s = started(run, operator)
    add_field(s, FieldType.TEXT, "Batch code", required=True)

    with pytest.raises(InvalidValues) as excinfo:
        complete_step(actor=operator, step=s, values={INSPECTOR: True})

    assert str(excinfo.value) == "Step 1 cannot be completed yet: fill in Torque (Nm), Batch code."
    assert excinfo.value.errors == {TORQUE: "Torque (Nm) is required.", 3: "Batch code is required."}
    # The sign-off given with it is not kept either: nothing is half applied.
    assert saved(s, INSPECTOR) is None
    assert step(run).status == StepStatus.IN_PROGRESS
    assert events(run, RunEventKind.SIGNED_OFF, RunEventKind.STEP_COMPLETED) == []


def test_it_completes_with_the_values_given_in_the_same_call(run, operator):
    s = started(run, operator)

    outcome = complete_step(actor=operator, step=s, values={TORQUE: "12.5"})

    s.refresh_from_db()
    assert (s.status, s.finished_by, saved(s, TORQUE)) == (StepStatus.COMPLETE, operator, "12.5")
    assert s.finished_at is not None
    assert outcome.message == "Step 1 “Step 1” is complete. Next: step 2 “Step 2”."


def test_a_value_recorded_earlier_lets_the_step_complete(run, operator):
    s = started(run, operator)
    record_values(actor=operator, step=s, values={TORQUE: "3"})

    complete_step(actor=operator, step=s)

    assert step(run).status == StepStatus.COMPLETE


# Completion into inventory ----------------------------------------------------------------


def test_a_build_run_makes_its_unit_available_when_its_last_step_completes(run, operator):
    assert unit_status(run) == InventoryStatus.IN_BUILD
    start_step(actor=operator, step=step(run, 1))
    complete_step(actor=operator, step=step(run, 1), values={TORQUE: "5"})
    assert (status_of(run), unit_status(run)) == (RunStatus.IN_PROGRESS, InventoryStatus.IN_BUILD)

    start_step(actor=operator, step=step(run, 2))
    outcome = complete_step(actor=operator, step=step(run, 2), values={TORQUE: "5"})

    assert (status_of(run), unit_status(run)) == (RunStatus.COMPLETE, InventoryStatus.AVAILABLE)
    assert Run.objects.get(pk=run.pk).completed_at is not None
    unit = run.part_inventory.identity
    assert outcome.message == (
        f"Step 2 “Step 2” is complete. Run {run.number} is complete; {unit} is now available."
    )


def test_an_attach_run_gives_its_unit_back_when_it_completes(make_run, org, part, operator):
    unit = factories.PartInventoryFactory(part=part, organisation=org, status=InventoryStatus.AVAILABLE)
    run = make_run(steps=1, source=RunSource.ATTACH, inventory_id=unit.pk, assigned_user_id=operator.pk)
    assert unit_status(run) == InventoryStatus.WIP

    finish(run, operator)

    assert (status_of(run), unit_status(run)) == (RunStatus.COMPLETE, InventoryStatus.AVAILABLE)


def test_a_failed_step_holds_the_unit_until_the_rework_completes(make_run, operator, planner):
    run = make_run(steps=1, assigned_user_id=operator.pk)
    s = started(run, operator)
    record_values(actor=operator, step=s, values={TORQUE: "19"})

    fail_step(actor=operator, step=s, reason="Thread stripped.")
    assert (status_of(run), unit_status(run)) == (RunStatus.FAILED, InventoryStatus.ON_HOLD)

    reopen_step(actor=planner, step=s, reason="Re-tap and retry.")
    assert (step(run).status, saved(s, TORQUE)) == (StepStatus.TODO, "19")
    assert (status_of(run), unit_status(run)) == (RunStatus.IN_PROGRESS, InventoryStatus.ON_HOLD)

    finish(run, operator)
    assert (status_of(run), unit_status(run)) == (RunStatus.COMPLETE, InventoryStatus.AVAILABLE)


def test_a_complete_run_refuses_every_action(run, operator, planner):
    finish(run, operator)

    for action, s in itertools.product(StepAction, run.steps.all()):
        kwargs = {"reason": "Because."} if action.needs_reason else {}
        with pytest.raises(StepConflict) as excinfo:
            ACTIONS[action](actor=planner, step=s, **kwargs)
        assert str(excinfo.value) == f"Run {run.number} is complete; its steps can no longer be changed."
        assert excinfo.value.status == RunStatus.COMPLETE
    with pytest.raises(StepConflict):
        record_values(actor=planner, step=step(run, 2), values={TORQUE: "6"})
    assert saved(step(run, 2), TORQUE) == "5"


def test_an_admin_reopens_a_complete_run_with_a_reason(run, operator, planner, org):
    admin = factories.PlannerFactory(organisation=org, groups=["Admin"])
    finish(run, operator)

    with pytest.raises(NotYours) as excinfo:
        reopen_run(actor=planner, run=run, reason="Wrong torque spec.")
    assert str(excinfo.value) == "Only an admin can reopen a complete run."
    with pytest.raises(RunChangeError) as excinfo:
        reopen_run(actor=admin, run=run, reason="")
    assert excinfo.value.field == "reason"
    assert status_of(run) == RunStatus.COMPLETE

    reopen_run(actor=admin, run=run, reason="Wrong torque spec.")

    assert (status_of(run), unit_status(run)) == (RunStatus.IN_PROGRESS, InventoryStatus.IN_BUILD)
    assert [(s.status, s.status_reason) for s in run.steps.all()] == [
        (StepStatus.COMPLETE, ""),
        (StepStatus.IN_PROGRESS, "Wrong torque spec."),
    ]
    reopened = events(run, RunEventKind.REOPENED)[0]
    assert (reopened.actor, reopened.step, reopened.reason) == (admin, step(run, 2), "Wrong torque spec.")
    with pytest.raises(StepConflict):
        reopen_run(actor=admin, run=run, reason="Again.")


# Who may work on a run --------------------------------------------------------------------


def test_another_operator_may_not_work_on_a_run_assigned_to_someone(run, org, operator):
    other = factories.OperatorFactory(organisation=org)

    with pytest.raises(NotYours) as excinfo:
        start_step(actor=other, step=step(run))

    assert str(excinfo.value) == (
        f"Run {run.number} is assigned to {operator}; only they or a planner can work on it."
    )
    assert step(run).status == StepStatus.TODO


def test_a_member_of_the_assigned_team_may_and_others_may_not(make_run, org, operator):
    member = factories.OperatorFactory(organisation=org)
    team = factories.TeamFactory(organisation=org, name="Night shift", members=[member])
    run = make_run(assigned_team_id=team.pk)

    with pytest.raises(NotYours) as excinfo:
        start_step(actor=operator, step=step(run))
    assert "assigned to team Night shift; only its members or a planner" in str(excinfo.value)

    start_step(actor=member, step=step(run))
    run.refresh_from_db()
    assert (step(run).started_by, run.assigned_team, run.assigned_user) == (member, team, None)


def test_starting_a_step_of_a_pool_run_picks_it_up(make_run, org, operator):
    run = make_run()

    start_step(actor=operator, step=step(run))

    run.refresh_from_db()
    assert run.assigned_user == operator
    (picked,) = events(run, RunEventKind.PICKED_UP)
    assert (picked.actor, picked.after) == (operator, str(operator))
    with pytest.raises(NotYours):
        record_values(actor=factories.OperatorFactory(organisation=org), step=step(run), values={1: "2"})


def test_a_planner_may_work_on_anyones_run(run, planner):
    start_step(actor=planner, step=step(run))
    complete_step(actor=planner, step=step(run), values={TORQUE: "4"})

    assert step(run).finished_by == planner
    run.refresh_from_db()
    assert run.started_by == planner


def test_only_a_planner_skips_or_reopens_a_step(run, operator):
    with pytest.raises(NotYours) as excinfo:
        skip_step(actor=operator, step=step(run), reason="Not needed.")
    assert str(excinfo.value) == "Only a planner can skip a step."

    fail_step(actor=operator, step=started(run, operator), reason="Cracked.")
    with pytest.raises(NotYours) as excinfo:
        reopen_step(actor=operator, step=step(run), reason="Rework.")
    assert str(excinfo.value) == "Only a planner can reopen a step."
    assert step(run).status == StepStatus.FAILED


def test_uncleared_and_outside_users_never_get_the_run(make_run, org, outsider):
    run = make_run(export_controlled=True)
    uncleared = factories.OperatorFactory(organisation=org)

    assert not visible_runs(uncleared).filter(pk=run.pk).exists()
    assert not visible_runs(outsider).filter(pk=run.pk).exists()


# History ---------------------------------------------------------------------------------


def as_rows(events_) -> list[tuple]:
    return [(e.kind, e.actor, e.step and e.step.position, e.before, e.after, e.reason) for e in events_]


def test_every_action_writes_its_events(run, operator, planner):
    TODO, IN_PROGRESS, HOLD = StepStatus.TODO, StepStatus.IN_PROGRESS, StepStatus.HOLD
    s = started(run, operator)
    hold_step(actor=operator, step=s, reason="Waiting for parts.")
    execution.resume_step(actor=operator, step=s, reason="Parts in.")
    fail_step(actor=operator, step=s, reason="Cracked.")
    reopen_step(actor=planner, step=s, reason="Rework.")
    skip_step(actor=planner, step=s, reason="Not needed.")

    assert as_rows(events(run)) == [
        (RunEventKind.STEP_STARTED, operator, 1, TODO, IN_PROGRESS, ""),
        (RunEventKind.STATUS_CHANGED, operator, None, RunStatus.TODO, RunStatus.IN_PROGRESS, ""),
        (RunEventKind.STEP_HELD, operator, 1, IN_PROGRESS, HOLD, "Waiting for parts."),
        (RunEventKind.STATUS_CHANGED, operator, None, RunStatus.IN_PROGRESS, RunStatus.HOLD, ""),
        (RunEventKind.STEP_RESUMED, operator, 1, HOLD, IN_PROGRESS, "Parts in."),
        (RunEventKind.STATUS_CHANGED, operator, None, RunStatus.HOLD, RunStatus.IN_PROGRESS, ""),
        (RunEventKind.STEP_FAILED, operator, 1, IN_PROGRESS, StepStatus.FAILED, "Cracked."),
        (RunEventKind.STATUS_CHANGED, operator, None, RunStatus.IN_PROGRESS, RunStatus.FAILED, ""),
        (RunEventKind.STEP_REOPENED, planner, 1, StepStatus.FAILED, TODO, "Rework."),
        (RunEventKind.STATUS_CHANGED, planner, None, RunStatus.FAILED, RunStatus.IN_PROGRESS, ""),
        (RunEventKind.STEP_SKIPPED, planner, 1, TODO, StepStatus.CANCELED, "Not needed."),
    ]


def test_a_value_event_names_its_field_and_shows_before_and_after(run, operator):
    s = started(run, operator)
    add_field(s, FieldType.BOOLEAN, "Deburred")
    record_values(actor=operator, step=s, values={TORQUE: "7.50", 3: True})
    record_values(actor=operator, step=s, values={TORQUE: "8", 3: True, INSPECTOR: True})

    rows = [(e.kind, e.actor, e.step, e.field_label, e.before, e.after) for e in events(run)[2:]]

    signed = s.fields.get(position=INSPECTOR).shown_value
    assert signed.startswith(f"Signed by {operator}, ")
    assert rows == [
        (RunEventKind.VALUE_RECORDED, operator, s, "Torque (Nm)", "", "7.50"),
        (RunEventKind.VALUE_RECORDED, operator, s, "Deburred", "", "Yes"),
        (RunEventKind.VALUE_RECORDED, operator, s, "Torque (Nm)", "7.50", "8"),
        # The signer is the event's actor; the history does not repeat them.
        (RunEventKind.SIGNED_OFF, operator, s, "Inspector", "", "Signed"),
    ]


def test_nothing_is_written_when_the_action_fails_midway(run, operator, monkeypatch):
    s = started(run, operator)
    before = len(events(run))

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(execution, "_follow", broken)
    with pytest.raises(RuntimeError):
        complete_step(actor=operator, step=s, values={TORQUE: "5"})

    assert (step(run).status, saved(s, TORQUE)) == (StepStatus.IN_PROGRESS, None)
    assert len(events(run)) == before


# Query counts ----------------------------------------------------------------------------


def fresh(user) -> User:
    """The user as a new request loads them, their permissions not yet cached."""
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize("steps", [3, 30])
def test_completing_a_step_with_ten_values_takes_the_same_queries_however_long_the_run(
    make_run, operator, steps, django_assert_max_num_queries
):
    run = make_run(steps=steps, assigned_user_id=operator.pk)
    s = started(run, operator)
    for _ in range(8):
        add_field(s, FieldType.TEXT)
    values = {TORQUE: "5", INSPECTOR: True} | {p: f"note {p}" for p in range(3, 11)}

    actor = fresh(operator)

    with django_assert_max_num_queries(13):
        complete_step(actor=actor, step=s, values=values)

    assert step(run).status == StepStatus.COMPLETE
    assert len(events(run, RunEventKind.VALUE_RECORDED, RunEventKind.SIGNED_OFF)) == 10


@pytest.mark.parametrize(("steps", "extra_fields"), [(3, 0), (30, 20)])
def test_recording_one_value_takes_the_same_queries_however_many_steps_and_fields(
    make_run, operator, steps, extra_fields, django_assert_max_num_queries
):
    run = make_run(steps=steps, assigned_user_id=operator.pk)
    s = started(run, operator)
    for _ in range(extra_fields):
        add_field(s, FieldType.TEXT)

    actor = fresh(operator)

    with django_assert_max_num_queries(12):
        record_values(actor=actor, step=s, values={TORQUE: "5"})

    assert saved(s, TORQUE) == "5"
