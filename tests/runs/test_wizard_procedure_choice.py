"""The wizard's Part step: which procedure is picked, and why one cannot be."""

import pytest

from procedures.models import VersionStatus
from tests import factories
from tests.runs.wizard_steps import WizardDriver

pytestmark = pytest.mark.django_db

UNRELEASED = "Procedure has unreleased steps"


@pytest.fixture
def part(org):
    return factories.PartFactory(organisation=org, number="VALVE-9")


def picked(wizard, part):
    """The Part step's procedure choices once the planner picks `part` (htmx)."""
    response = wizard.client.get(wizard.url("part"), {"part": part.pk}, HTTP_HX_REQUEST="true")
    return response.content.decode()


def test_opened_from_a_version_in_review_the_part_step_says_why_and_what_to_do(planner_client, org, part):
    factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], title="Valve build")
    review = factories.ProcedureVersionFactory(
        procedure__organisation=org, parts=[part], title="Valve test", status=VersionStatus.IN_REVIEW
    )
    wizard = WizardDriver(planner_client, f"?procedure={review.pk}")
    wizard.post("source", {"source": "build"})
    body = wizard.get("part").content.decode()
    assert UNRELEASED in body
    assert "“Valve test v1” is in review. Release it in the procedures admin" in body
    assert "Or pick a released procedure below." in body


def test_opened_from_a_draft_with_an_unapproved_step_names_the_step(planner_client, org, part):
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, parts=[part], title="Valve build")
    draft.steps.filter(position=2).update(approved=False)
    wizard = WizardDriver(planner_client, f"?procedure={draft.pk}")
    wizard.post("source", {"source": "build"})
    body = wizard.get("part").content.decode()
    assert "“Valve build v1” is a draft and step 2 is not approved. Approve step 2 and release it" in body
    assert "No procedures available for this part" not in body


def test_a_part_whose_only_procedure_is_in_review_names_it(planner_client, org, part):
    factories.ProcedureVersionFactory(
        procedure__organisation=org, parts=[part], title="Valve build", status=VersionStatus.IN_REVIEW
    )
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    body = picked(wizard, part)
    assert UNRELEASED in body and "“Valve build v1” is in review." in body
    assert "No procedures available for this part" not in body
    # The planner may still go on without one.
    assert wizard.post("part", {"part": part.pk, "procedure": ""}).status_code == 302


def test_a_hidden_version_is_not_named(client, uncleared_planner, org, part):
    factories.ProcedureVersionFactory(
        procedure__organisation=org, parts=[part], title="ITAR build", export_controlled=True
    )
    client.force_login(uncleared_planner)
    wizard = WizardDriver(client)
    wizard.post("source", {"source": "build"})
    body = picked(wizard, part)
    assert "ITAR" not in body and "No procedures available for this part" in body


def test_with_two_procedures_nothing_is_preselected(planner_client, org, part):
    first = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], title="Valve build")
    factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], title="Valve test")
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    assert "checked" not in picked(wizard, part)

    response = wizard.post("part", {"part": part.pk})
    assert response.status_code == 200
    assert response.context["wizard"]["form"].errors["procedure"] == [
        "Pick a procedure, or “None — add one later”."
    ]
    body = response.content.decode()
    assert 'name="part-procedure" value="" checked' not in body

    assert wizard.post("part", {"part": part.pk, "procedure": ""}).status_code == 302
    assert 'name="part-procedure" value="" checked' in wizard.get("part").content.decode()
    assert wizard.post("part", {"part": part.pk, "procedure": first.pk}).status_code == 302
