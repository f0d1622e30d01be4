"""The run page's actions (SPEC §9): reassign, change the due date, rename, batch, cancel.

Each is posted as a plain form (a redirect back to the page) and with htmx (the header
swapped in place, the history beside it), and refused, with nothing changed, when the run
is closed, the form is stale, a value is invalid, or an id is foreign or hidden.
"""

import datetime
import logging
import traceback

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from inventory.models import InventoryStatus
from runs.models import Run, RunBatch, RunEvent, RunEventKind, RunSource, RunStatus
from runs.services import RunRequest, add_runs_to_batch, create_batch, create_runs, reschedule_run
from tests import factories
from tests.strategies import FUZZ, date_field, flags, form_data, occurrences, search_field, shorten

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def part(org):
    return factories.PartFactory(organisation=org, number="BRKT-ASSY-001")


@pytest.fixture
def version(org, part):
    return factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], title="Bracket build", steps=1
    )


@pytest.fixture
def make_run(planner, part, version):
    def make(**kwargs) -> Run:
        request = RunRequest(part_id=part.pk, procedure_version_id=version.pk, **kwargs)
        return create_runs(user=planner, requests=[request])[0]

    return make


@pytest.fixture
def run(make_run):
    return make_run(name="Nose cone")


@pytest.fixture
def team(org, operator):
    return factories.TeamFactory(organisation=org, name="Final Assembly", members=[operator])


def url(name: str, run: Run) -> str:
    return reverse(f"runs:{name}", args=[run.number])


def state(run: Run) -> dict:
    return Run.objects.filter(pk=run.pk).values().get()


def changes(run: Run) -> list[str]:
    return list(
        RunEvent.objects.filter(run=run).exclude(kind=RunEventKind.CREATED).values_list("kind", flat=True)
    )


def post(client, name, run, data, htmx):
    return client.post(url(name, run), data, **(HTMX if htmx else {}))


def assert_answered(response, run, htmx, message):
    """A plain post redirects to the run page with the message; htmx swaps the header in place."""
    if htmx:
        assert response.status_code == 200
        html = response.content.decode()
        assert html.lstrip().startswith('<div id="run-header">')
        assert 'id="run-history" class="panel history" hx-swap-oob="true"' in html
        assert message in html
    else:
        assert response.status_code == 302
        assert response.url == url("detail", run)


# The page ---------------------------------------------------------------------------------


def test_a_planner_sees_the_forms_and_the_history(planner_client, run):
    html = planner_client.get(url("detail", run)).content.decode()
    for action in ("run-reassign", "run-due-date", "run-rename", "run-batch", "run-cancel"):
        assert f'action="{url(action, run)}"' in html
    assert "History" in html
    assert "Created" in html


def test_an_operator_sees_the_page_read_only(client, operator, run):
    client.force_login(operator)
    html = client.get(url("detail", run)).content.decode()
    assert "Change this run" not in html
    assert url("run-reassign", run) not in html
    assert "History" in html


@pytest.mark.parametrize("name", ["run-reassign", "run-due-date", "run-rename", "run-batch", "run-cancel"])
def test_an_operator_may_not_change_a_run(client, operator, run, name):
    client.force_login(operator)
    before = state(run)
    assert client.post(url(name, run), {"cancel-reason": "no"}).status_code == 403
    assert state(run) == before


@pytest.mark.parametrize("name", ["run-reassign", "run-due-date", "run-rename", "run-batch", "run-cancel"])
def test_actions_are_posts_only(planner_client, run, name):
    assert planner_client.get(url(name, run)).status_code == 405


# Each action, plain and with htmx ---------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_reassign_to_a_team_a_user_and_back_to_the_pool(planner_client, run, team, operator, htmx):
    response = post(planner_client, "run-reassign", run, {"reassign-assignee": f"team:{team.pk}"}, htmx)
    assert_answered(response, run, htmx, "is assigned to Final Assembly")
    run.refresh_from_db()
    assert (run.assigned_team, run.assigned_user) == (team, None)

    seen = f"team:{team.pk}"
    data = {"reassign-assignee": f"user:{operator.pk}", "reassign-seen": seen}
    post(planner_client, "run-reassign", run, data, htmx)
    run.refresh_from_db()
    assert (run.assigned_team, run.assigned_user) == (None, operator)

    post(
        planner_client,
        "run-reassign",
        run,
        {"reassign-assignee": "", "reassign-seen": f"user:{operator.pk}"},
        htmx,
    )
    run.refresh_from_db()
    assert run.assignee is None
    assert changes(run) == ["assigned"] * 3


def test_a_due_date_in_the_past_is_kept_and_pointed_out(planner_client, run):
    past = timezone.localdate() - datetime.timedelta(days=22)
    response = post(planner_client, "run-due-date", run, {"due-due_date": past.isoformat()}, htmx=True)
    assert "That date has passed: the run shows as overdue." in response.content.decode()
    run.refresh_from_db()
    assert run.due_date == past
    future = post(
        planner_client,
        "run-due-date",
        run,
        {"due-due_date": "2099-01-01", "due-seen": past.isoformat()},
        htmx=True,
    )
    assert "That date has passed" not in future.content.decode()


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_change_the_due_date_and_clear_it(planner_client, run, htmx):
    response = post(planner_client, "run-due-date", run, {"due-due_date": "2026-12-24"}, htmx)
    assert_answered(response, run, htmx, "is due 24 Dec 2026")
    run.refresh_from_db()
    assert run.due_date == datetime.date(2026, 12, 24)
    post(planner_client, "run-due-date", run, {"due-due_date": "", "due-seen": "2026-12-24"}, htmx)
    run.refresh_from_db()
    assert run.due_date is None
    assert changes(run) == ["rescheduled"] * 2


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_rename(planner_client, run, htmx):
    response = post(
        planner_client, "run-rename", run, {"rename-name": "Fairing", "rename-seen": "Nose cone"}, htmx
    )
    assert_answered(response, run, htmx, "is now called “Fairing”")
    run.refresh_from_db()
    assert run.name == "Fairing"


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_cancel_with_a_reason(planner_client, run, htmx):
    response = post(planner_client, "run-cancel", run, {"cancel-reason": "Customer withdrew the order"}, htmx)
    assert_answered(response, run, htmx, "is canceled")
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELED
    event = RunEvent.objects.filter(run=run).first()
    assert (event.kind, event.reason) == (RunEventKind.CANCELED, "Customer withdrew the order")
    page = planner_client.get(url("detail", run)).content.decode()
    assert "Customer withdrew the order" in page
    assert "Change this run" not in page
    assert "is canceled; it can no longer be changed" in page


def test_canceling_a_build_puts_its_unit_on_hold(planner_client, run):
    response = post(planner_client, "run-cancel", run, {"cancel-reason": "Order withdrawn"}, htmx=True)
    unit = run.part_inventory
    assert f"Run {run.number} is canceled; {unit.identity} is now on hold." in response.content.decode()
    unit.refresh_from_db()
    assert unit.status == InventoryStatus.ON_HOLD


def test_canceling_an_attached_run_makes_its_unit_available_again(planner_client, make_run, part):
    unit = factories.PartInventoryFactory(part=part, serial_number="SN-SHELF")
    run = make_run(source=RunSource.ATTACH, inventory_id=unit.pk)
    unit.refresh_from_db()
    assert unit.status == InventoryStatus.WIP
    post(planner_client, "run-cancel", run, {"cancel-reason": "Wrong unit"}, htmx=True)
    unit.refresh_from_db()
    assert unit.status == InventoryStatus.AVAILABLE


@pytest.mark.parametrize("order", ["attached first", "build first"])
def test_a_unit_is_let_go_only_when_its_last_open_run_is_canceled(planner_client, make_run, run, order):
    unit = run.part_inventory
    attached = make_run(source=RunSource.ATTACH, inventory_id=unit.pk)
    first, last = (attached, run) if order == "attached first" else (run, attached)
    response = post(planner_client, "run-cancel", first, {"cancel-reason": "Duplicate"}, htmx=True)
    assert f"Run {first.number} is canceled." in response.content.decode()
    unit.refresh_from_db()
    assert unit.status == InventoryStatus.WIP  # as attaching left it: another run still holds it
    post(planner_client, "run-cancel", last, {"cancel-reason": "Order withdrawn"}, htmx=True)
    unit.refresh_from_db()
    assert unit.status == InventoryStatus.ON_HOLD  # its build was never finished


def test_a_finished_unit_attached_to_a_canceled_run_is_available_again(planner_client, make_run, run):
    Run.objects.filter(pk=run.pk).update(status=RunStatus.COMPLETE)
    unit = run.part_inventory
    attached = make_run(source=RunSource.ATTACH, inventory_id=unit.pk)
    post(planner_client, "run-cancel", attached, {"cancel-reason": "Test not needed"}, htmx=True)
    unit.refresh_from_db()
    assert unit.status == InventoryStatus.AVAILABLE


def test_a_plain_post_shows_its_message_after_the_redirect(planner_client, run):
    response = planner_client.post(url("run-rename", run), {"rename-name": "Fairing"}, follow=True)
    assert "is now called “Fairing”" in response.content.decode()


# Refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("run-cancel", {"cancel-reason": "   "}, "Say why the run is canceled."),
        ("run-due-date", {"due-due_date": "2026-13-45"}, "Enter a valid date."),
        ("run-rename", {"rename-name": ""}, "This field is required."),
        ("run-rename", {"rename-name": "x" * 201}, "at most 200 characters"),
        ("run-reassign", {"reassign-assignee": "user:999999"}, "Pick a team or a person from the list."),
        ("run-reassign", {"reassign-assignee": "nonsense"}, "Pick a team or a person from the list."),
        ("run-batch", {"batch-batch": "No such batch"}, "There is no batch named “No such batch”."),
        ("run-batch", {"batch-batch": ""}, "Type the name of the batch"),
        ("run-batch", {"batch-remove": "on"}, "is in no batch."),
    ],
)
def test_invalid_values_are_refused_at_the_field(planner_client, run, name, data, message, htmx):
    before = state(run)
    response = post(planner_client, name, run, data, htmx)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert 'class="field-error"' in html
    assert state(run) == before
    assert changes(run) == []


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("status", [RunStatus.COMPLETE, RunStatus.CANCELED])
@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("run-reassign", {"reassign-assignee": ""}),
        ("run-due-date", {"due-due_date": "2027-01-01"}),
        ("run-rename", {"rename-name": "Late rename"}),
        ("run-batch", {"batch-batch": "Any"}),
        ("run-cancel", {"cancel-reason": "Twice"}),
    ],
)
def test_a_closed_run_refuses_every_change_with_a_clear_message(
    planner_client, run, status, name, data, htmx
):
    Run.objects.filter(pk=run.pk).update(status=status)
    before = state(run)
    response = post(planner_client, name, run, data, htmx)
    assert response.status_code == 200
    label = RunStatus(status).label.lower()
    assert f"Run {run.number} is {label}; it can no longer be changed." in response.content.decode()
    assert state(run) == before
    assert changes(run) == []


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_stale_form_says_so_and_shows_the_run_as_it_is_now(planner_client, planner, run, htmx):
    # The page was loaded with no due date; meanwhile someone else set one.
    reschedule_run(actor=planner, run=run, due_date=datetime.date(2026, 7, 1))
    response = post(planner_client, "run-due-date", run, {"due-due_date": "2026-08-01", "due-seen": ""}, htmx)
    assert response.status_code == 200
    html = response.content.decode()
    assert "changed since this page was loaded: it is now 1 Jul 2026" in html
    assert 'value="2026-07-01"' in html  # the form now shows the current date
    run.refresh_from_db()
    assert run.due_date == datetime.date(2026, 7, 1)
    assert changes(run) == ["rescheduled"]


def test_a_stale_assignee_is_not_overwritten(planner_client, planner, run, team, operator):
    run.assigned_team = team
    run.save()
    data = {"reassign-assignee": f"user:{operator.pk}", "reassign-seen": ""}
    html = planner_client.post(url("run-reassign", run), data).content.decode()
    assert "it is now team Final Assembly" in html
    run.refresh_from_db()
    assert run.assigned_team == team


def test_a_stale_name_is_not_overwritten(planner_client, run):
    Run.objects.filter(pk=run.pk).update(name="Renamed elsewhere")
    data = {"rename-name": "Mine", "rename-seen": "Nose cone"}
    html = planner_client.post(url("run-rename", run), data).content.decode()
    assert "it is now “Renamed elsewhere”" in html
    assert state(run)["name"] == "Renamed elsewhere"


# Export control and isolation -------------------------------------------------------------


def test_a_controlled_run_goes_only_to_cleared_people(planner_client, make_run, org, team):
    run = make_run(export_controlled=True)
    uncleared = factories.OperatorFactory(organisation=org, first_name="Uma", last_name="Uncleared")
    cleared = factories.OperatorFactory(organisation=org, first_name="Carl", export_cleared=True)
    page = planner_client.get(url("detail", run)).content.decode()
    assert "Uma Uncleared" not in page
    assert "Carl" in page

    response = planner_client.post(url("run-reassign", run), {"reassign-assignee": f"user:{uncleared.pk}"})
    assert "Only export-cleared people can be assigned an export-controlled run." in response.content.decode()
    assert state(run)["assigned_user_id"] is None

    planner_client.post(url("run-reassign", run), {"reassign-assignee": f"user:{cleared.pk}"})
    assert state(run)["assigned_user_id"] == cleared.pk
    # A team is fine: only its cleared members see the run.
    planner_client.post(
        url("run-reassign", run),
        {"reassign-assignee": f"team:{team.pk}", "reassign-seen": f"user:{cleared.pk}"},
    )
    assert state(run)["assigned_team_id"] == team.pk


def test_another_organisations_people_and_teams_are_not_offered(planner_client, run, outsider, other_org):
    foreign_team = factories.TeamFactory(organisation=other_org, name="Globex crew")
    for key in (f"user:{outsider.pk}", f"team:{foreign_team.pk}"):
        response = planner_client.post(url("run-reassign", run), {"reassign-assignee": key})
        assert "Pick a team or a person from the list." in response.content.decode()
    assert state(run)["assigned_user_id"] is None
    assert "Globex crew" not in planner_client.get(url("detail", run)).content.decode()


@pytest.mark.parametrize(
    "name", ["detail", "run-reassign", "run-due-date", "run-rename", "run-batch", "run-cancel"]
)
def test_another_organisations_run_is_404(client, outsider, run, name):
    client.force_login(outsider)
    before = state(run)
    response = (
        client.post(url(name, run), {"cancel-reason": "x"})
        if name != "detail"
        else client.get(url(name, run))
    )
    assert response.status_code == 404
    assert state(run) == before


@pytest.mark.parametrize(
    "name", ["detail", "run-reassign", "run-due-date", "run-rename", "run-batch", "run-cancel"]
)
def test_a_controlled_run_is_404_to_an_uncleared_planner(client, uncleared_planner, make_run, name):
    run = make_run(export_controlled=True)
    client.force_login(uncleared_planner)
    before = state(run)
    response = (
        client.post(url(name, run), {"cancel-reason": "x"})
        if name != "detail"
        else client.get(url(name, run))
    )
    assert response.status_code == 404
    assert state(run) == before


# Batches from the run page ----------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_add_to_a_batch_by_name_and_remove_again(planner_client, planner, run, htmx):
    batch = create_batch(actor=planner, name="Week 12")
    response = post(planner_client, "run-batch", run, {"batch-batch": "week 12"}, htmx)
    assert_answered(response, run, htmx, "is in batch “Week 12”")
    assert state(run)["batch_id"] == batch.pk

    response = post(planner_client, "run-batch", run, {"batch-remove": "on", "batch-seen": batch.pk}, htmx)
    assert_answered(response, run, htmx, "is no longer in batch “Week 12”")
    assert state(run)["batch_id"] is None
    assert changes(run) == ["unbatched", "batched"]


def test_a_batch_of_another_version_is_refused_naming_the_runs(planner_client, planner, org, part, run):
    other = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], title="Bracket build", number=2
    )
    theirs = create_runs(
        user=planner, requests=[RunRequest(part_id=part.pk, procedure_version_id=other.pk)] * 2
    )
    batch = create_batch(actor=planner, name="Version two")
    add_runs_to_batch(actor=planner, batch=batch, runs=theirs)

    html = planner_client.post(url("run-batch", run), {"batch-batch": "Version two"}).content.decode()
    first, second = sorted(r.number for r in theirs)
    assert (
        f"Runs in a batch share one procedure version, but runs {first}, {second} use Bracket build v2; "
        f"run {run.number} uses Bracket build v1."
    ) in html
    assert state(run)["batch_id"] is None


def test_a_batch_holding_a_hidden_run_is_answered_as_missing(client, uncleared_planner, planner, make_run):
    visible, secret = make_run(), make_run(export_controlled=True)
    batch = create_batch(actor=planner, name="Secret batch")
    add_runs_to_batch(actor=planner, batch=batch, runs=[secret])
    client.force_login(uncleared_planner)
    html = client.post(url("run-batch", visible), {"batch-batch": "Secret batch"}).content.decode()
    assert "There is no batch named “Secret batch”." in html
    assert state(visible)["batch_id"] is None


def test_removing_from_a_batch_the_run_left_meanwhile_is_stale(planner_client, planner, run):
    first = create_batch(actor=planner, name="First")
    second = create_batch(actor=planner, name="Second")
    add_runs_to_batch(actor=planner, batch=second, runs=[run])
    html = planner_client.post(
        url("run-batch", run), {"batch-remove": "on", "batch-seen": first.pk}
    ).content.decode()
    assert "is no longer in batch “First”" in html
    assert state(run)["batch_id"] == second.pk


# History ----------------------------------------------------------------------------------


def test_the_history_is_newest_first_with_who_and_why(planner_client, run, team):
    planner_client.post(url("run-reassign", run), {"reassign-assignee": f"team:{team.pk}"})
    planner_client.post(url("run-due-date", run), {"due-due_date": "2026-12-24"})
    planner_client.post(url("run-cancel", run), {"cancel-reason": "Order withdrawn"})
    html = planner_client.get(url("detail", run)).content.decode()
    history = html[html.index('id="run-history"') :]
    order = [history.index(text) for text in ("Canceled", "Due date changed", "Reassigned", "Created")]
    assert order == sorted(order)
    assert 'the unassigned pool <span aria-label="to">→</span> team Final Assembly' in history
    assert 'no due date <span aria-label="to">→</span> 24 Dec 2026' in history
    assert "Order withdrawn" in history


def test_the_run_page_takes_a_fixed_number_of_queries_whatever_its_history(
    planner_client, planner, run, django_assert_max_num_queries
):
    for day in range(1, 30):
        reschedule_run(actor=planner, run=run, due_date=datetime.date(2026, 1, day))
    with django_assert_max_num_queries(13):
        planner_client.get(url("detail", run))


# Whatever is posted ------------------------------------------------------------------------


class NeverA500(TestCase):
    """Hypothesis posts the run page's and the batch page's forms with anything at all: never
    a server error, a run changes only together with an event, and no batch mixes versions."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name in ("django.request", "django.security"):
            log = logging.getLogger(name)
            cls.addClassCleanup(log.setLevel, log.level)
            log.setLevel(logging.CRITICAL)

    @classmethod
    def setUpTestData(cls):
        org = factories.OrganisationFactory(name="Acme Rockets")
        other = factories.OrganisationFactory(name="Globex")
        cls.planner = factories.PlannerFactory(organisation=org, export_cleared=True)
        uncleared = factories.OperatorFactory(organisation=org)
        team = factories.TeamFactory(organisation=org, members=[cls.planner])
        outsider = factories.PlannerFactory(organisation=other)
        foreign_team = factories.TeamFactory(organisation=other)
        part = factories.PartFactory(organisation=org)
        v1 = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=1)
        v2 = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], number=2, steps=1)

        def runs(version, count=1, **kwargs):
            request = RunRequest(part_id=part.pk, procedure_version_id=version and version.pk, **kwargs)
            return create_runs(user=cls.planner, requests=[request] * count)

        batch = create_batch(actor=cls.planner, name="Week 12")
        add_runs_to_batch(actor=cls.planner, batch=batch, runs=runs(v1, 2))
        other_batch = create_batch(actor=cls.planner, name="Version two")
        add_runs_to_batch(actor=cls.planner, batch=other_batch, runs=runs(v2))
        loose = runs(v1, 2) + runs(v2) + runs(None) + runs(v1, export_controlled=True)
        Run.objects.filter(pk=loose[0].pk).update(status=RunStatus.COMPLETE)
        foreign = factories.RunFactory(organisation=other)
        foreign_batch = factories.RunBatchFactory(organisation=other, name="Globex batch")
        cls.numbers = [*Run.objects.filter(organisation=org).values_list("number", flat=True), foreign.number]
        cls.batches = [batch.pk, other_batch.pk, foreign_batch.pk]
        cls.assignees = [
            "",
            f"user:{cls.planner.pk}",
            f"user:{uncleared.pk}",
            f"team:{team.pk}",
            f"user:{outsider.pk}",
            f"team:{foreign_team.pk}",
            "user:",
            "team:abc",
        ]
        cls.batch_names = ["Week 12", "week 12", "Version two", "Globex batch", "", "B" * 201]

    def answered(self, response):
        if response.exc_info:
            self.fail(shorten("".join(traceback.format_exception(*response.exc_info))))
        self.assertLess(response.status_code, 500)

    def world(self):
        return (
            list(
                Run.objects.order_by("pk").values_list(
                    "pk", "name", "due_date", "assigned_user", "assigned_team", "batch", "status"
                )
            ),
            RunEvent.objects.count(),
        )

    def assertChangedOnlyWithEvents(self, before):
        (runs_before, events_before), (runs_after, events_after) = before, self.world()
        self.assertEqual(
            runs_before != runs_after, events_after > events_before, "a change without its event"
        )
        for batch in RunBatch.objects.all():
            self.assertLessEqual(len(set(batch.runs.values_list("procedure_version", flat=True))), 1, batch)

    @settings(FUZZ, max_examples=120)
    @given(st.data())
    def test_run_actions(self, data):
        action = data.draw(
            st.sampled_from(["run-reassign", "run-due-date", "run-rename", "run-batch", "run-cancel"])
        )
        number = data.draw(
            st.one_of(st.sampled_from(self.numbers), st.integers(min_value=0, max_value=2**31))
        )
        payload = data.draw(
            form_data(
                {
                    "reassign-assignee": occurrences(*self.assignees),
                    "reassign-seen": occurrences(*self.assignees),
                    "due-due_date": date_field(),
                    "due-seen": date_field(),
                    "rename-name": occurrences("Nose cone", "N" * 200, "N" * 201, "  "),
                    "rename-seen": occurrences("Nose cone"),
                    "batch-batch": occurrences(*self.batch_names),
                    "batch-remove": flags(),
                    "batch-seen": occurrences(*self.batches),
                    "cancel-reason": occurrences("Order withdrawn", "", "R" * 2001),
                }
            )
        )
        headers = data.draw(st.sampled_from([{}, HTMX]))
        client = Client(raise_request_exception=False)
        client.force_login(self.planner)
        before = self.world()
        self.answered(client.post(reverse(f"runs:{action}", args=[number]), payload, **headers))
        self.assertChangedOnlyWithEvents(before)

    @settings(FUZZ, max_examples=120)
    @given(st.data())
    def test_batch_actions(self, data):
        action = data.draw(
            st.sampled_from(["batch", "batch-rename", "batch-add", "batch-remove", "batches", "batch-new"])
        )
        pk = data.draw(st.one_of(st.sampled_from(self.batches), st.integers(min_value=0, max_value=2**31)))
        number = data.draw(
            st.one_of(st.sampled_from(self.numbers), st.integers(min_value=0, max_value=2**31))
        )
        args = {"batch": [pk], "batch-rename": [pk], "batch-add": [pk], "batch-remove": [pk, number]}.get(
            action, []
        )
        payload = data.draw(
            form_data(
                {
                    "name": occurrences(*self.batch_names),
                    "seen": occurrences(*self.batch_names),
                    "runs": occurrences(*self.numbers, max_size=4),
                    "q": search_field("Week"),
                    "find": search_field("Nose"),
                    "page": occurrences("2", "0", "-1", "99999999999999999999"),
                }
            )
        )
        headers = data.draw(st.sampled_from([{}, HTMX, HTMX | {"HTTP_HX_TARGET": "picker-results"}]))
        client = Client(raise_request_exception=False)
        client.force_login(self.planner)
        before = self.world()
        url = reverse(f"runs:{action}", args=args)
        if action in ("batch", "batches"):
            response = client.get(url, payload, **headers)
        else:
            response = client.post(url, payload, **headers)
        self.answered(response)
        self.assertChangedOnlyWithEvents(before)
