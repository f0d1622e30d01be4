"""The history of a run (SPEC §9): an event for every change, written with the change."""

import datetime
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from runs.models import Run, RunEvent, RunEventKind, RunStatus
from runs.services import (
    RunChangeError,
    RunRequest,
    StaleChange,
    add_runs_to_batch,
    cancel_run,
    create_batch,
    create_runs,
    delete_batch,
    pick_up_run,
    reassign_run,
    remove_run_from_batch,
    rename_run,
    reschedule_run,
)
from tests import factories
from tests.test_admin import change
from tests.test_export_control import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def part(org):
    return factories.PartFactory(organisation=org, number="BRKT-ASSY-001")


@pytest.fixture
def version(org, part):
    return factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=2)


@pytest.fixture
def run(planner, part, version):
    return create_runs(user=planner, requests=[RunRequest(part_id=part.pk, procedure_version_id=version.pk)])[
        0
    ]


def kinds(run) -> list[str]:
    return list(RunEvent.objects.filter(run=run).values_list("kind", flat=True))


def last_event(run) -> RunEvent:
    return RunEvent.objects.filter(run=run).select_related("actor", "batch").first()


# Creation ---------------------------------------------------------------------------------


def test_creating_runs_writes_a_created_event_each_with_batch_and_token(planner, part, version):
    token = uuid.uuid4()
    requests = [RunRequest(part_id=part.pk, procedure_version_id=version.pk)] * 3
    runs = create_runs(user=planner, requests=requests, batch_name="Order 4711", token=token)

    events = RunEvent.objects.filter(run__in=runs).order_by("run__number")
    assert [(e.run_id, e.kind) for e in events] == [(run.pk, RunEventKind.CREATED) for run in runs]
    for event, run in zip(events, runs, strict=True):
        assert event.actor == planner
        assert event.at == run.created_at
        assert event.batch == run.batch
        assert event.batch.name == "Order 4711"
        assert event.creation_token == token


def test_created_events_are_one_statement_whatever_the_number_of_runs(planner, part, version):
    def inserts_of_events(count: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            create_runs(
                user=planner, requests=[RunRequest(part_id=part.pk, procedure_version_id=version.pk)] * count
            )
        return sum(
            'INSERT INTO "runs_runevent"' in q["sql"] or "INSERT INTO runs_runevent" in q["sql"]
            for q in queries
        )

    assert inserts_of_events(1) == inserts_of_events(40) == 1
    assert RunEvent.objects.filter(kind=RunEventKind.CREATED).count() == 41


def test_the_created_events_sql_matches_the_orms_idea_of_them(planner, part, version):
    runs = create_runs(user=planner, requests=[RunRequest(part_id=part.pk)] * 2, batch_name="B")
    expected = [(r.pk, "created", r.created_by_id, r.created_at, r.batch_id, r.creation_token) for r in runs]
    actual = list(
        RunEvent.objects.order_by("run_id").values_list(
            "run_id", "kind", "actor_id", "at", "batch_id", "creation_token"
        )
    )
    assert actual == expected


def test_a_refused_creation_writes_no_events(planner, part, version):
    with pytest.raises(Exception):  # noqa: B017 — which error is test_services' business
        create_runs(user=planner, requests=[RunRequest(part_id=part.pk, procedure_version_id=-1)])
    assert not RunEvent.objects.exists()


# Each change ------------------------------------------------------------------------------


def test_reassigning_records_who_before_and_after(run, planner, org):
    team = factories.TeamFactory(organisation=org, name="Final Assembly")
    ada = factories.OperatorFactory(organisation=org, first_name="Ada", last_name="Lovelace")
    reassign_run(actor=planner, run=run, user=ada)
    reassign_run(actor=planner, run=run, team=team, reason="Ada is ill")
    reassign_run(actor=planner, run=run)

    events = list(RunEvent.objects.filter(run=run, kind=RunEventKind.ASSIGNED).order_by("id"))
    assert [(e.before, e.after) for e in events] == [
        ("", "Ada Lovelace"),
        ("Ada Lovelace", "team Final Assembly"),
        ("team Final Assembly", ""),
    ]
    assert events[1].reason == "Ada is ill"
    assert events[2].shown_after == "the unassigned pool"
    assert {e.actor for e in events} == {planner}


def test_reassigning_to_the_same_assignee_records_nothing(run, planner):
    reassign_run(actor=planner, run=run)
    assert kinds(run) == ["created"]


def test_rescheduling_records_both_dates(run, planner):
    reschedule_run(actor=planner, run=run, due_date=datetime.date(2026, 3, 1))
    reschedule_run(actor=planner, run=run, due_date=datetime.date(2026, 3, 9))
    reschedule_run(actor=planner, run=run, due_date=None)
    events = list(RunEvent.objects.filter(run=run, kind=RunEventKind.RESCHEDULED).order_by("id"))
    assert [(e.before, e.after) for e in events] == [
        ("", "2026-03-01"),
        ("2026-03-01", "2026-03-09"),
        ("2026-03-09", ""),
    ]
    assert (events[1].shown_before, events[1].shown_after) == ("1 Mar 2026", "9 Mar 2026")
    assert events[2].shown_after == "no due date"


def test_renaming_records_both_names(run, planner):
    old = run.name
    rename_run(actor=planner, run=run, name="  Nose   cone  ")
    event = last_event(run)
    assert (event.kind, event.before, event.after) == (RunEventKind.RENAMED, old, "Nose cone")


def test_canceling_records_the_reason(run, planner):
    cancel_run(actor=planner, run=run, reason="Order withdrawn by the customer")
    event = last_event(run)
    assert (event.kind, event.before, event.after) == (RunEventKind.CANCELED, "todo", "canceled")
    assert event.reason == "Order withdrawn by the customer"
    assert (event.shown_before, event.shown_after) == ("To do", "Canceled")


def test_picking_up_records_the_operator(run, org):
    operator = factories.OperatorFactory(organisation=org, first_name="Olga", last_name="Ops")
    assert pick_up_run(actor=operator, run=run)
    assert not pick_up_run(actor=operator, run=run)
    assert kinds(run) == ["picked_up", "created"]
    event = last_event(run)
    assert (event.actor, event.before, event.after) == (operator, "", "Olga Ops")


def test_batching_and_unbatching_record_the_batch(run, planner):
    batch = create_batch(actor=planner, name="Week 12")
    add_runs_to_batch(actor=planner, batch=batch, runs=[run])
    remove_run_from_batch(actor=planner, batch=batch, run=run)
    batched, unbatched = RunEvent.objects.filter(run=run, kind__in=RunEventKind.batching()).order_by("id")
    assert (batched.kind, batched.after, batched.batch) == (RunEventKind.BATCHED, "Week 12", batch)
    assert (unbatched.kind, unbatched.before, unbatched.batch) == (RunEventKind.UNBATCHED, "Week 12", batch)


def test_deleting_a_batch_unbatches_its_runs_with_events(run, planner):
    batch = create_batch(actor=planner, name="Week 12")
    add_runs_to_batch(actor=planner, batch=batch, runs=[run])
    delete_batch(actor=planner, batch=batch)
    event = last_event(run)
    assert (event.kind, event.before, event.batch) == (RunEventKind.UNBATCHED, "Week 12", None)
    run.refresh_from_db()
    assert run.batch is None


@pytest.mark.parametrize(
    "change",
    [
        lambda run, user: reassign_run(actor=user, run=run, user=user, seen="team:1"),
        lambda run, user: reschedule_run(actor=user, run=run, due_date=None, seen="2020-01-01"),
        lambda run, user: rename_run(actor=user, run=run, name="New", seen="Someone else's name"),
    ],
)
def test_a_stale_change_is_refused_and_writes_nothing(run, planner, change):
    before = Run.objects.filter(pk=run.pk).values().get()
    with pytest.raises(StaleChange):
        change(run, planner)
    assert Run.objects.filter(pk=run.pk).values().get() == before
    assert kinds(run) == ["created"]


@pytest.mark.parametrize(
    "change",
    [
        lambda run, user: reassign_run(actor=user, run=run, user=user),
        lambda run, user: reschedule_run(actor=user, run=run, due_date=datetime.date(2030, 1, 1)),
        lambda run, user: rename_run(actor=user, run=run, name="New"),
        lambda run, user: cancel_run(actor=user, run=run, reason="again"),
        lambda run, user: add_runs_to_batch(actor=user, batch=create_batch(actor=user, name="B"), runs=[run]),
    ],
)
@pytest.mark.parametrize("status", [RunStatus.COMPLETE, RunStatus.CANCELED])
def test_a_closed_run_is_not_changed_and_no_event_is_written(run, planner, change, status):
    Run.objects.filter(pk=run.pk).update(status=status)
    run.refresh_from_db()
    with pytest.raises(RunChangeError) as refused:
        change(run, planner)
    assert f"is {run.get_status_display().lower()}" in str(refused.value)
    assert kinds(run) == ["created"]


# The admin --------------------------------------------------------------------------------


@pytest.fixture
def admin_user_client(client, org):
    staff = factories.UserFactory(
        organisation=org, username="curator", is_staff=True, export_cleared=True, groups=["Admin"]
    )
    client.force_login(staff)
    client.staff = staff
    return client


def admin_post(client, run, **changes):
    """Post the run's admin change form as it stands, with these changes."""
    return client.post(change(run), form_data(client.get(change(run)), **changes))


def test_changes_made_in_the_admin_are_recorded(admin_user_client, run, org):
    team = factories.TeamFactory(organisation=org, name="Cell 7")
    batch = factories.RunBatchFactory(organisation=org, name="Admin batch")
    response = admin_post(
        admin_user_client,
        run,
        name="Renamed in admin",
        due_date="2026-05-04",
        assigned_team=team.pk,
        batch=batch.pk,
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    events = {e.kind: e for e in RunEvent.objects.filter(run=run).exclude(kind=RunEventKind.CREATED)}
    assert set(events) == {"renamed", "rescheduled", "assigned", "batched"}
    assert events["renamed"].after == "Renamed in admin"
    assert events["rescheduled"].after == "2026-05-04"
    assert events["assigned"].after == "team Cell 7"
    assert events["batched"].batch == batch
    assert {e.actor for e in events.values()} == {admin_user_client.staff}


def test_the_admin_cannot_set_a_status_that_follows_the_steps(admin_user_client, run):
    assert admin_post(admin_user_client, run, status=RunStatus.COMPLETE).status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.TODO
    assert kinds(run) == ["created"]


def test_a_closed_run_is_read_only_in_the_admin(admin_user_client, run, planner):
    cancel_run(actor=planner, run=run, reason="Scrapped order")
    page = admin_user_client.get(change(run)).content.decode()
    assert 'name="name"' not in page
    response = admin_user_client.post(change(run), {"name": "Renamed after cancel"})
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.name != "Renamed after cancel"


def test_an_unchanged_admin_save_records_nothing(admin_user_client, run):
    assert admin_post(admin_user_client, run).status_code == 302
    assert kinds(run) == ["created"]


def test_the_admin_keeps_the_batch_rule(admin_user_client, run, org, planner, part):
    other = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], title="Other build")
    batch = create_batch(actor=planner, name="Other runs")
    elsewhere = create_runs(
        user=planner, requests=[RunRequest(part_id=part.pk, procedure_version_id=other.pk)]
    )
    add_runs_to_batch(actor=planner, batch=batch, runs=elsewhere)

    response = admin_post(admin_user_client, run, batch=batch.pk)
    assert response.status_code == 200
    assert "Runs in a batch share one procedure version" in response.content.decode()
    assert kinds(run) == ["created"]
    run.refresh_from_db()
    assert run.batch is None
