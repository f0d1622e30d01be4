"""create_runs under planners creating at the same moment, on real PostgreSQL transactions."""

import contextlib
import threading
import uuid

import pytest
from django.db import connection, transaction
from django.db.models import Count

from inventory.models import PartInventory, TrackingType
from ion_runs.accounts.models import Counter
from procedures.models import VersionStatus
from runs.models import Run, RunDraft, RunStep
from runs.services import RunRequest, create_runs, create_runs_from_drafts, creation
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(*calls) -> tuple[list, list[Exception]]:
    """Start every call at the same moment, each on its own connection; their results and errors."""
    start = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), []

    def run(i, call):
        try:
            start.wait()
            results[i] = call()
        except Exception as exc:  # reported by the caller's assertions
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


def build(part, version=None, **kwargs) -> RunRequest:
    return RunRequest(part_id=part.pk, procedure_version_id=version and version.pk, **kwargs)


def in_thread(call, name: str) -> tuple[threading.Thread, list, list[Exception]]:
    """Start `call` on a thread (and so a connection) of its own; its result and error lists."""
    result, errors = [], []

    def run():
        try:
            result.append(call())
        except Exception as exc:  # reported by the caller's assertions
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread, result, errors


class HoldAfterCopy:
    """Holds the creator on the thread named "held" after it copied the steps, its
    transaction still open, until `release()`; `copied` is set once it is there."""

    def __init__(self, monkeypatch):
        self.copied, self.go = threading.Event(), threading.Event()
        copy = creation._copy_steps

        def copy_then_wait(token):
            copy(token)
            if threading.current_thread().name == "held":
                self.copied.set()
                self.go.wait(timeout=30)

        monkeypatch.setattr(creation, "_copy_steps", copy_then_wait)

    def release(self):
        self.go.set()


def test_it_never_hands_out_a_number_or_serial_twice_to_concurrent_creators():
    org = factories.OrganisationFactory(name="Concurrent Rockets")
    part = factories.PartFactory(organisation=org, number="BRKT-ASSY-001")
    planners = [factories.PlannerFactory(organisation=org) for _ in range(6)]

    results, errors = at_once(
        *(lambda p=p: create_runs(user=p, requests=[build(part)] * 5) for p in planners)
    )

    assert errors == []
    runs = list(Run.objects.filter(organisation=org).select_related("part_inventory"))
    assert len(runs) == 30 == sum(len(r) for r in results)
    assert sorted(r.number for r in runs) == list(range(1, 31))
    serials = {r.part_inventory.serial_number for r in runs}
    assert serials == {f"SN-{n:05}" for n in range(1, 31)}
    assert PartInventory.objects.filter(organisation=org).count() == 30


def test_it_never_hands_out_a_number_serial_or_lot_twice_to_creators_of_one_procedure():
    org = factories.OrganisationFactory(name="Crowded Rockets")
    part = factories.PartFactory(organisation=org)
    rivets = factories.PartFactory(organisation=org, tracking_type=TrackingType.LOT)
    version = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part, rivets], steps=4)
    planners = [factories.PlannerFactory(organisation=org) for _ in range(6)]
    requests = [build(part, version), build(rivets, version, quantity=10)] * 5

    results, errors = at_once(*(lambda p=p: create_runs(user=p, requests=requests) for p in planners))

    assert errors == []
    runs = Run.objects.filter(organisation=org)
    assert runs.count() == 60 == sum(len(r) for r in results)
    units = PartInventory.objects.filter(organisation=org)
    for values in (
        runs.values("number"),
        units.exclude(serial_number="").values("serial_number"),
        units.exclude(lot_number="").values("lot_number"),
    ):
        assert not values.annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert units.exclude(serial_number="").count() == units.exclude(lot_number="").count() == 30
    # Each run has its own four steps, whichever creator's copy ran alongside.
    assert set(
        RunStep.objects.filter(run__organisation=org)
        .values_list("run_id")
        .annotate(n=Count("pk"))
        .values_list("n", flat=True)
    ) == {4}


def test_a_creator_does_not_wait_for_another_still_writing_the_same_procedure(monkeypatch):
    org = factories.OrganisationFactory(name="Busy Rockets")
    part = factories.PartFactory(organisation=org)
    version = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=3)
    first, second = (factories.PlannerFactory(organisation=org) for _ in range(2))
    hold = HoldAfterCopy(monkeypatch)
    held, _, held_errors = in_thread(
        lambda: create_runs(user=first, requests=[build(part, version)] * 3), "held"
    )
    try:
        assert hold.copied.wait(timeout=10)

        # The first holds its version lock and its runs, but not the counters.
        other, result, errors = in_thread(
            lambda: create_runs(user=second, requests=[build(part, version)] * 3), "other"
        )
        other.join(timeout=10)
        assert not other.is_alive() and errors == []
    finally:
        hold.release()
        held.join(timeout=10)
    assert held_errors == []
    assert [r.number for r in result[0]] == [4, 5, 6]
    assert sorted(Run.objects.filter(organisation=org).values_list("number", flat=True)) == [1, 2, 3, 4, 5, 6]


@pytest.fixture
def revised():
    """A released v1 and its revision v2 in draft, whose first step is retitled."""
    org = factories.OrganisationFactory(name="Revising Rockets")
    part = factories.PartFactory(organisation=org)
    v1 = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=2)
    v2 = v1.revise()
    step = v2.steps.get(position=1)
    step.title = "Degrease and prime"
    step.save()
    return factories.PlannerFactory(organisation=org), part, v1, v2


def test_a_release_waits_for_a_creator_that_checked_the_released_version(monkeypatch, revised):
    planner, part, v1, v2 = revised
    hold = HoldAfterCopy(monkeypatch)
    creator, runs, errors = in_thread(lambda: create_runs(user=planner, requests=[build(part, v1)]), "held")
    try:
        assert hold.copied.wait(timeout=10)
        release, _, release_errors = in_thread(v2.release, "release")
        release.join(timeout=1)
        assert release.is_alive()  # waiting for the creator's share lock
    finally:
        hold.release()
        creator.join(timeout=10)
    release.join(timeout=10)

    assert errors == release_errors == []
    (run,) = runs[0]
    assert run.procedure_version == v1
    assert list(run.steps.values_list("title", flat=True)) == ["Step 1", "Step 2"]
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.status, v2.status) == (VersionStatus.SUPERSEDED, VersionStatus.RELEASED)


def test_a_creator_waits_for_a_release_in_progress_and_creates_on_the_new_version(revised):
    planner, part, v1, v2 = revised
    released, finish = threading.Event(), threading.Event()

    def release_then_wait():
        with transaction.atomic():
            v2.release()
            released.set()
            finish.wait(timeout=30)

    release, _, release_errors = in_thread(release_then_wait, "release")
    try:
        assert released.wait(timeout=10)
        # Authored on v1, as a Review row made before the release would be.
        creator, runs, errors = in_thread(lambda: create_runs(user=planner, requests=[build(part, v1)]), "c")
        creator.join(timeout=1)
        assert creator.is_alive()  # waiting for the release to commit
    finally:
        finish.set()
        release.join(timeout=10)
    creator.join(timeout=10)

    assert errors == release_errors == []
    (run,) = runs[0]
    assert run.procedure_version == v2
    assert list(run.steps.values_list("title", flat=True)) == ["Degrease and prime", "Step 2"]


def test_two_planners_mixing_pattern_parts_in_opposite_order_both_succeed(monkeypatch):
    """Inside a caller's transaction, counters are taken in it and held until it ends.

    Each takes its first counter, then waits for the other to take one too. Counters
    taken in request order would make each wait for the other's row: a deadlock.
    """
    org = factories.OrganisationFactory(name="Deadlock Rockets")
    valve = factories.PartFactory(organisation=org, number="VLV", serial_pattern="{part}-{seq:03}")
    bracket = factories.PartFactory(organisation=org, number="BRKT")
    first, second = (factories.PlannerFactory(organisation=org) for _ in range(2))
    create_runs(user=first, requests=[build(valve), build(bracket)])  # the counters exist already
    both_hold_one = threading.Barrier(2)
    took = threading.local()
    take = Counter.take

    def take_then_wait(organisation, key, count=1, **kwargs):
        values = take(organisation, key, count, **kwargs)
        if not getattr(took, "once", False):
            took.once = True
            # Times out when the other planner is (rightly) waiting for our row.
            with contextlib.suppress(threading.BrokenBarrierError):
                both_hold_one.wait(timeout=3)
        return values

    monkeypatch.setattr(Counter, "take", take_then_wait)

    def in_a_transaction(user, requests):
        with transaction.atomic():
            return create_runs(user=user, requests=requests)

    _, errors = at_once(
        lambda: in_a_transaction(first, [build(valve), build(bracket)]),
        lambda: in_a_transaction(second, [build(bracket), build(valve)]),
    )

    assert errors == []
    serials = sorted(PartInventory.objects.filter(organisation=org).values_list("serial_number", flat=True))
    assert serials == ["SN-00001", "SN-00002", "SN-00003", "VLV-001", "VLV-002", "VLV-003"]


def test_two_tabs_creating_the_same_drafts_create_them_once():
    org = factories.OrganisationFactory(name="Two Tabs Rockets")
    part = factories.PartFactory(organisation=org)
    planner = factories.PlannerFactory(organisation=org)
    drafts = [
        factories.RunDraftFactory(owner=planner, position=i, data={"part": part.pk, "attributes": {}})
        for i in range(4)
    ]
    ids = [d.pk for d in drafts]

    results, errors = at_once(
        *(lambda: create_runs_from_drafts(user=planner, draft_ids=ids, token=uuid.uuid4()) for _ in range(2))
    )

    assert errors == []
    assert Run.objects.filter(organisation=org).count() == 4
    assert [sorted(r.pk for r in runs) for runs in results] == [
        sorted(Run.objects.values_list("pk", flat=True))
    ] * 2
    assert not RunDraft.objects.exists()
