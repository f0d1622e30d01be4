"""Batches executing together while others act (issue 19, "Locking"), on real PostgreSQL transactions.

- Two operators acting at once on two runs of one batch both lock the batch's runs in id
  order: one waits for the other, nobody deadlocks, each sibling step is won once and the
  other operator is told its state.
- A run leaving or joining the batch while a propagating action is under way is reached
  whole or left untouched, never half: each race is run with both sides released at once
  (either may win) and in a set order (each outcome, for certain).
"""

import threading
from functools import partial

import pytest
from psycopg.errors import DeadlockDetected

from runs.models import Run, RunEvent, RunEventKind, RunStep, StepStatus
from runs.services import (
    RunRequest,
    StepConflict,
    add_runs_to_batch,
    batches,
    complete_step,
    create_runs,
    execution,
    remove_run_from_batch,
    start_step,
)
from tests import factories
from tests.runs.test_execution_concurrency import (
    Hold,
    Outcome,
    at_once,
    in_thread,
    one_after_another,
)

pytestmark = pytest.mark.django_db(transaction=True)

TORQUE = 1
ROUNDS = 5


class HoldBefore:
    """Holds the thread named "first" just before it calls `module.name` (as Hold does after)."""

    def __init__(self, monkeypatch, module, name: str):
        self.there, self.go = threading.Event(), threading.Event()
        original = getattr(module, name)

        def held(*args, **kwargs):
            if threading.current_thread().name == "first":
                self.there.set()
                self.go.wait(timeout=30)
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, held)


def meanwhile(hold, first_call, second_call):
    """`first_call` is held at `hold` while `second_call`, which waits for nothing, runs to its end."""
    first = in_thread(first_call, "first")
    try:
        assert hold.there.wait(timeout=10)
        second = in_thread(second_call, "second")
        second.thread.join(timeout=10)
        assert not second.thread.is_alive()
    finally:
        hold.go.set()
    first.thread.join(timeout=10)
    return first, second


@pytest.fixture
def shop():
    """A planner, two operators on one team, and `batch(n)`: n two-step runs assigned to the team
    (so starting a step picks nothing up), in one new batch; `loose()`: one such run in none."""
    factories.ensure_demo_groups()
    org = factories.OrganisationFactory(name="Racing Rockets")
    part = factories.PartFactory(organisation=org)
    version = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=2)
    planner = factories.PlannerFactory(organisation=org)
    ann, bob = (factories.OperatorFactory(organisation=org) for _ in range(2))
    team = factories.TeamFactory(organisation=org, members=[ann, bob])
    request = RunRequest(part_id=part.pk, procedure_version_id=version.pk, assigned_team_id=team.pk)
    names = iter(range(1, 100))

    def batch(count: int = 3) -> list[Run]:
        return create_runs(user=planner, requests=[request] * count, batch_name=f"Week {next(names)}")

    def loose() -> Run:
        return create_runs(user=planner, requests=[request])[0]

    return planner, ann, bob, batch, loose


def first_step(run: Run) -> RunStep:
    return RunStep.objects.get(run_id=run.pk, position=1)


def events(run: Run, kind: str) -> list[RunEvent]:
    return list(RunEvent.objects.filter(run_id=run.pk, kind=kind))


def assert_no_deadlock(outcomes) -> None:
    for outcome in outcomes:
        assert not outcome.thread.is_alive()
        # Django raises psycopg's DeadlockDetected as an OperationalError caused by it.
        deadlocks = [e for e in outcome.errors if isinstance(e.__cause__ or e, DeadlockDetected)]
        assert deadlocks == []


# Two operators on two runs of one batch ------------------------------------------------------


def assert_one_won_every_sibling(runs, acted, outcomes, operators, *, state, kind, refusal):
    """One operator's action reached all three runs; the other's was refused, naming the state."""
    assert_no_deadlock(outcomes)
    won = 0 if outcomes[0].results else 1
    winner, loser = outcomes[won], outcomes[1 - won]
    assert winner.errors == [] and loser.results == []
    assert isinstance(loser.error, StepConflict), loser.error
    assert (str(loser.error), loser.error.status) == (refusal, state)
    outcome = winner.results[0]
    assert outcome.run.pk == acted[won].pk
    assert sorted(run.pk for run in outcome.reached) == sorted(r.pk for r in runs if r.pk != acted[won].pk)
    assert outcome.not_reached == []
    for run in runs:
        step = first_step(run)
        assert step.status == state
        who = step.finished_by if state == StepStatus.COMPLETE else step.started_by
        assert who == operators[won]
        (event,) = events(run, kind)
        assert event.actor == operators[won]
        assert event.acted_on_id == (None if run.pk == acted[won].pk else acted[won].pk)
    return won


def test_two_operators_starting_one_step_on_two_runs_of_a_batch_never_deadlock(shop):
    _, ann, bob, batch, _ = shop
    for _ in range(ROUNDS):
        runs = batch()
        # Ann on the run locked last, Bob on the first: locked in that order, they would cross.
        acted = [runs[2], runs[0]]
        outcomes = at_once(
            partial(start_step, actor=ann, step=first_step(acted[0])),
            partial(start_step, actor=bob, step=first_step(acted[1])),
        )
        assert_one_won_every_sibling(
            runs,
            acted,
            outcomes,
            [ann, bob],
            state=StepStatus.IN_PROGRESS,
            kind=RunEventKind.STEP_STARTED,
            refusal="Step 1 is in progress; you cannot start it.",
        )


def test_two_operators_completing_one_step_on_two_runs_of_a_batch_never_deadlock(shop):
    _, ann, bob, batch, _ = shop
    for _ in range(ROUNDS):
        runs = batch()
        start_step(actor=ann, step=first_step(runs[0]))
        acted = [runs[1], runs[0]]
        outcomes = at_once(
            partial(complete_step, actor=ann, step=first_step(acted[0]), values={TORQUE: "5"}),
            partial(complete_step, actor=bob, step=first_step(acted[1]), values={TORQUE: "6"}),
        )
        won = assert_one_won_every_sibling(
            runs,
            acted,
            outcomes,
            [ann, bob],
            state=StepStatus.COMPLETE,
            kind=RunEventKind.STEP_COMPLETED,
            refusal="Step 1 is complete; you cannot complete it.",
        )
        for run in runs:
            assert first_step(run).fields.get(position=TORQUE).value == ["5", "6"][won]
            assert len(events(run, RunEventKind.VALUE_RECORDED)) == 1


def test_the_second_operator_waits_for_the_first_and_is_told_the_state(shop, monkeypatch):
    _, ann, bob, batch, _ = shop
    runs = batch()
    start_step(actor=ann, step=first_step(runs[0]))
    hold = Hold(monkeypatch, execution, "_write_values")

    done, refused = one_after_another(
        hold,
        lambda: complete_step(actor=ann, step=first_step(runs[2]), values={TORQUE: "5"}),
        lambda: complete_step(actor=bob, step=first_step(runs[0]), values={TORQUE: "6"}),
    )

    assert_one_won_every_sibling(
        runs,
        [runs[2], runs[0]],
        [done, refused],
        [ann, bob],
        state=StepStatus.COMPLETE,
        kind=RunEventKind.STEP_COMPLETED,
        refusal="Step 1 is complete; you cannot complete it.",
    )


# A run leaving, or joining, the batch meanwhile ----------------------------------------------


def reached_whole_or_untouched(run: Run, acted: Run, completing) -> bool:
    """Whether the completion on `acted` reached `run`: all of it (state, value, events, the
    answer) or none of it; fails on anything between."""
    assert completing.errors == [], completing.errors
    outcome = completing.results[0]
    step = first_step(run)
    value = step.fields.get(position=TORQUE).value
    written = RunEvent.objects.filter(
        run_id=run.pk, kind__in=[RunEventKind.STEP_COMPLETED, RunEventKind.VALUE_RECORDED]
    )
    kinds = sorted(written.filter(acted_on=acted).values_list("kind", flat=True))
    assert written.exclude(acted_on=acted).count() == 0
    assert run.pk not in [other.pk for other, _ in outcome.not_reached]
    if step.status == StepStatus.COMPLETE:
        assert value == "7"
        assert kinds == sorted([RunEventKind.STEP_COMPLETED, RunEventKind.VALUE_RECORDED])
        assert run.pk in [other.pk for other in outcome.reached]
        return True
    assert (step.status, value, kinds) == (StepStatus.IN_PROGRESS, None, [])
    assert run.pk not in [other.pk for other in outcome.reached]
    return False


@pytest.fixture
def complete_and_leave(shop):
    """A batch of three with step 1 in progress: completing it on the first run, and the last run
    taken out of the batch."""
    planner, ann, _, batch, _ = shop
    runs = batch()
    start_step(actor=ann, step=first_step(runs[0]))
    acted, leaving = runs[0], runs[2]

    def complete():
        return complete_step(actor=ann, step=first_step(acted), values={TORQUE: "7"})

    def leave():
        return remove_run_from_batch(actor=planner, batch=leaving.batch, run=leaving)

    def check(completing, removing) -> bool:
        assert removing.errors == [], removing.errors
        assert Run.objects.get(pk=leaving.pk).batch_id is None
        assert first_step(runs[1]).status == StepStatus.COMPLETE
        return reached_whole_or_untouched(leaving, acted, completing)

    return complete, leave, check


def test_a_run_leaving_the_batch_during_a_completion_is_reached_whole_or_not_at_all(complete_and_leave):
    complete, leave, check = complete_and_leave

    completing, removing = at_once(complete, leave)

    assert_no_deadlock([completing, removing])
    assert check(completing, removing) in (True, False)


def test_a_run_leaving_while_the_completion_writes_waits_and_leaves_with_it(complete_and_leave, monkeypatch):
    complete, leave, check = complete_and_leave
    hold = Hold(monkeypatch, execution, "_write_values")

    completing, removing = one_after_another(hold, complete, leave)

    assert check(completing, removing) is True


def test_a_run_that_left_before_the_lock_is_not_reached(complete_and_leave, monkeypatch):
    complete, leave, check = complete_and_leave
    # The completion has read the batch's runs (the leaving one with them) but locked none.
    hold = HoldBefore(monkeypatch, execution, "lock_runs")

    completing, removing = meanwhile(hold, complete, leave)

    assert check(completing, removing) is False


def test_a_run_leaving_first_is_not_reached(complete_and_leave, monkeypatch):
    complete, leave, check = complete_and_leave
    # Held after its "unbatched" event, before it commits: the completion waits for its lock.
    hold = Hold(monkeypatch, batches, "record")

    removing, completing = one_after_another(hold, leave, complete)

    assert check(completing, removing) is False


@pytest.fixture
def complete_and_join(shop):
    """A batch of three and a loose run of the same version, each with step 1 in progress:
    completing it on the batch's first run, and the loose run added to the batch."""
    planner, ann, _, batch, loose = shop
    runs = batch()
    start_step(actor=ann, step=first_step(runs[0]))
    joining = loose()
    start_step(actor=ann, step=first_step(joining))
    acted = runs[0]

    def complete():
        return complete_step(actor=ann, step=first_step(acted), values={TORQUE: "7"})

    def join():
        return add_runs_to_batch(actor=planner, batch=acted.batch, runs=[joining])

    def check(completing, adding) -> bool:
        assert adding.errors == [], adding.errors
        assert Run.objects.get(pk=joining.pk).batch_id == acted.batch_id
        assert [first_step(run).status for run in runs] == [StepStatus.COMPLETE] * 3
        return reached_whole_or_untouched(joining, acted, completing)

    return complete, join, check


def test_a_run_joining_the_batch_during_a_completion_is_reached_whole_or_not_at_all(complete_and_join):
    complete, join, check = complete_and_join

    completing, adding = at_once(complete, join)

    assert_no_deadlock([completing, adding])
    assert check(completing, adding) in (True, False)


def test_a_run_joining_while_the_completion_writes_gets_nothing(complete_and_join, monkeypatch):
    complete, join, check = complete_and_join
    # The batch's runs are locked; the joining run is not one of them, so it joins meanwhile.
    hold = Hold(monkeypatch, execution, "_write_values")

    completing, adding = meanwhile(hold, complete, join)

    assert check(completing, adding) is False


def test_a_run_still_joining_is_not_reached(complete_and_join, monkeypatch):
    complete, join, check = complete_and_join
    # Held with the batch and the joining run locked, before it commits: the completion, which
    # locks neither, reads the batch without it and does not wait.
    hold = Hold(monkeypatch, batches, "lock_runs")

    adding, completing = meanwhile(hold, join, complete)

    assert check(completing, adding) is False


def test_a_run_that_joined_before_the_completion_is_reached(complete_and_join):
    complete, join, check = complete_and_join

    adding = Outcome(results=[join()])
    completing = Outcome(results=[complete()])

    assert check(completing, adding) is True
