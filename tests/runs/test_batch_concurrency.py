"""Adding runs to a batch at the same moment, on real PostgreSQL transactions (SPEC §9).

Two planners adding runs of different versions to one batch would each find the batch
agreeing with their own runs, unless the batch is locked: these tests hold the first adder
inside its transaction, right after its check, and watch the second.
"""

import threading

import pytest

from runs.models import Run, RunBatch, RunEvent, RunEventKind
from runs.models.batches import RunBatchQuerySet
from runs.services import RunChangeError, RunRequest, add_runs_to_batch, create_batch, create_runs
from tests import factories
from tests.runs.test_services_concurrency import in_thread

pytestmark = pytest.mark.django_db(transaction=True)


class HoldAfterCheck:
    """Holds the adder on the thread named "held" after it checked the batch rule, its
    transaction (and its locks) still open, until `release()`; `checked` is set then."""

    def __init__(self, monkeypatch):
        self.checked, self.go = threading.Event(), threading.Event()
        check = RunBatch.problems_adding

        def check_then_wait(batch, runs, *, user):
            problems = check(batch, runs, user=user)
            if threading.current_thread().name == "held":
                self.checked.set()
                self.go.wait(timeout=30)
            return problems

        monkeypatch.setattr(RunBatch, "problems_adding", check_then_wait)

    def release(self):
        self.go.set()


@pytest.fixture
def world():
    org = factories.OrganisationFactory(name="Busy Rockets")
    part = factories.PartFactory(organisation=org)
    v1 = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], title="Bracket build")
    v2 = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], title="Bracket build", number=2
    )
    first, second = (factories.PlannerFactory(organisation=org, export_cleared=True) for _ in range(2))

    def runs(version, count=2):
        return create_runs(
            user=first, requests=[RunRequest(part_id=part.pk, procedure_version_id=version.pk)] * count
        )

    return first, second, runs, v1, v2


def test_two_planners_adding_different_versions_at_once_cannot_mix_the_batch(monkeypatch, world):
    first, second, runs, v1, v2 = world
    batch = create_batch(actor=first, name="Week 12")
    ones, twos = runs(v1), runs(v2)
    hold = HoldAfterCheck(monkeypatch)
    held, _, held_errors = in_thread(lambda: add_runs_to_batch(actor=first, batch=batch, runs=ones), "held")
    try:
        assert hold.checked.wait(timeout=10)
        # The batch is empty and locked: the second adder must wait rather than check it now.
        other, result, errors = in_thread(
            lambda: add_runs_to_batch(actor=second, batch=batch, runs=twos), "other"
        )
        other.join(timeout=1)
        assert other.is_alive(), "the second adder did not wait for the first"
    finally:
        hold.release()
        held.join(timeout=10)
    other.join(timeout=10)
    assert held_errors == [] and result == []
    assert len(errors) == 1 and isinstance(errors[0], RunChangeError)
    assert "Runs in a batch share one procedure version" in str(errors[0])
    assert set(Run.objects.filter(batch=batch).values_list("procedure_version", flat=True)) == {v1.pk}
    assert RunEvent.objects.filter(kind=RunEventKind.BATCHED).count() == 2


def test_one_run_added_to_two_batches_at_once_joins_one(monkeypatch, world):
    first, second, runs, v1, _ = world
    run = runs(v1, 1)[0]
    week12, week13 = create_batch(actor=first, name="Week 12"), create_batch(actor=second, name="Week 13")
    hold = HoldAfterCheck(monkeypatch)
    held, _, held_errors = in_thread(lambda: add_runs_to_batch(actor=first, batch=week12, runs=[run]), "held")
    try:
        assert hold.checked.wait(timeout=10)
        # Another batch's lock, but the same run's: the second waits for the run.
        other, _, errors = in_thread(
            lambda: add_runs_to_batch(actor=second, batch=week13, runs=[run]), "other"
        )
        other.join(timeout=1)
        assert other.is_alive(), "the second adder did not wait for the run"
    finally:
        hold.release()
        held.join(timeout=10)
    other.join(timeout=10)
    assert held_errors == []
    assert len(errors) == 1 and "is already in batch “Week 12”" in str(errors[0])
    assert Run.objects.get(pk=run.pk).batch == week12
    assert RunEvent.objects.filter(run=run, kind=RunEventKind.BATCHED).count() == 1


def test_adders_of_the_same_version_both_succeed(world):
    first, second, runs, v1, _ = world
    batch = create_batch(actor=first, name="Week 12")
    ones, more = runs(v1), runs(v1)
    threads = [
        in_thread(lambda: add_runs_to_batch(actor=first, batch=batch, runs=ones), "a"),
        in_thread(lambda: add_runs_to_batch(actor=second, batch=batch, runs=more), "b"),
    ]
    for thread, _, errors in threads:
        thread.join(timeout=20)
        assert errors == []
    assert Run.objects.filter(batch=batch).count() == 4


def checks_then_meet(monkeypatch) -> threading.Barrier:
    """Both namers check the name, then meet before either saves: each check saw no twin."""
    meet = threading.Barrier(2, timeout=10)
    named = RunBatchQuerySet.named

    def named_then_meet(queryset, name, *, user):
        taken = named(queryset, name, user=user)
        found = taken.exists()
        meet.wait()
        return taken if found else queryset.none()

    monkeypatch.setattr(RunBatchQuerySet, "named", named_then_meet)
    return meet


@pytest.mark.parametrize("cleared", [True, False], ids=["cleared", "uncleared"])
def test_two_planners_naming_batches_alike_at_once_make_one(monkeypatch, world, cleared):
    """Names are unique per export-control scope, not per organisation (issue 22): the
    constraint still holds inside a scope, whatever the checks before it saw."""
    first, second, *_ = world
    for planner in (first, second):
        planner.export_cleared = cleared
        planner.save(update_fields=["export_cleared"])
    checks_then_meet(monkeypatch)
    threads = [
        in_thread(lambda: create_batch(actor=first, name="Rush"), "a"),
        in_thread(lambda: create_batch(actor=second, name="RUSH"), "b"),
    ]
    errors = []
    for thread, _, thread_errors in threads:
        thread.join(timeout=20)
        errors += thread_errors
    assert len(errors) == 1 and "already exists" in str(errors[0])
    assert RunBatch.objects.count() == 1
