"""Adding a procedure to a run created without one (SPEC §12, issue 19): the service, its
refusals with their messages, batches all or nothing, and the run page's form.

The steps copied are compared with those create_runs copies for the same version, and the
batch's locking is watched on real PostgreSQL transactions.
"""

import os
import subprocess
import sys
import threading

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from procedures.models import FieldType, ProcedureStep, StepField, VersionStatus
from runs.models import Run, RunEventKind, RunStatus, RunStep, RunStepField
from runs.services import (
    UNRELEASED_PROCEDURE,
    NotYours,
    ProcedureLocked,
    RunChangeError,
    RunRequest,
    StaleChange,
    add_procedure,
    add_runs_to_batch,
    create_runs,
)
from runs.services import procedures as procedure_service
from tests import factories
from tests.runs.test_services_concurrency import in_thread
from tests.runs.test_step_copies import FIELD_ATTRIBUTES, ROOT, released_procedure

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def part(org):
    return factories.PartFactory(organisation=org, number="BRKT-ASSY-001", revision="B")


@pytest.fixture
def version(org, part):
    """A released version whose steps hold every kind of field the copy must carry."""
    return released_procedure(
        org,
        [part],
        "Bracket build",
        [
            (
                "Degrease",
                "Wipe with IPA.\nLet it dry.",
                [
                    StepField(label="Solvent lot", max_length=12, pattern=r"^L\d+$"),
                    StepField(label="Dry", type=FieldType.BOOLEAN, required=True),
                ],
            ),
            (
                "Torque",
                "",
                [
                    StepField(
                        label="Torque (Nm)",
                        type=FieldType.NUMBER,
                        required=True,
                        min_value="1.5",
                        max_value=20,
                    ),
                    StepField(label="Finish", type=FieldType.SELECT, options=["Matte", "Gloss"]),
                ],
            ),
            ("Tidy the bench", "No fields here.", []),
        ],
    )


def make_runs(planner, part, count=1, **kwargs) -> list[Run]:
    """Runs created as the wizard makes them, by default with no procedure ("add one later")."""
    return create_runs(user=planner, requests=[RunRequest(part_id=part.pk, **kwargs)] * count)


def make_batch(planner, part, count=3, name="Order 4711") -> list[Run]:
    return create_runs(user=planner, requests=[RunRequest(part_id=part.pk)] * count, batch_name=name)


@pytest.fixture
def bare_run(planner, part):
    (run,) = make_runs(planner, part)
    return run


def copies(run: Run) -> list:
    """A run's steps and their fields, as values (ids aside)."""
    return [
        (
            step.position,
            step.title,
            step.instructions,
            step.status,
            [[getattr(f, name) for name in FIELD_ATTRIBUTES] for f in step.fields.order_by("position")],
        )
        for step in run.steps.order_by("position")
    ]


def unchanged(*runs: Run) -> None:
    """Nothing was written to these runs: no procedure, no steps, no event of one."""
    for run in runs:
        run.refresh_from_db()
        assert run.procedure_version_id is None
        assert not run.steps.exists()
        assert not run.events.filter(kind=RunEventKind.PROCEDURE_ADDED).exists()


# -- the service --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_copies_the_steps_create_runs_would_copy(planner, part, version, bare_run):
    (twin,) = make_runs(planner, part, procedure_version_id=version.pk)

    (run,) = add_procedure(actor=planner, run=bare_run, version=version)

    assert run.pk == bare_run.pk and run.procedure_version == version
    bare_run.refresh_from_db()
    assert bare_run.procedure_version == version and not bare_run.export_controlled
    assert copies(bare_run) == copies(twin)
    assert len(copies(bare_run)) == 3 and copies(bare_run)[1][4][0][4] == 1.5
    assert RunStepField.objects.filter(run_step__run=bare_run).count() == 4


@pytest.mark.django_db
def test_it_records_who_added_which_version(planner, version, bare_run):
    add_procedure(actor=planner, run=bare_run, version=version)

    event = bare_run.events.get(kind=RunEventKind.PROCEDURE_ADDED)
    assert (event.actor, event.before, event.after) == (planner, "", "Bracket build v1")
    assert (event.shown_before, event.shown_after) == ("no procedure", "Bracket build v1")


@pytest.mark.django_db
def test_the_run_keeps_its_copy_when_the_procedure_is_revised(planner, version, bare_run):
    add_procedure(actor=planner, run=bare_run, version=version)
    draft = version.revise()
    step = draft.steps.get(position=1)
    step.title = "Degrease twice"
    step.save()
    draft.release()

    assert bare_run.steps.get(position=1).title == "Degrease"
    bare_run.refresh_from_db()
    assert bare_run.procedure_version == version


@pytest.mark.django_db
def test_only_planners_add_a_procedure(operator, version, bare_run):
    with pytest.raises(NotYours, match="Only planners can add a procedure"):
        add_procedure(actor=operator, run=bare_run, version=version)
    unchanged(bare_run)


@pytest.mark.django_db
def test_a_run_with_a_procedure_keeps_it(planner, part, version, org):
    (run,) = make_runs(planner, part, procedure_version_id=version.pk)
    other = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], title="Paint")

    with pytest.raises(ProcedureLocked) as refused:
        add_procedure(actor=planner, run=run, version=other)

    assert refused.value.messages == [
        f"Run {run.number} already has procedure “Bracket build v1”; a run's procedure cannot be changed."
    ]
    assert refused.value.field == "procedure"
    assert run.steps.count() == 3 and not run.events.filter(kind=RunEventKind.PROCEDURE_ADDED).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "said"),
    [
        (RunStatus.IN_PROGRESS, "in progress"),
        (RunStatus.HOLD, "on hold"),
        (RunStatus.COMPLETE, "complete"),
        (RunStatus.CANCELED, "canceled"),
    ],
)
def test_a_started_or_closed_run_cannot_change_procedure(planner, version, bare_run, status, said):
    Run.objects.filter(pk=bare_run.pk).update(status=status)

    with pytest.raises(ProcedureLocked) as refused:
        add_procedure(actor=planner, run=bare_run, version=version)

    assert str(refused.value) == (
        f"Run {bare_run.number} is {said}; a run that has started, completed or been canceled "
        "cannot change procedure."
    )
    unchanged(bare_run)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "said"),
    [
        (VersionStatus.DRAFT, "is draft."),
        (VersionStatus.IN_REVIEW, "is in review."),
        (VersionStatus.SUPERSEDED, "is superseded."),
        (VersionStatus.ARCHIVED, "is archived."),
    ],
)
def test_a_version_that_is_not_released_is_refused(planner, part, org, bare_run, status, said):
    version = factories.ProcedureVersionFactory(
        procedure__organisation=org, parts=[part], title="Paint", status=status
    )

    with pytest.raises(RunChangeError) as refused:
        add_procedure(actor=planner, run=bare_run, version=version)

    assert str(refused.value) == f"{UNRELEASED_PROCEDURE}: “Paint v1” {said}"
    assert refused.value.field == "procedure" and not isinstance(refused.value, ProcedureLocked)
    unchanged(bare_run)


@pytest.mark.django_db
def test_a_released_version_with_an_unapproved_step_is_refused(planner, part, org, bare_run):
    version = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], title="Paint")
    # Released steps cannot be edited through the model; this is what a hand-made database holds.
    ProcedureStep.objects.filter(version=version, position=2).update(approved=False)

    with pytest.raises(RunChangeError, match="unapproved") as refused:
        add_procedure(actor=planner, run=bare_run, version=version)

    assert (
        str(refused.value)
        == "Procedure has unreleased steps: “Paint v1” is released and has unapproved steps."
    )
    unchanged(bare_run)


@pytest.mark.django_db
def test_a_version_not_linked_to_the_runs_part_is_refused(planner, org, bare_run):
    glue = factories.PartFactory(organisation=org, number="GLUE-1", revision="A")
    version = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[glue], title="Mix glue")

    with pytest.raises(RunChangeError) as refused:
        add_procedure(actor=planner, run=bare_run, version=version)

    assert str(refused.value) == f"Procedure “Mix glue v1” is not linked to part {bare_run.part}."
    unchanged(bare_run)


@pytest.mark.django_db
def test_a_version_the_planner_cannot_see_is_refused(planner, uncleared_planner, part, org, other_org):
    (run,) = make_runs(planner, part)
    foreign = factories.ReleasedVersionFactory(procedure__organisation=other_org, parts=[part])
    controlled = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], export_controlled=True
    )

    for actor, version in ((planner, foreign), (uncleared_planner, controlled)):
        with pytest.raises(RunChangeError, match="no longer exists or is not visible to you"):
            add_procedure(actor=actor, run=run, version=version)
    unchanged(run)


@pytest.mark.django_db
def test_an_export_controlled_version_makes_the_run_export_controlled(planner, part, org, bare_run):
    version = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], export_controlled=True
    )

    (run,) = add_procedure(actor=planner, run=bare_run, version=version)

    bare_run.refresh_from_db()
    assert run.export_controlled and bare_run.export_controlled
    assert bare_run.steps.count() == 2


@pytest.mark.django_db
def test_the_whole_family_controls_as_at_creation(planner, part, org, bare_run):
    """v2 is not flagged itself, but v1 of its family is: the run is controlled, as create_runs says."""
    v1 = factories.ProcedureVersionFactory(
        procedure__organisation=org, parts=[part], export_controlled=True, status=VersionStatus.SUPERSEDED
    )
    v2 = factories.ReleasedVersionFactory(procedure=v1.procedure, number=2, parts=[part])
    type(v2).objects.filter(pk=v2.pk).update(export_controlled=False)
    v2.refresh_from_db()

    add_procedure(actor=planner, run=bare_run, version=v2)

    bare_run.refresh_from_db()
    assert bare_run.export_controlled


@pytest.mark.django_db
def test_an_export_controlled_version_is_refused_for_an_uncleared_assignee(planner, part, org, operator):
    (run,) = make_runs(planner, part, assigned_user_id=operator.pk)
    version = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], export_controlled=True, title="Secret"
    )

    with pytest.raises(RunChangeError) as refused:
        add_procedure(actor=planner, run=run, version=version)

    assert str(refused.value) == (
        f"{operator} is not export-cleared and could not see run {run.number} once “Secret v1” makes it "
        "export controlled; reassign it first."
    )
    unchanged(run)
    # A team is fine: only its cleared members see the run.
    team = factories.TeamFactory(organisation=org, members=[operator])
    (teamed,) = make_runs(planner, part, assigned_team_id=team.pk)
    add_procedure(actor=planner, run=teamed, version=version)
    teamed.refresh_from_db()
    assert teamed.export_controlled


# -- batches ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_run_of_the_batch_gets_the_version_at_once(planner, part, version):
    runs = make_batch(planner, part)
    (twin,) = make_runs(planner, part, procedure_version_id=version.pk)

    changed = add_procedure(actor=planner, run=runs[1], version=version)

    assert [run.number for run in changed] == [run.number for run in runs]
    for run in runs:
        run.refresh_from_db()
        assert run.procedure_version == version
        assert copies(run) == copies(twin)
        assert run.events.filter(kind=RunEventKind.PROCEDURE_ADDED, actor=planner).count() == 1
    assert RunStep.objects.filter(run__batch=runs[0].batch).count() == 9


@pytest.mark.django_db
def test_a_batch_costs_the_same_queries_whatever_its_size(planner, part, version):
    # The planner's permissions are read once, on the first call: not counted.
    add_procedure(actor=planner, run=make_runs(planner, part)[0], version=version)
    counts = []
    for size, name in ((2, "Small"), (8, "Large")):
        runs = make_batch(planner, part, count=size, name=name)
        with CaptureQueriesContext(connection) as queries:
            add_procedure(actor=planner, run=runs[0], version=version)
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_a_version_not_linked_to_every_part_of_the_batch_is_refused_naming_the_runs(
    planner, part, org, version
):
    glue = factories.PartFactory(organisation=org, number="GLUE-1", revision="A")
    runs = make_batch(planner, part, count=2)
    others = create_runs(user=planner, requests=[RunRequest(part_id=glue.pk)] * 2)
    add_runs_to_batch(actor=planner, batch=runs[0].batch, runs=others)

    with pytest.raises(RunChangeError) as refused:
        add_procedure(actor=planner, run=runs[0], version=version)

    numbers = ", ".join(str(run.number) for run in others)
    assert str(refused.value) == (
        "Runs in a batch share one procedure version, so “Bracket build v1” goes to all 4 runs of "
        f"batch “Order 4711” or to none, and it is not linked to part {glue} (runs {numbers})."
    )
    assert not isinstance(refused.value, ProcedureLocked)
    unchanged(*runs, *others)


@pytest.mark.django_db
def test_a_batch_with_a_started_run_is_refused_naming_it(planner, part, version):
    runs = make_batch(planner, part)
    Run.objects.filter(pk=runs[2].pk).update(status=RunStatus.CANCELED)

    with pytest.raises(ProcedureLocked) as refused:
        add_procedure(actor=planner, run=runs[0], version=version)

    assert str(refused.value) == (
        "Runs in a batch share one procedure version, so “Bracket build v1” goes to all 3 runs of "
        f"batch “Order 4711” or to none: run {runs[2].number} is canceled; a run that has started, "
        "completed or been canceled cannot change procedure."
    )
    unchanged(*runs)


@pytest.mark.django_db
def test_a_batch_already_mixed_by_hand_says_the_batch_rule(planner, part, version):
    runs = make_batch(planner, part)
    Run.objects.filter(pk=runs[2].pk).update(procedure_version=version)

    with pytest.raises(ProcedureLocked) as refused:
        add_procedure(actor=planner, run=runs[0], version=version)

    assert str(refused.value) == (
        f"Runs in a batch share one procedure version, but runs {runs[0].number}, {runs[1].number} use "
        f"no procedure; run {runs[2].number} uses Bracket build v1."
    )
    unchanged(*runs[:2])


@pytest.mark.django_db
def test_a_batch_with_runs_hidden_from_the_planner_is_refused(planner, uncleared_planner, part, version):
    runs = make_batch(planner, part)
    Run.objects.filter(pk=runs[2].pk).update(export_controlled=True)

    with pytest.raises(RunChangeError) as refused:
        add_procedure(actor=uncleared_planner, run=runs[0], version=version)

    assert "in a batch with runs you cannot see" in str(refused.value)
    assert str(runs[2].number) not in str(refused.value)
    unchanged(*runs)


@pytest.mark.django_db
def test_a_run_that_joined_a_batch_since_the_page_was_loaded_is_not_changed_alone(planner, part, version):
    runs = make_batch(planner, part, count=2)
    (loner,) = make_runs(planner, part)
    shown = Run.objects.get(pk=loner.pk)  # as the page read it, in no batch
    add_runs_to_batch(actor=planner, batch=runs[0].batch, runs=[loner])

    # The batch read afterwards is locked and all of its runs get the version.
    changed = add_procedure(actor=planner, run=shown, version=version)
    assert sorted(run.pk for run in changed) == sorted([*(run.pk for run in runs), loner.pk])


@pytest.mark.django_db
def test_a_run_moved_into_the_batch_by_hand_meanwhile_stops_the_change(planner, part, version, monkeypatch):
    runs = make_batch(planner, part, count=2)
    (loner,) = make_runs(planner, part)
    lock_runs = procedure_service.lock_runs

    def lock_then_move(pks):
        # The admin changes a run's batch without locking the batch.
        Run.objects.filter(pk=loner.pk).update(batch=runs[0].batch)
        lock_runs(pks)

    monkeypatch.setattr(procedure_service, "lock_runs", lock_then_move)
    with pytest.raises(StaleChange, match="changed at this very moment"):
        add_procedure(actor=planner, run=runs[0], version=version)
    unchanged(*runs, loner)


# -- at the same moment, on PostgreSQL -----------------------------------------------------------


class HoldAfterStateCheck:
    """Holds add_procedure on the thread named "held" once it checked the runs' states, its
    transaction (and its locks) still open, until `release()`."""

    def __init__(self, monkeypatch):
        self.checked, self.go = threading.Event(), threading.Event()
        check = procedure_service._refuse_by_state

        def check_then_wait(*args):
            check(*args)
            if threading.current_thread().name == "held":
                self.checked.set()
                self.go.wait(timeout=30)

        monkeypatch.setattr(procedure_service, "_refuse_by_state", check_then_wait)

    def release(self):
        self.go.set()


@pytest.fixture
def busy_world():
    org = factories.OrganisationFactory(name="Busy Rockets")
    part = factories.PartFactory(organisation=org)
    v1 = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], title="Bracket build")
    v2 = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], title="Paint")
    first, second = (factories.PlannerFactory(organisation=org, export_cleared=True) for _ in range(2))
    return first, second, part, v1, v2


@pytest.mark.django_db(transaction=True)
def test_two_planners_adding_procedures_to_one_batch_take_turns(monkeypatch, busy_world):
    first, second, part, v1, v2 = busy_world
    runs = make_batch(first, part)
    hold = HoldAfterStateCheck(monkeypatch)
    held, _, held_errors = in_thread(lambda: add_procedure(actor=first, run=runs[0], version=v1), "held")
    try:
        assert hold.checked.wait(timeout=10)
        other, result, errors = in_thread(
            lambda: add_procedure(actor=second, run=runs[2], version=v2), "other"
        )
        other.join(timeout=1)
        assert other.is_alive(), "the second planner did not wait for the first"
    finally:
        hold.release()
        held.join(timeout=10)
    other.join(timeout=10)

    assert held_errors == [] and result == []
    assert len(errors) == 1 and isinstance(errors[0], ProcedureLocked)
    assert "already has procedure “Bracket build v1”" in str(errors[0])
    assert set(Run.objects.filter(batch=runs[0].batch).values_list("procedure_version", flat=True)) == {v1.pk}
    assert RunStep.objects.filter(run__batch=runs[0].batch).count() == 6


@pytest.mark.django_db(transaction=True)
def test_a_run_joining_the_batch_meanwhile_waits_and_then_is_refused(monkeypatch, busy_world):
    first, second, part, v1, _ = busy_world
    runs = make_batch(first, part, count=2)
    (loner,) = make_runs(first, part)
    hold = HoldAfterStateCheck(monkeypatch)
    held, _, held_errors = in_thread(lambda: add_procedure(actor=first, run=runs[0], version=v1), "held")
    try:
        assert hold.checked.wait(timeout=10)
        other, result, errors = in_thread(
            lambda: add_runs_to_batch(actor=second, batch=runs[0].batch, runs=[loner]), "other"
        )
        other.join(timeout=1)
        assert other.is_alive(), "the run joined the batch while its procedure was being added"
    finally:
        hold.release()
        held.join(timeout=10)
    other.join(timeout=10)

    assert held_errors == [] and result == []
    assert len(errors) == 1 and "Runs in a batch share one procedure version" in str(errors[0])
    loner.refresh_from_db()
    assert loner.batch_id is None and loner.procedure_version_id is None


# -- SQLite, the demo's database ------------------------------------------------------------------


def on_sqlite() -> None:
    """In a subprocess whose DATABASE_URL is an SQLite file: the copies match create_runs' there too."""
    from django.core.management import call_command

    assert connection.vendor == "sqlite"
    call_command("migrate", verbosity=0)
    org = factories.OrganisationFactory(name="SQLite Rockets")
    planner = factories.PlannerFactory(organisation=org, export_cleared=True)
    part = factories.PartFactory(organisation=org)
    version = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=3)
    (twin,) = make_runs(planner, part, procedure_version_id=version.pk)
    (single,) = make_runs(planner, part)
    batch = make_batch(planner, part, count=2)
    add_procedure(actor=planner, run=single, version=version)
    add_procedure(actor=planner, run=batch[0], version=version)
    for run in (single, *batch):
        assert copies(run) == copies(twin)


def test_sqlite_makes_the_same_copies(tmp_path):
    environment = os.environ | {
        "DJANGO_SETTINGS_MODULE": "ion_runs.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
    }
    script = "import django; django.setup(); from tests.runs.test_add_procedure import on_sqlite; on_sqlite()"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


# -- the run page -------------------------------------------------------------------------------


def procedure_url(run: Run) -> str:
    return reverse("runs:run-procedure", args=[run.number])


def detail_url(run: Run) -> str:
    return reverse("runs:detail", args=[run.number])


@pytest.mark.django_db
def test_the_page_offers_the_wizards_choices(planner_client, planner, part, org, version, bare_run):
    factories.ProcedureVersionFactory(procedure__organisation=org, parts=[part], title="Draft paint")
    factories.ReleasedVersionFactory(procedure__organisation=org, title="Unlinked glue")
    factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], title="Inspect", export_controlled=True
    )

    page = planner_client.get(detail_url(bare_run)).content.decode()

    assert 'href="#add-procedure"' in page and f'action="{procedure_url(bare_run)}"' in page
    assert f'<option value="{version.pk}">Bracket build · v1</option>' in page
    assert "Inspect · v1 · export controlled" in page
    assert "Draft paint" not in page and "Unlinked glue" not in page
    assert "Steps are copied now" in page and "Applies to all" not in page


@pytest.mark.django_db
def test_in_a_batch_the_page_says_it_applies_to_all_of_its_runs(planner_client, planner, part, version):
    runs = make_batch(planner, part)

    page = planner_client.get(detail_url(runs[0])).content.decode()

    assert "Applies to all 3 runs of batch “Order 4711”" in page


@pytest.mark.django_db
def test_the_page_says_when_no_procedure_is_available(planner_client, bare_run):
    page = planner_client.get(detail_url(bare_run)).content.decode()

    assert "No procedures available for this part" in page
    assert "link the procedure to part BRKT-ASSY-001 rev B" in page
    assert f'href="{reverse("procedures:list")}"' in page
    assert procedure_url(bare_run) not in page


@pytest.mark.django_db
@pytest.mark.parametrize("status", [RunStatus.IN_PROGRESS, RunStatus.CANCELED])
def test_the_form_is_not_offered_once_the_run_started_or_has_a_procedure(
    planner_client, planner, part, version, bare_run, status
):
    (with_one,) = make_runs(planner, part, procedure_version_id=version.pk)
    Run.objects.filter(pk=bare_run.pk).update(status=status)

    for run in (with_one, bare_run):
        assert procedure_url(run) not in planner_client.get(detail_url(run)).content.decode()


@pytest.mark.django_db
def test_operators_see_no_form(client, operator, version, bare_run):
    client.force_login(operator)
    page = client.get(detail_url(bare_run)).content.decode()
    assert "No procedure — add one later" in page and procedure_url(bare_run) not in page


@pytest.mark.django_db
def test_a_plain_post_adds_it_and_shows_the_steps(planner_client, version, bare_run):
    response = planner_client.post(procedure_url(bare_run), {"procedure-procedure": version.pk})

    assert response.status_code == 302 and response.url == detail_url(bare_run)
    page = planner_client.get(response.url).content.decode()
    assert f"Run {bare_run.number} follows “Bracket build v1” now: 3 steps copied." in page
    assert 'id="step-1-title">1. Degrease' in page and 'id="step-3-title">3. Tidy the bench' in page
    assert "This run has no steps" not in page and procedure_url(bare_run) not in page
    assert bare_run.steps.count() == 3


@pytest.mark.django_db
def test_an_htmx_post_loads_the_page_again(planner_client, version, bare_run):
    response = planner_client.post(procedure_url(bare_run), {"procedure-procedure": version.pk}, **HTMX)

    assert response.status_code == 200 and response["HX-Redirect"] == detail_url(bare_run)
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"Run {bare_run.number} follows “Bracket build v1” now: 3 steps copied."
    ]
    assert bare_run.steps.count() == 3


@pytest.mark.django_db
def test_a_batch_added_from_the_page(planner_client, planner, part, version):
    runs = make_batch(planner, part)

    response = planner_client.post(procedure_url(runs[0]), {"procedure-procedure": version.pk}, follow=True)

    assert "“Bracket build v1” is added to all 3 runs of batch “Order 4711”: 3 steps copied to each." in (
        response.content.decode()
    )
    assert RunStep.objects.filter(run__in=runs).count() == 9


@pytest.mark.django_db
def test_a_refusal_is_shown_at_the_field(planner_client, org, bare_run):
    glue = factories.PartFactory(organisation=org, number="GLUE-1", revision="A")
    unlinked = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[glue], title="Mix glue")
    data = {"procedure-procedure": unlinked.pk}

    plain = planner_client.post(procedure_url(bare_run), data)
    htmx = planner_client.post(procedure_url(bare_run), data, **HTMX)

    message = f"Procedure “Mix glue v1” is not linked to part {bare_run.part}."
    for response in (plain, htmx):
        assert response.status_code == 200
        assert f'<p class="field-error" role="alert">{message}</p>' in response.content.decode()
    assert htmx.content.decode().lstrip().startswith('<div id="run-header"')
    assert "<html" in plain.content.decode() and "<html" not in htmx.content.decode()
    unchanged(bare_run)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Pick the procedure to add."),
        ({"procedure-procedure": "999999"}, "That procedure is not one of your organisation&#x27;s."),
        ({"procedure-procedure": "x"}, "That procedure is not one of your organisation&#x27;s."),
    ],
)
def test_a_missing_or_foreign_choice_is_refused(planner_client, version, bare_run, data, message):
    response = planner_client.post(procedure_url(bare_run), data, **HTMX)
    assert response.status_code == 200 and message in response.content.decode()
    unchanged(bare_run)


@pytest.mark.django_db
def test_a_state_refusal_is_shown_at_the_field_too(planner_client, planner, part, org, version):
    (run,) = make_runs(planner, part, procedure_version_id=version.pk)
    other = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], title="Paint")

    response = planner_client.post(procedure_url(run), {"procedure-procedure": other.pk}, **HTMX)

    assert "already has procedure “Bracket build v1”" in response.content.decode()
    run.refresh_from_db()
    assert run.procedure_version == version


@pytest.mark.django_db
def test_operators_are_forbidden(client, operator, version, bare_run):
    client.force_login(operator)
    response = client.post(procedure_url(bare_run), {"procedure-procedure": version.pk})
    assert response.status_code == 403
    unchanged(bare_run)


@pytest.mark.django_db
def test_the_uncleared_and_outsiders_get_a_404(client, planner, uncleared_planner, outsider, part, org):
    (run,) = make_runs(planner, part, export_controlled=True)
    version = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part])

    for user in (uncleared_planner, outsider):
        client.force_login(user)
        assert client.post(procedure_url(run), {"procedure-procedure": version.pk}).status_code == 404
    unchanged(run)


@pytest.mark.django_db
def test_the_history_shows_the_procedure_added(planner_client, version, bare_run):
    planner_client.post(procedure_url(bare_run), {"procedure-procedure": version.pk})

    page = planner_client.get(detail_url(bare_run)).content.decode()

    assert "<strong>Procedure added</strong>" in page
    assert 'no procedure <span aria-label="to">→</span> Bracket build v1' in page
