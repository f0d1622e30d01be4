"""No existence oracle for export-controlled names (issue 22).

An uncleared planner's answer for the name of a batch hidden from them must equal their answer
for a name nobody uses, at every door: the batch pages, the wizard's Review, the importer and the
API. Batch names are unique per organisation and export-control scope, so the hidden name is
simply free for them. Serials stay unique in the whole organisation (a serial names one physical
unit), so a hidden unit's serial is refused, in the very words a visible unit's would be.
"""

import re

import pytest
from django.urls import reverse

from runs.models import Run, RunBatch, RunDraft
from runs.services import (
    RunChangeError,
    RunRequest,
    add_runs_to_batch,
    create_batch,
    create_runs,
    remove_run_from_batch,
)
from tests import factories
from tests.api.conftest import api_client_for
from tests.runs.spreadsheet_files import csv_file
from tests.runs.test_import import review_driver
from tests.runs.wizard_steps import WizardDriver

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def part(org):
    return factories.PartFactory(organisation=org, number="BRKT-100", revision="A")


@pytest.fixture
def secret_part(org):
    return factories.PartFactory(organisation=org, number="ITAR-GUIDANCE", export_controlled=True)


@pytest.fixture
def hidden_batch(planner, part):
    """“Secret”: a batch holding an export-controlled run, hidden from the uncleared."""
    create_runs(
        user=planner, requests=[RunRequest(part_id=part.pk, export_controlled=True)], batch_name="Secret"
    )
    return RunBatch.objects.get(name="Secret")


@pytest.fixture
def uncleared_client(client, uncleared_planner):
    client.force_login(uncleared_planner)
    return client


def said(response, name: str) -> list[str]:
    """What the page tells the planner (notices, alerts, field errors), with `name` as NAME."""
    html = response.content.decode().replace(name, "NAME")
    return re.findall(r'<[^>]+(?:role="(?:status|alert)"|class="field-error")[^>]*>([^<]*)<', html)


def new_batch(name: str) -> RunBatch:
    return RunBatch.objects.exclude(runs__export_controlled=True).get(name=name)


def test_the_hidden_batch_is_hidden(hidden_batch, uncleared_planner):
    assert hidden_batch.export_controlled
    assert not RunBatch.objects.visible_to(uncleared_planner).exists()


def test_a_new_batch_may_take_a_hidden_name_as_a_fresh_one(uncleared_client, hidden_batch):
    for name in ("Secret", "Fresh"):
        response = uncleared_client.post(reverse("runs:batch-new"), {"name": name})
        assert response.status_code == 302
        assert response.url == reverse("runs:batch", args=[new_batch(name).pk])
    # Any case: "SECRET" is the hidden name too.
    assert uncleared_client.post(reverse("runs:batch-new"), {"name": "SECRET"}).status_code == 200


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_a_batch_may_be_renamed_to_a_hidden_name_as_to_a_fresh_one(
    uncleared_client, uncleared_planner, hidden_batch, headers
):
    mine = create_batch(actor=uncleared_planner, name="Mine")
    url = reverse("runs:batch-rename", args=[mine.pk])
    answers = []
    for was, name in (("Mine", "Fresh"), ("Fresh", "Secret")):
        response = uncleared_client.post(url, {"name": name, "seen": was}, **headers)
        answers.append((response.status_code, response.get("Location"), said(response, name)))
        mine.refresh_from_db()
        assert mine.name == name
    assert answers[0] == answers[1]


def test_review_creates_a_batch_of_a_hidden_name_as_of_a_fresh_one(uncleared_client, hidden_batch, part):
    for name in ("Secret", "Fresh"):
        wizard = WizardDriver(uncleared_client)
        wizard.author(part=part)
        response = wizard.create(batch_name=name)
        assert response.status_code == 302, response.context["wizard"]["form"].errors
        assert new_batch(name).runs.count() == 1


def test_an_import_naming_a_hidden_batch_creates_it_as_a_fresh_one(uncleared_client, hidden_batch, part):
    for name in ("Secret", "Fresh"):
        row = {"part.number": part.number, "part.revision": part.revision, "batch_name": name}
        review_url = uncleared_client.post(reverse("runs:import"), {"file": csv_file([row])}).url
        review = uncleared_client.get(review_url)
        assert "already exists" not in review.content.decode()
        form = review.context["wizard"]["form"]
        assert (form["batch"].value(), form["batch_name"].value()) == (True, name)
        assert review_driver(uncleared_client, review_url).create(batch_name=name).status_code == 302
        assert new_batch(name).runs.count() == 1
    assert not RunDraft.objects.exists()


def test_the_api_creates_a_batch_of_a_hidden_name_as_of_a_fresh_one(uncleared_planner, hidden_batch, part):
    api = api_client_for(uncleared_planner)
    answers = []
    for name in ("Secret", "Fresh"):
        response = api.post("/api/v1/runs", {"batch_name": name, "runs": [{"part": part.pk}]})
        assert response.status_code == 201, response.json()
        answers.append(response.json()["batch"]["name"])
        assert new_batch(name).runs.count() == 1
    assert answers == ["Secret", "Fresh"]


def test_a_visible_name_is_still_refused_at_every_door(uncleared_client, uncleared_planner, part):
    create_batch(actor=uncleared_planner, name="Taken")
    assert (
        "A batch named “taken” already exists."
        in uncleared_client.post(reverse("runs:batch-new"), {"name": "taken"}).content.decode()
    )
    wizard = WizardDriver(uncleared_client)
    wizard.author(part=part)
    errors = wizard.create(batch_name="TAKEN").context["wizard"]["form"].errors["batch_name"]
    assert errors == ["A batch named “TAKEN” already exists."]
    response = api_client_for(uncleared_planner).post(
        "/api/v1/runs", {"batch_name": "Taken", "runs": [{"part": part.pk}]}
    )
    assert response.json()["batch_errors"] == ["A batch named “Taken” already exists."]


def test_the_cleared_are_refused_a_name_any_batch_they_see_holds(
    planner, part, hidden_batch, uncleared_planner
):
    create_batch(actor=uncleared_planner, name="Open")
    with pytest.raises(RunChangeError, match="A batch named “Open” already exists"):
        create_batch(actor=planner, name="Open")
    with pytest.raises(RunChangeError, match="A batch named “secret” already exists"):
        create_batch(actor=planner, name="secret")


def test_a_batch_cannot_move_into_a_scope_that_holds_its_name(planner, uncleared_planner, part, hidden_batch):
    """Two “Secret”s, one of each scope: neither may become the other's kind."""
    twin = create_batch(actor=uncleared_planner, name="Secret")
    controlled = create_runs(user=planner, requests=[RunRequest(part_id=part.pk, export_controlled=True)])
    with pytest.raises(RunChangeError, match="would then hold export-controlled runs"):
        add_runs_to_batch(actor=planner, batch=twin, runs=controlled)
    with pytest.raises(RunChangeError, match="would then hold no export-controlled run"):
        remove_run_from_batch(actor=planner, batch=hidden_batch, run=hidden_batch.runs.get())
    twin.refresh_from_db(), hidden_batch.refresh_from_db()
    assert (twin.export_controlled, hidden_batch.export_controlled) == (False, True)
    assert hidden_batch.runs.count() == 1 and not twin.runs.exists()


def test_the_scope_follows_the_runs(planner, part):
    batch = create_batch(actor=planner, name="Week 12")
    plain, controlled = (
        create_runs(user=planner, requests=[RunRequest(part_id=part.pk, export_controlled=flag)])[0]
        for flag in (False, True)
    )
    add_runs_to_batch(actor=planner, batch=batch, runs=[plain])
    assert not RunBatch.objects.get(pk=batch.pk).export_controlled
    add_runs_to_batch(actor=planner, batch=batch, runs=[controlled])
    assert RunBatch.objects.get(pk=batch.pk).export_controlled
    remove_run_from_batch(actor=planner, batch=batch, run=controlled)
    assert not RunBatch.objects.get(pk=batch.pk).export_controlled


def test_adding_a_controlled_procedure_moves_the_batch(planner, org, part, client):
    secret = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], export_controlled=True
    )
    runs = create_runs(user=planner, requests=[RunRequest(part_id=part.pk)] * 2, batch_name="Later")
    client.force_login(planner)
    response = client.post(
        reverse("runs:run-procedure", args=[runs[0].number]), {"procedure-procedure": secret.pk}
    )
    assert response.status_code in (200, 302)
    assert set(Run.objects.values_list("export_controlled", flat=True)) == {True}
    assert RunBatch.objects.get(name="Later").export_controlled


# Serials: one unit per serial in the organisation, so a refusal is unavoidable; it must read
# the same for a hidden unit as for a visible one.


@pytest.fixture
def units(part, secret_part):
    factories.PartInventoryFactory(part=part, serial_number="SN-OPEN")
    factories.PartInventoryFactory(part=secret_part, serial_number="SN-HIDDEN")


def same_words(errors: list[str], serial: str) -> list[str]:
    return [error.replace(serial, "SN") for error in errors]


def test_the_wizard_refuses_a_hidden_units_serial_as_a_visible_ones(uncleared_client, part, units):
    answers = []
    for serial in ("SN-OPEN", "SN-HIDDEN"):
        wizard = WizardDriver(uncleared_client)
        wizard.post("source", {"source": "build"})
        wizard.post("part", {"part": part.pk})
        response = wizard.post("identify", {"serial_number": serial})
        answers.append(same_words(response.context["wizard"]["form"].errors["serial_number"], serial))
    assert answers[0] == answers[1] == ["Serial number SN is already used in inventory."]


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_a_review_row_refuses_a_hidden_units_serial_as_a_visible_ones(uncleared_client, part, units, headers):
    wizard = WizardDriver(uncleared_client)
    wizard.author(part=part)
    draft = RunDraft.objects.get()
    answers = []
    for serial in ("SN-OPEN", "SN-HIDDEN"):
        response = uncleared_client.post(
            reverse("runs:draft-row", args=[draft.pk]) + f"?wizard={wizard.wizard_id}",
            {
                "action": "save",
                "identify-tracking_type": "serial",
                "identify-serial_number": serial,
                "details-name_auto": "on",
            },
            **headers,
        )
        answers.append(said(response, serial))
    assert answers[0] == answers[1]
    assert "Serial number NAME is already used in inventory." in answers[0]


def test_the_api_and_the_importer_refuse_a_hidden_units_serial_as_a_visible_ones(
    uncleared_client, uncleared_planner, part, units
):
    api = api_client_for(uncleared_planner)
    answers = []
    for serial in ("SN-OPEN", "SN-HIDDEN"):
        body = api.post("/api/v1/runs", {"runs": [{"part": part.pk, "serial_number": serial}]}).json()
        answers.append([same_words([error["message"]], serial) for error in body["errors"]])
        row = {"part.number": part.number, "part.revision": part.revision, "serial_number": serial}
        uncleared_client.post(reverse("runs:import"), {"file": csv_file([row])})
    assert answers[0] == answers[1]
    imported = [draft.data["import_problems"] for draft in RunDraft.objects.order_by("position")]
    assert same_words(imported[0], "SN-OPEN") == same_words(imported[1], "SN-HIDDEN")


def test_the_cleared_are_told_which_part_holds_the_serial(planner_client, part, units):
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    wizard.post("part", {"part": part.pk})
    response = wizard.post("identify", {"serial_number": "SN-HIDDEN"})
    assert response.context["wizard"]["form"].errors["serial_number"] == [
        "Serial number SN-HIDDEN is already used by ITAR-GUIDANCE in inventory."
    ]
