"""create_runs under planners creating at the same moment, on real PostgreSQL transactions."""

import contextlib
import threading
import uuid

import pytest
from django.db import connection

from inventory.models import PartInventory
from ion_runs.accounts.models import Counter
from runs.models import Run, RunDraft
from runs.services import RunRequest, create_runs, create_runs_from_drafts
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


def build(part) -> RunRequest:
    return RunRequest(part_id=part.pk)


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


def test_two_planners_mixing_pattern_parts_in_opposite_order_both_succeed(monkeypatch):
    """Each takes its first counter, then waits for the other to take one too.

    Counters taken in request order would make each wait for the other's row: a deadlock.
    """
    org = factories.OrganisationFactory(name="Deadlock Rockets")
    valve = factories.PartFactory(organisation=org, number="VLV", serial_pattern="{part}-{seq:03}")
    bracket = factories.PartFactory(organisation=org, number="BRKT")
    first, second = (factories.PlannerFactory(organisation=org) for _ in range(2))
    create_runs(user=first, requests=[build(valve), build(bracket)])  # the counters exist already
    both_hold_one = threading.Barrier(2)
    took = threading.local()
    take = Counter.take

    def take_then_wait(organisation, key, count=1):
        values = take(organisation, key, count)
        if not getattr(took, "once", False):
            took.once = True
            # Times out when the other planner is (rightly) waiting for our row.
            with contextlib.suppress(threading.BrokenBarrierError):
                both_hold_one.wait(timeout=3)
        return values

    monkeypatch.setattr(Counter, "take", take_then_wait)

    _, errors = at_once(
        lambda: create_runs(user=first, requests=[build(valve), build(bracket)]),
        lambda: create_runs(user=second, requests=[build(bracket), build(valve)]),
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
