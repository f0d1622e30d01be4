"""Batches execute together (issue 19): an action on a step reaches the sibling step of every
other open run of the batch, says which it reached and which not, and "this run only" keeps
it to one run."""

import pytest
from django.urls import reverse

from runs.models import RunEvent, RunEventKind, RunStatus
from runs.models.steps import StepStatus
from runs.services import (
    RunRequest,
    complete_step,
    create_runs,
    hold_step,
    record_values,
    start_step,
)
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch_of(planner, org):
    part = factories.PartFactory(organisation=org, number="VLV-PURGE-12")
    version = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=2)

    def make(count: int, name: str = "Purge valves W48"):
        request = RunRequest(part_id=part.pk, procedure_version_id=version.pk)
        return create_runs(user=planner, requests=[request] * count, batch_name=name)

    return make


def first_step(run):
    return run.steps.get(position=1)


def test_completing_a_step_reaches_every_run_of_the_batch(batch_of, operator):
    runs = batch_of(3)
    start_step(actor=operator, step=first_step(runs[0]))
    outcome = complete_step(actor=operator, step=first_step(runs[1]), values={1: "7.5", 2: True})

    for run in runs:
        step = first_step(run)
        assert step.status == StepStatus.COMPLETE
        assert step.fields.get(position=1).value == "7.5"
        assert step.fields.get(position=2).recorded_by == operator
    assert "It reached 2 other runs of batch “Purge valves W48”" in outcome.message
    assert [run.number for run in outcome.reached] == [runs[0].number, runs[2].number]
    events = RunEvent.objects.filter(kind=RunEventKind.STEP_COMPLETED)
    assert events.count() == 3
    assert set(events.exclude(run=runs[1]).values_list("acted_on", flat=True)) == {runs[1].pk}
    assert events.get(run=runs[1]).acted_on is None


def test_a_sibling_that_cannot_take_the_action_is_named_with_why(batch_of, operator):
    runs = batch_of(3)
    start_step(actor=operator, step=first_step(runs[0]))
    hold_step(actor=operator, step=first_step(runs[2]), reason="Waiting for seals", this_run_only=True)

    outcome = complete_step(actor=operator, step=first_step(runs[0]), values={1: "7.5"})

    assert [run.number for run in outcome.reached] == [runs[1].number]
    assert [(run.number, why) for run, why in outcome.not_reached] == [
        (runs[2].number, "Step 1 is on hold; you cannot complete it.")
    ]
    assert f"run {runs[2].number}: Step 1 is on hold" in outcome.message
    assert first_step(runs[2]).status == StepStatus.HOLD


def test_this_run_only_keeps_the_action_to_one_run_and_marks_it(batch_of, operator):
    runs = batch_of(2)
    start_step(actor=operator, step=first_step(runs[0]))
    record_values(actor=operator, step=first_step(runs[0]), values={1: "9"}, this_run_only=True)

    assert first_step(runs[0]).fields.get(position=1).value == "9"
    assert first_step(runs[1]).fields.get(position=1).value is None
    hold_step(actor=operator, step=first_step(runs[0]), reason="Leak", this_run_only=True)
    assert first_step(runs[0]).worked_alone
    assert not first_step(runs[1]).worked_alone


def test_the_last_step_completes_every_run_and_their_units(batch_of, operator):
    runs = batch_of(3)
    for position in (1, 2):
        step = runs[0].steps.get(position=position)
        start_step(actor=operator, step=step)
        complete_step(actor=operator, step=step, values={1: "10"})
    for run in runs:
        run.refresh_from_db()
        assert run.status == RunStatus.COMPLETE
        assert run.part_inventory.status == "available"


def test_the_queries_do_not_grow_with_the_batch(batch_of, operator, django_assert_max_num_queries):
    small, large = batch_of(2, "Small"), batch_of(12, "Large")
    for runs in (small, large):
        start_step(actor=operator, step=first_step(runs[0]))
    operator = type(operator).objects.get(pk=operator.pk)
    with django_assert_max_num_queries(20) as small_queries:
        complete_step(actor=operator, step=first_step(small[0]), values={1: "5", 2: True})
    with django_assert_max_num_queries(len(small_queries)):
        complete_step(actor=operator, step=first_step(large[0]), values={1: "5", 2: True})


def test_the_batch_page_shows_each_steps_progress_and_the_next_step(batch_of, operator, planner_client):
    runs = batch_of(3)
    start_step(actor=operator, step=first_step(runs[0]))
    complete_step(actor=operator, step=first_step(runs[0]), values={1: "5"}, this_run_only=True)

    page = planner_client.get(reverse("runs:batch", args=[runs[0].batch_id])).content.decode()
    assert "1 of 3 complete" in page
    assert "1 worked alone" in page
    assert reverse("runs:detail", args=[runs[1].number]) + "#step-1" in page


def test_the_step_panel_says_how_far_an_action_reaches(batch_of, operator, client):
    runs = batch_of(3)
    client.force_login(operator)
    page = client.get(reverse("runs:detail", args=[runs[0].number])).content.decode()
    assert "Applies to this run and the 2 other open runs of batch" in page
    assert 'name="this_run_only"' in page
    response = client.post(
        reverse("runs:step-action", args=[runs[0].number, 1, "start"]), {"this_run_only": "on"}
    )
    assert response.status_code == 302
    assert [first_step(run).status for run in runs] == [
        StepStatus.IN_PROGRESS,
        StepStatus.TODO,
        StepStatus.TODO,
    ]
