"""Adding a procedure to a run over the API (SPEC §12, issue 19): `POST /api/v1/runs/{number}/procedure`,
the service's rules and messages, the API's answers."""

import pytest
from django.test import Client

from procedures.models import VersionStatus
from runs.models import Run, RunEventKind, RunStatus, RunStep
from runs.services import RunRequest, create_runs
from tests import factories
from tests.api.conftest import api_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def bare_run(planner, part):
    (run,) = create_runs(user=planner, requests=[RunRequest(part_id=part.pk)])
    return run


def url(run: Run) -> str:
    return f"/api/v1/runs/{run.number}/procedure"


def refused(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def nothing_added(*runs: Run) -> None:
    for run in runs:
        run.refresh_from_db()
        assert run.procedure_version_id is None and not run.steps.exists()
        assert not run.events.filter(kind=RunEventKind.PROCEDURE_ADDED).exists()


def test_it_adds_the_procedure_and_answers_the_run(api, bare_run, version):
    response = api.post(url(bare_run), {"procedure": version.pk})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body == api.get(f"/api/v1/runs/{bare_run.number}").json()
    assert body["procedure_version"] == {"id": version.pk, "title": "Bracket build", "number": 1}
    assert [step["title"] for step in body["steps"]] == ["Step 1", "Step 2", "Step 3"]
    assert all(step["status"] == "todo" for step in body["steps"])
    assert bare_run.events.filter(kind=RunEventKind.PROCEDURE_ADDED, after=str(version)).count() == 1


def test_a_batch_gets_it_whole(api, planner, part, version):
    runs = create_runs(user=planner, requests=[RunRequest(part_id=part.pk)] * 3, batch_name="Order 4711")

    assert api.post(url(runs[2]), {"procedure": version.pk}).status_code == 200

    assert RunStep.objects.filter(run__in=runs).count() == 9
    assert set(
        Run.objects.filter(pk__in=[r.pk for r in runs]).values_list("procedure_version", flat=True)
    ) == {version.pk}


def test_a_batch_whose_parts_are_not_all_linked_is_refused_naming_the_runs(api, planner, part, org, version):
    glue = factories.PartFactory(organisation=org, number="GLUE-1", revision="A")
    runs = create_runs(
        user=planner,
        requests=[RunRequest(part_id=part.pk), RunRequest(part_id=glue.pk)],
        batch_name="Order 4711",
    )

    body = refused(api.post(url(runs[0]), {"procedure": version.pk}), 422)

    message = (
        "Runs in a batch share one procedure version, so “Bracket build v1” goes to all 2 runs of batch "
        f"“Order 4711” or to none, and it is not linked to part GLUE-1 rev A (run {runs[1].number})."
    )
    assert body["errors"] == [{"row": None, "field": "procedure", "message": message}]
    nothing_added(*runs)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (VersionStatus.DRAFT, "Procedure has unreleased steps: “Paint v1” is draft."),
        (VersionStatus.SUPERSEDED, "Procedure has unreleased steps: “Paint v1” is superseded."),
    ],
)
def test_an_unreleased_version_is_a_422_at_procedure(api, bare_run, org, part, status, message):
    paint = factories.ProcedureVersionFactory(
        procedure__organisation=org, parts=[part], title="Paint", status=status
    )

    body = refused(api.post(url(bare_run), {"procedure": paint.pk}), 422)

    assert body["errors"] == [{"row": None, "field": "procedure", "message": message}]
    nothing_added(bare_run)


def test_a_version_not_linked_to_the_part_is_a_422(api, bare_run, org):
    glue = factories.PartFactory(organisation=org, number="GLUE-1")
    mix = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[glue], title="Mix glue")

    body = refused(api.post(url(bare_run), {"procedure": mix.pk}), 422)

    assert (
        body["errors"][0]["message"] == "Procedure “Mix glue v1” is not linked to part BRKT-ASSY-001 rev B."
    )
    nothing_added(bare_run)


def test_a_run_with_a_procedure_is_a_409(api, planner, part, version, org):
    (run,) = create_runs(
        user=planner, requests=[RunRequest(part_id=part.pk, procedure_version_id=version.pk)]
    )
    paint = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], title="Paint")

    body = refused(api.post(url(run), {"procedure": paint.pk}), 409)

    message = (
        f"Run {run.number} already has procedure “Bracket build v1”; a run's procedure cannot be changed."
    )
    assert body["detail"] == message
    assert body["errors"] == [{"row": None, "field": "procedure", "message": message}]
    run.refresh_from_db()
    assert run.procedure_version == version


@pytest.mark.parametrize("status", [RunStatus.IN_PROGRESS, RunStatus.COMPLETE, RunStatus.CANCELED])
def test_a_started_or_closed_run_is_a_409(api, bare_run, version, status):
    Run.objects.filter(pk=bare_run.pk).update(status=status)

    body = refused(api.post(url(bare_run), {"procedure": version.pk}), 409)

    assert "a run that has started, completed or been canceled cannot change procedure" in body["detail"]
    nothing_added(bare_run)


def test_operators_are_forbidden(operator, bare_run, version):
    body = refused(api_client_for(operator).post(url(bare_run), {"procedure": version.pk}), 403)
    assert "runs.add_run" in body["detail"]
    nothing_added(bare_run)


def test_a_run_or_version_you_cannot_see_is_a_404(
    api, planner, uncleared_planner, outsider, part, org, other_org
):
    (hidden,) = create_runs(user=planner, requests=[RunRequest(part_id=part.pk, export_controlled=True)])
    (plain,) = create_runs(user=planner, requests=[RunRequest(part_id=part.pk)])
    controlled = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], export_controlled=True
    )
    foreign = factories.ReleasedVersionFactory(procedure__organisation=other_org)
    uncleared = api_client_for(uncleared_planner)

    assert (
        "No run with this number"
        in refused(uncleared.post(url(hidden), {"procedure": controlled.pk}), 404)["detail"]
    )
    assert (
        "No run with this number"
        in refused(api_client_for(outsider).post(url(plain), {"procedure": foreign.pk}), 404)["detail"]
    )
    assert refused(uncleared.post(url(plain), {"procedure": controlled.pk}), 404)["detail"] == (
        f"No procedure with id {controlled.pk} is visible to you."
    )
    assert refused(api.post(url(plain), {"procedure": foreign.pk}), 404)["detail"] == (
        f"No procedure with id {foreign.pk} is visible to you."
    )
    assert refused(api.post("/api/v1/runs/999999/procedure", {"procedure": foreign.pk}), 404)
    nothing_added(hidden, plain)


def test_an_export_controlled_version_makes_the_run_controlled(api, bare_run, org, part):
    secret = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], export_controlled=True
    )

    assert api.post(url(bare_run), {"procedure": secret.pk}).json()["export_controlled"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (lambda v: {}, "procedure"),
        (lambda v: {"procedure": str(v.pk)}, "procedure"),
        (lambda v: {"procedure": True}, "procedure"),
        (lambda v: {"procedure": v.pk + 0.5}, "procedure"),
        (lambda v: {"procedure": 0}, "procedure"),
        (lambda v: {"procedure": 2**31}, "procedure"),
        (lambda v: {"procedure": None}, "procedure"),
        (lambda v: {"procedure": v.pk, "steps": []}, "steps"),
    ],
)
def test_the_version_id_is_a_json_integer(api, bare_run, version, body, field):
    answer = refused(api.post(url(bare_run), body(version)), 422)

    assert [error["field"] for error in answer["errors"]] == [field]
    nothing_added(bare_run)


def test_no_token_is_a_401(bare_run, version):
    response = Client().post(url(bare_run), {"procedure": version.pk}, content_type="application/json")
    assert response.status_code == 401
    nothing_added(bare_run)
