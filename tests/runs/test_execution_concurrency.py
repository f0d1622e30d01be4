"""Executing a run while someone else changes it (SPEC §12, "Concurrency"), on real PostgreSQL transactions.

Each race is run twice: both sides released at the same moment by a barrier (either may
win; whichever does, nothing is half applied), and in a set order, the first held inside its
transaction until the second is seen waiting for the run's lock (each outcome, for certain).
"""

import threading
from dataclasses import dataclass, field

import pytest
from django.db import connection

from runs.models import Run, RunEvent, RunEventKind, RunStatus, RunStep, StepStatus
from runs.services import (
    NotYours,
    RunRequest,
    StepConflict,
    cancel_run,
    complete_step,
    create_runs,
    execution,
    reassign_run,
    record_values,
    run_changes,
    start_step,
)
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

TORQUE = 1


@dataclass
class Outcome:
    thread: threading.Thread | None = None
    results: list = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)

    @property
    def error(self) -> Exception | None:
        return self.errors[0] if self.errors else None


def attempt(outcome: Outcome, call) -> None:
    try:
        outcome.results.append(call())
    except Exception as exc:  # reported by the caller's assertions
        outcome.errors.append(exc)
    finally:
        connection.close()


def at_once(*calls) -> list[Outcome]:
    """Start every call at the same moment, each on its own connection."""
    start = threading.Barrier(len(calls))
    outcomes = [Outcome() for _ in calls]

    def run(outcome, call):
        start.wait()
        attempt(outcome, call)

    for outcome, call in zip(outcomes, calls, strict=True):
        outcome.thread = threading.Thread(target=run, args=(outcome, call))
        outcome.thread.start()
    for outcome in outcomes:
        outcome.thread.join(timeout=30)
    return outcomes


def in_thread(call, name: str) -> Outcome:
    outcome = Outcome()
    outcome.thread = threading.Thread(target=attempt, args=(outcome, call), name=name)
    outcome.thread.start()
    return outcome


class Hold:
    """Holds the thread named "first" just after it called `module.name`, its transaction
    (and the run's lock) still open, until the test lets it go."""

    def __init__(self, monkeypatch, module, name: str):
        self.there, self.go = threading.Event(), threading.Event()
        original = getattr(module, name)

        def held(*args, **kwargs):
            result = original(*args, **kwargs)
            if threading.current_thread().name == "first":
                self.there.set()
                self.go.wait(timeout=30)
            return result

        monkeypatch.setattr(module, name, held)


def one_after_another(hold: Hold, first_call, second_call) -> tuple[Outcome, Outcome]:
    """`first_call` goes first and is held at `hold`; `second_call` must wait for it to commit."""
    first = in_thread(first_call, "first")
    try:
        assert hold.there.wait(timeout=10)
        second = in_thread(second_call, "second")
        second.thread.join(timeout=0.5)
        assert second.thread.is_alive()  # waiting for the run's lock
    finally:
        hold.go.set()
    first.thread.join(timeout=10)
    second.thread.join(timeout=10)
    return first, second


@pytest.fixture
def shop():
    """A planner, two operators on one team, and a two-step run assigned to the team."""
    factories.ensure_demo_groups()
    org = factories.OrganisationFactory(name="Racing Rockets")
    part = factories.PartFactory(organisation=org)
    version = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=2)
    planner = factories.PlannerFactory(organisation=org)
    first, second = (factories.OperatorFactory(organisation=org) for _ in range(2))
    team = factories.TeamFactory(organisation=org, members=[first, second])
    request = RunRequest(part_id=part.pk, procedure_version_id=version.pk, assigned_team_id=team.pk)
    (run,) = create_runs(user=planner, requests=[request])
    return run, planner, first, second


def step(run) -> RunStep:
    return run.steps.get(position=1)


def kinds(run) -> list[str]:
    events = RunEvent.objects.filter(run=run).exclude(kind=RunEventKind.CREATED).order_by("at", "id")
    return list(events.values_list("kind", flat=True))


# Two people completing the same step -------------------------------------------------------


def assert_one_completed(run, winner_outcome, loser_outcome, winner, value):
    assert winner_outcome.errors == [] and loser_outcome.results == []
    assert isinstance(loser_outcome.error, StepConflict)
    assert str(loser_outcome.error) == "Step 1 is complete; you cannot complete it."
    assert loser_outcome.error.status == StepStatus.COMPLETE
    s = step(run)
    assert (s.status, s.finished_by, s.fields.get(position=TORQUE).value) == (
        StepStatus.COMPLETE,
        winner,
        value,
    )
    assert kinds(run).count(RunEventKind.STEP_COMPLETED) == 1
    assert kinds(run).count(RunEventKind.VALUE_RECORDED) == 1


def test_two_operators_completing_the_same_step_at_once_one_wins(shop):
    run, _, first, second = shop
    start_step(actor=first, step=step(run))

    outcomes = at_once(
        lambda: complete_step(actor=first, step=step(run), values={TORQUE: "5"}),
        lambda: complete_step(actor=second, step=step(run), values={TORQUE: "6"}),
    )

    won = 0 if outcomes[0].results else 1
    assert_one_completed(run, outcomes[won], outcomes[1 - won], [first, second][won], ["5", "6"][won])


def test_the_second_completer_waits_and_is_told_the_step_is_complete(shop, monkeypatch):
    run, _, first, second = shop
    start_step(actor=first, step=step(run))
    hold = Hold(monkeypatch, execution, "_follow")

    done, refused = one_after_another(
        hold,
        lambda: complete_step(actor=first, step=step(run), values={TORQUE: "5"}),
        lambda: complete_step(actor=second, step=step(run), values={TORQUE: "6"}),
    )

    assert_one_completed(run, done, refused, first, "5")


# A value saved while a planner cancels the run ---------------------------------------------


def assert_value_then_cancel_or_cancel_only(run, saving: Outcome, canceling: Outcome) -> str:
    """Which won; fails on anything half applied."""
    assert canceling.errors == []
    assert Run.objects.get(pk=run.pk).status == RunStatus.CANCELED
    value = step(run).fields.get(position=TORQUE).value
    if saving.errors:
        assert isinstance(saving.error, StepConflict)
        assert saving.error.status == RunStatus.CANCELED
        assert str(saving.error) == f"Run {run.number} is canceled; its steps can no longer be changed."
        assert value is None
        assert RunEventKind.VALUE_RECORDED not in kinds(run)
        return "cancel"
    assert value == "7.5"
    assert kinds(run)[-2:] == [RunEventKind.VALUE_RECORDED, RunEventKind.CANCELED]
    return "value"


@pytest.fixture
def value_and_cancel(shop):
    run, planner, operator, _ = shop
    start_step(actor=operator, step=step(run))

    def save():
        return record_values(actor=operator, step=step(run), values={TORQUE: "7.5"})

    def cancel():
        return cancel_run(actor=planner, run=run, reason="Customer withdrew the order.")

    return run, save, cancel


def test_a_value_saved_while_the_run_is_canceled_is_all_or_nothing(value_and_cancel):
    run, save, cancel = value_and_cancel

    saving, canceling = at_once(save, cancel)

    assert assert_value_then_cancel_or_cancel_only(run, saving, canceling) in ("value", "cancel")


def test_a_value_saved_first_is_kept_and_the_run_canceled_after(value_and_cancel, monkeypatch):
    run, save, cancel = value_and_cancel
    hold = Hold(monkeypatch, execution, "_write_values")

    saving, canceling = one_after_another(hold, save, cancel)

    assert assert_value_then_cancel_or_cancel_only(run, saving, canceling) == "value"


def test_a_cancel_first_refuses_the_value(value_and_cancel, monkeypatch):
    run, save, cancel = value_and_cancel
    hold = Hold(monkeypatch, run_changes, "_let_go_of_unit")

    canceling, saving = one_after_another(hold, cancel, save)

    assert assert_value_then_cancel_or_cancel_only(run, saving, canceling) == "cancel"


# A step started while the run is reassigned away -------------------------------------------


@pytest.fixture
def start_and_reassign(shop):
    run, planner, operator, other = shop
    run = reassign_run(actor=planner, run=run, user=operator)

    def start():
        return start_step(actor=operator, step=step(run))

    def reassign():
        return reassign_run(actor=planner, run=run, user=other)

    return run, operator, other, start, reassign


def assert_started_then_reassigned_or_refused(run, operator, other, starting, reassigning) -> str:
    assert reassigning.errors == []
    assert Run.objects.get(pk=run.pk).assigned_user == other
    s = step(run)
    if starting.errors:
        assert isinstance(starting.error, NotYours)
        assert str(starting.error) == (
            f"Run {run.number} is assigned to {other}; only they or a planner can work on it."
        )
        assert (s.status, s.started_by) == (StepStatus.TODO, None)
        assert RunEventKind.STEP_STARTED not in kinds(run)
        return "refused"
    assert (s.status, s.started_by) == (StepStatus.IN_PROGRESS, operator)
    assert kinds(run)[-3:] == [
        RunEventKind.STEP_STARTED,
        RunEventKind.STATUS_CHANGED,
        RunEventKind.ASSIGNED,
    ]
    return "started"


def test_a_step_started_while_the_run_is_reassigned_is_all_or_nothing(start_and_reassign):
    run, operator, other, start, reassign = start_and_reassign

    starting, reassigning = at_once(start, reassign)

    outcome = assert_started_then_reassigned_or_refused(run, operator, other, starting, reassigning)
    assert outcome in ("started", "refused")


def test_a_start_before_the_reassignment_stands(start_and_reassign, monkeypatch):
    run, operator, other, start, reassign = start_and_reassign
    hold = Hold(monkeypatch, execution, "_pick_up_pooled")

    starting, reassigning = one_after_another(hold, start, reassign)

    outcome = assert_started_then_reassigned_or_refused(run, operator, other, starting, reassigning)
    assert outcome == "started"


def test_a_start_after_the_reassignment_is_refused(start_and_reassign, monkeypatch):
    run, operator, other, start, reassign = start_and_reassign
    hold = Hold(monkeypatch, run_changes, "record")

    reassigning, starting = one_after_another(hold, reassign, start)

    outcome = assert_started_then_reassigned_or_refused(run, operator, other, starting, reassigning)
    assert outcome == "refused"
