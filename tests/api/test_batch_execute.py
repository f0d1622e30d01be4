"""Batches execute together over the API (issue 19): a step endpoint reaches the sibling step of
the batch's other runs, as the run page does, says which it reached and which not, and
`"this_run_only": true` keeps it to one run."""

import dataclasses

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from runs.models import Run, RunEvent, RunEventKind, RunStep, StepStatus
from runs.services import RunRequest, create_runs, reassign_run
from tests import factories
from tests.api.conftest import api_client_for
from tests.api.test_execute import field_url, ok, refused, step_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch_of(planner, version, operator):
    """`count` runs of the version in one batch, assigned to the operator; `controlled` of
    them (the last ones) export-controlled, in the pool (the operator is not cleared)."""

    def make(count: int = 3, controlled: int = 0) -> list[Run]:
        request = RunRequest(
            part_id=version.parts.get().pk, procedure_version_id=version.pk, assigned_user_id=operator.pk
        )
        hidden = dataclasses.replace(request, export_controlled=True, assigned_user_id=None)
        requests = [request] * (count - controlled) + [hidden] * controlled
        return create_runs(user=planner, requests=requests, batch_name="Brackets W12")

    return make


@pytest.fixture
def station(operator):
    return api_client_for(operator)


def status(run: Run, position: int = 1) -> str:
    return RunStep.objects.get(run=run, position=position).status


def value(run: Run, position: int = 1, field: int = 1):
    return RunStep.objects.get(run=run, position=position).fields.get(position=field).value


def test_a_step_action_reaches_every_run_of_the_batch_and_says_so(station, batch_of):
    a, b, c = batch_of(3)

    started = ok(station.post(step_url(a, action="start"), {}))

    assert started["reached"] == [b.number, c.number]
    assert started["not_reached"] == []
    assert "It reached 2 other runs of batch “Brackets W12”" in started["message"]
    assert [status(run) for run in (a, b, c)] == [StepStatus.IN_PROGRESS] * 3
    for sibling in (b, c):
        event = RunEvent.objects.get(run=sibling, kind=RunEventKind.STEP_STARTED)
        assert event.acted_on == a


def test_the_runs_not_reached_are_named_with_why(station, batch_of, planner, org):
    a, b, c = batch_of(3)
    ok(station.post(step_url(a, action="start"), {}))
    held = ok(station.post(step_url(c, action="hold"), {"reason": "Seal kit missing", "this_run_only": True}))
    assert (held["reached"], held["not_reached"]) == ([], [])

    measured = ok(station.put(field_url(a), {"value": "12.50"}))

    assert measured["reached"] == [b.number]
    assert measured["not_reached"] == [
        {"number": c.number, "reason": "Step 1 is on hold; you cannot record values on it."}
    ]
    assert [value(run) for run in (a, b, c)] == ["12.50", "12.50", None]

    bob = factories.OperatorFactory(organisation=org, username="bob")
    reassign_run(actor=planner, run=a, user=bob)
    completed = ok(station.post(step_url(b, action="complete"), {}))

    assert completed["reached"] == []
    assert completed["not_reached"] == [
        {
            "number": a.number,
            "reason": f"Run {a.number} is assigned to {bob}; only they or a planner can work on it.",
        },
        {"number": c.number, "reason": "Step 1 is on hold; you cannot complete it."},
    ]
    assert [status(run) for run in (a, b, c)] == [
        StepStatus.IN_PROGRESS,
        StepStatus.COMPLETE,
        StepStatus.HOLD,
    ]


def test_a_refusal_on_the_run_acted_on_writes_nothing_anywhere(station, batch_of):
    a, b, c = batch_of(3)
    ok(station.post(step_url(a, action="start"), {}))
    ok(station.post(step_url(c, action="hold"), {"reason": "Seal kit missing", "this_run_only": True}))

    answer = refused(station.put(field_url(c), {"value": 12}), 409)

    assert answer["errors"] == [{"row": None, "field": "status", "message": "hold"}]
    assert [value(run) for run in (a, b, c)] == [None, None, None]


def test_this_run_only_keeps_an_action_or_a_value_to_one_run(station, batch_of):
    a, b, c = batch_of(3)

    started = ok(station.post(step_url(b, action="start"), {"this_run_only": True}))
    assert (started["reached"], started["not_reached"]) == ([], [])
    assert "batch" not in started["message"]
    assert [status(run) for run in (a, b, c)] == [StepStatus.TODO, StepStatus.IN_PROGRESS, StepStatus.TODO]
    assert RunStep.objects.get(run=b, position=1).worked_alone

    ok(station.post(step_url(a, action="start"), {}))
    measured = ok(station.put(field_url(a), {"value": 9, "this_run_only": True}))
    assert measured["reached"] == []
    assert [value(run) for run in (a, b, c)] == ["9", None, None]
    # A value kept to one run parts it from the batch as an action would: the batch page shows it.
    assert RunStep.objects.get(run=a, position=1).worked_alone


@pytest.mark.parametrize("flag", ["yes", 1, None, "true"])
def test_this_run_only_is_a_json_boolean(station, batch_of, flag):
    a, b = batch_of(2)
    for response in [
        station.post(step_url(a, action="start"), {"this_run_only": flag}),
        station.put(field_url(a), {"value": 9, "this_run_only": flag}),
    ]:
        answer = refused(response, 422)
        assert [error["field"] for error in answer["errors"]] == ["this_run_only"]
    assert [status(run) for run in (a, b)] == [StepStatus.TODO, StepStatus.TODO]


def test_the_uncleared_reach_nothing_else_in_a_batch_holding_a_hidden_run(batch_of, uncleared_planner):
    a, b, hidden = batch_of(3, controlled=1)
    client = api_client_for(uncleared_planner)

    started = ok(client.post(step_url(a, action="start"), {}))

    assert (started["reached"], started["not_reached"]) == ([], [])
    # Not its number, nor the batch it hides.
    assert f"#{hidden.number}" not in started["message"]
    assert "Brackets W12" not in started["message"]
    assert [status(run) for run in (a, b, hidden)] == [
        StepStatus.IN_PROGRESS,
        StepStatus.TODO,
        StepStatus.TODO,
    ]
    measured = ok(client.put(field_url(a), {"value": 10}))
    assert (measured["reached"], measured["not_reached"]) == ([], [])
    assert [value(run) for run in (a, b, hidden)] == ["10", None, None]


def test_a_cleared_user_reaches_the_controlled_run_too(api, batch_of):
    a, b, controlled = batch_of(3, controlled=1)

    started = ok(api.post(step_url(a, action="start"), {}))

    assert started["reached"] == [b.number, controlled.number]
    assert status(controlled) == StepStatus.IN_PROGRESS


def test_a_run_off_any_batch_reaches_nothing_else(station, planner, version, operator):
    request = RunRequest(
        part_id=version.parts.get().pk, procedure_version_id=version.pk, assigned_user_id=operator.pk
    )
    alone, other = create_runs(user=planner, requests=[request, request])

    started = ok(station.post(step_url(alone, action="start"), {}))

    assert (started["reached"], started["not_reached"]) == ([], [])
    assert status(other) == StepStatus.TODO


def test_the_queries_do_not_grow_with_the_batch_whoever_its_runs_are_assigned_to(
    station, planner, version, operator, org
):
    # The operator is in no team; every run but theirs is the team's: refused, at no query each.
    team = factories.TeamFactory(organisation=org, name="Line 2")
    request = RunRequest(
        part_id=version.parts.get().pk, procedure_version_id=version.pk, assigned_team_id=team.pk
    )
    station.get("/api/v1/runs")  # the token's first use is recorded once, not by the calls counted
    counts = []
    for size, name in [(3, "Small"), (13, "Large")]:
        runs = create_runs(user=planner, requests=[request] * size, batch_name=name)
        Run.objects.filter(pk=runs[0].pk).update(assigned_user=operator, assigned_team=None)
        with CaptureQueriesContext(connection) as queries:
            started = ok(station.post(step_url(runs[0], action="start"), {}))
        assert [run["number"] for run in started["not_reached"]] == [run.number for run in runs[1:]]
        assert started["not_reached"][0]["reason"] == (
            f"Run {runs[1].number} is assigned to team Line 2; only its members or a planner can work on it."
        )
        counts.append(len(queries))
    assert counts[0] == counts[1]
