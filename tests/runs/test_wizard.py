import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from inventory.models import InventoryStatus, TrackingType
from runs.models import Run, RunDraft, RunSource
from tests import factories
from tests.runs.wizard_steps import WizardDriver

pytestmark = pytest.mark.django_db


@pytest.fixture
def part(org):
    return factories.PartFactory(organisation=org, number="BRKT-ASSY-001")


@pytest.fixture
def version(org, part):
    return factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=3)


def errors(response, field):
    return response.context["wizard"]["form"].errors[field]


def test_it_creates_a_serialized_run_through_all_five_steps(planner_client, part, version):
    wizard = WizardDriver(planner_client)
    for step in ("source",):
        assert wizard.get(step).status_code == 200
    response = wizard.author(part=part, procedure=version)
    assert response.url == wizard.url("review")
    review = wizard.get("review")
    assert review.status_code == 200
    assert "Create run" in review.content.decode()

    response = wizard.create()

    run = Run.objects.get()
    assert response.url == reverse("runs:created", args=[run.creation_token])
    assert run.name == "Run 1: BRKT-ASSY-001 · SN-00001"
    assert run.procedure_version == version
    assert [s.title for s in run.steps.all()] == ["Step 1", "Step 2", "Step 3"]
    assert not RunDraft.objects.exists()
    page = planner_client.get(response.url).content.decode()
    assert "1 run created" in page and "SN-00001" in page


def test_it_marks_the_current_step_and_locks_unreached_ones(planner_client):
    page = WizardDriver(planner_client).get("source").content.decode()
    current = '<span class="step-number"></span><span class="step-label">Source</span>'
    assert f'<span aria-current="step">{current}</span>' in page
    assert 'value="identify"' not in page


def test_it_does_not_open_a_step_not_yet_reached(planner_client):
    wizard = WizardDriver(planner_client)
    wizard.get("source")
    response = wizard.get("details")
    assert response.status_code == 302
    assert response.url == wizard.url("source")


def test_jumping_back_with_the_stepper_keeps_what_was_typed(planner_client, part, version):
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    wizard.post("part", {"part": part.pk, "procedure": version.pk})
    response = wizard.post("identify", {"serial_number": "SN-TYPED-7"}, wizard_goto_step="source")
    assert response.url == wizard.url("source")
    page = wizard.get("identify").content.decode()
    assert 'value="SN-TYPED-7"' in page


def test_reloading_a_step_keeps_the_draft(planner_client, part, version):
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    wizard.post("part", {"part": part.pk, "procedure": version.pk})
    for _ in range(2):
        response = wizard.get("part")
        assert response.context["selected_part"] == part
        assert response.context["wizard"]["form"]["procedure"].value() == str(version.pk)


def test_two_tabs_keep_separate_drafts(planner_client, org, part, version):
    other = factories.PartFactory(organisation=org, tracking_type=TrackingType.NONE)
    first, second = WizardDriver(planner_client), WizardDriver(planner_client)
    first.post("source", {"source": "build"})
    second.post("source", {"source": "build"})
    first.post("part", {"part": part.pk, "procedure": ""})
    second.post("part", {"part": other.pk, "procedure": ""})
    assert first.get("part").context["selected_part"] == part
    assert second.get("part").context["selected_part"] == other


def test_rows_survive_a_lost_session(client, planner, part, version):
    client.force_login(planner)
    WizardDriver(client).author(part=part, procedure=version)
    client.logout()
    client.force_login(planner)
    review = WizardDriver(client)
    review.post("source", {"source": "build"})
    assert len(review.get("review").context["rows"]) == 1


def test_it_searches_parts_with_htmx(planner_client, org):
    factories.PartFactory(organisation=org, number="VALVE-9", description="Relief valve")
    factories.PartFactory(organisation=org, number="BOLT-1", description="Hex bolt")
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    response = planner_client.get(wizard.url("part"), {"q": "relief"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "VALVE-9" in body and "BOLT-1" not in body
    assert "<html" not in body


def test_it_searches_parts_without_javascript(planner_client, org):
    factories.PartFactory(organisation=org, number="VALVE-9", description="Relief valve")
    factories.PartFactory(organisation=org, number="BOLT-1", description="Hex bolt")
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    body = planner_client.get(wizard.url("part"), {"q": "bolt", "search": ""}).content.decode()
    assert "BOLT-1" in body and "VALVE-9" not in body and "<html" in body


def test_it_lists_only_runnable_procedures_of_the_part(planner_client, org, part, version):
    factories.ProcedureVersionFactory(procedure__organisation=org, parts=[part], title="Draft only")
    factories.ReleasedVersionFactory(procedure__organisation=org, title="Other part's")
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    body = planner_client.get(wizard.url("part"), {"part": part.pk}, HTTP_HX_REQUEST="true")
    assert list(body.context["procedures"]) == [version]


def test_it_says_when_a_part_has_no_procedures(planner_client, org):
    lonely = factories.PartFactory(organisation=org)
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    body = planner_client.get(wizard.url("part"), {"part": lonely.pk}, HTTP_HX_REQUEST="true")
    assert "No procedures available for this part" in body.content.decode()


def test_it_refuses_a_procedure_not_linked_to_the_part(planner_client, org, part):
    unlinked = factories.ReleasedVersionFactory(procedure__organisation=org, title="Paint")
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    response = wizard.post("part", {"part": part.pk, "procedure": unlinked.pk})
    assert response.status_code == 200
    assert errors(response, "procedure") == [f"Procedure “Paint v1” is not linked to part {part}."]


def test_it_refuses_an_unreleased_procedure(planner_client, org, part):
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, parts=[part])
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    response = wizard.post("part", {"part": part.pk, "procedure": draft.pk})
    assert errors(response, "procedure")[0].startswith("Procedure has unreleased steps")


def test_it_rejects_another_organisations_part(planner_client, other_org):
    foreign = factories.PartFactory(organisation=other_org)
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    response = wizard.post("part", {"part": foreign.pk, "procedure": ""})
    assert errors(response, "part") == ["That part is not one of your organisation's."]


def test_it_hides_export_controlled_parts_from_uncleared_planners(client, uncleared_planner, org):
    secret = factories.PartFactory(organisation=org, number="ITAR-1", export_controlled=True)
    client.force_login(uncleared_planner)
    wizard = WizardDriver(client)
    wizard.post("source", {"source": "build"})
    listed = client.get(wizard.url("part"), {"q": "ITAR"}, HTTP_HX_REQUEST="true").content.decode()
    assert "ITAR-1" not in listed
    response = wizard.post("part", {"part": secret.pk, "procedure": ""})
    assert "part" in response.context["wizard"]["form"].errors


def test_a_typed_serial_already_in_inventory_is_refused_at_the_field(planner_client, org, part, version):
    factories.PartInventoryFactory(part=part, serial_number="SN-0042")
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    wizard.post("part", {"part": part.pk, "procedure": version.pk})
    response = wizard.post("identify", {"serial_number": "SN-0042"})
    assert errors(response, "serial_number") == [
        f"Serial number SN-0042 is already used by {part.number} in inventory."
    ]


def test_a_serial_taken_by_an_export_controlled_part_is_refused_without_naming_it(
    client, uncleared_planner, org
):
    secret = factories.PartFactory(organisation=org, number="ITAR-GUIDANCE", export_controlled=True)
    factories.PartInventoryFactory(part=secret, serial_number="SN-0042")
    part = factories.PartFactory(organisation=org, number="BRKT-OPEN")
    client.force_login(uncleared_planner)
    wizard = WizardDriver(client)
    wizard.post("source", {"source": "build"})
    wizard.post("part", {"part": part.pk})
    response = wizard.post("identify", {"serial_number": "SN-0042"})
    assert errors(response, "serial_number") == ["Serial number SN-0042 is already used in inventory."]
    assert "ITAR" not in response.content.decode()


def test_an_anonymous_visitor_of_a_wizard_step_is_sent_to_log_in_and_back(client):
    url = reverse("runs:wizard-step", kwargs={"wizard_id": "abcdefgh123", "step": "part"})
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('accounts:login')}?next={url}"


def test_a_signed_in_user_without_the_create_permission_is_refused_a_wizard_step(client, operator):
    client.force_login(operator)
    url = reverse("runs:wizard-step", kwargs={"wizard_id": "abcdefgh123", "step": "part"})
    assert client.get(url).status_code == 403


def test_a_typed_serial_on_another_review_row_is_refused(planner_client, part, version):
    WizardDriver(planner_client).author(part=part, procedure=version, identify={"serial_number": "SN-0100"})
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    wizard.post("part", {"part": part.pk, "procedure": version.pk})
    response = wizard.post("identify", {"serial_number": "SN-0100"})
    assert errors(response, "serial_number") == [
        "Serial number SN-0100 is already on another row in this review."
    ]


def test_attach_refuses_units_that_cannot_take_a_run(planner_client, org, part, version):
    scrapped = factories.PartInventoryFactory(part=part, status=InventoryStatus.SCRAPPED)
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": RunSource.ATTACH})
    wizard.post("part", {"part": part.pk, "procedure": version.pk})
    response = wizard.post("identify", {"inventory": scrapped.pk})
    assert errors(response, "inventory")[0].startswith(
        "Part inventory is not in a state that allows a new run"
    )


def test_attach_creates_a_run_on_the_unit(planner_client, part, version):
    unit = factories.PartInventoryFactory(part=part, serial_number="SN-ON-FLOOR")
    WizardDriver(planner_client).author(
        source=RunSource.ATTACH, part=part, procedure=version, identify={"inventory": unit.pk}
    )
    WizardDriver(planner_client).create()
    run = Run.objects.get()
    unit.refresh_from_db()
    assert run.part_inventory == unit and run.source == RunSource.ATTACH
    assert unit.status == InventoryStatus.WIP


def test_a_lot_run_keeps_its_quantity(planner_client, org):
    part = factories.PartFactory(organisation=org, tracking_type=TrackingType.LOT)
    WizardDriver(planner_client).author(part=part, identify={"lot_auto": "on", "quantity": 25})
    WizardDriver(planner_client).create()
    unit = Run.objects.get().part_inventory
    assert unit.quantity == 25 and unit.lot_number.startswith("LOT-")


def test_details_requires_a_name_unless_auto(planner_client, part, version):
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    wizard.post("part", {"part": part.pk, "procedure": version.pk})
    wizard.post("identify", {"serial_auto": "on"})
    response = wizard.post("details", {"name": ""})
    assert errors(response, "name") == ["Type a run name or check Auto-generated."]


def test_details_forces_export_control_for_controlled_parts(planner_client, org):
    part = factories.PartFactory(organisation=org, export_controlled=True)
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    wizard.post("part", {"part": part.pk, "procedure": ""})
    wizard.post("identify", {"serial_auto": "on"})
    field = wizard.get("details").context["wizard"]["form"]["export_controlled"]
    assert field.field.disabled and field.value() is True


def test_details_hides_export_control_from_uncleared_planners(client, uncleared_planner, org):
    part = factories.PartFactory(organisation=org)
    client.force_login(uncleared_planner)
    wizard = WizardDriver(client)
    wizard.post("source", {"source": "build"})
    wizard.post("part", {"part": part.pk, "procedure": ""})
    wizard.post("identify", {"serial_auto": "on"})
    assert "export_controlled" not in wizard.get("details").context["wizard"]["form"].fields


def test_details_validates_custom_attributes_by_type(planner_client, org, part, version):
    factories.RunAttributeDefinitionFactory(organisation=org, key="po", label="Customer PO", required=True)
    factories.RunAttributeDefinitionFactory(organisation=org, key="temp", label="Oven temp", type="number")
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    wizard.post("part", {"part": part.pk, "procedure": version.pk})
    wizard.post("identify", {"serial_auto": "on"})
    response = wizard.post("details", {"name_auto": "on", "attr_temp": "hot"})
    form = response.context["wizard"]["form"]
    assert form.errors["attr_po"] == ["This field is required."]
    assert form.errors["attr_temp"] == ["Enter a number."]
    response = wizard.post("details", {"name_auto": "on", "attr_po": "PO-77", "attr_temp": "180.5"})
    assert response.status_code == 302
    assert RunDraft.objects.get().data["attributes"] == {"po": "PO-77", "temp": "180.5"}


def test_a_yes_no_attribute_sits_beside_its_label(planner_client, org, part, version):
    factories.RunAttributeDefinitionFactory(
        organisation=org, key="first_article", label="First article", type="boolean"
    )
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    wizard.post("part", {"part": part.pk, "procedure": version.pk})
    wizard.post("identify", {"serial_auto": "on"})
    body = wizard.get("details").content.decode()
    checkbox = r'<label class="inline-check"><input type="checkbox" name="details-attr_first_article"[^>]*>'
    assert re.search(checkbox, body) and "> First article</label>" in body


def test_details_assigns_to_a_team(planner_client, org, part, version):
    team = factories.TeamFactory(organisation=org, name="Final Assembly")
    WizardDriver(planner_client).author(
        part=part, procedure=version, details={"assigned_to": f"team:{team.pk}"}
    )
    WizardDriver(planner_client).create()
    assert Run.objects.get().assigned_team == team


def test_details_refuses_another_organisations_team(planner_client, other_org, part, version):
    foreign = factories.TeamFactory(organisation=other_org)
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    wizard.post("part", {"part": part.pk, "procedure": version.pk})
    wizard.post("identify", {"serial_auto": "on"})
    response = wizard.post("details", {"name_auto": "on", "assigned_to": f"team:{foreign.pk}"})
    assert "assigned_to" in response.context["wizard"]["form"].errors


def test_the_procedure_page_prefills_procedure_and_its_only_part(planner_client, part, version):
    wizard = WizardDriver(planner_client, f"?procedure={version.pk}")
    wizard.post("source", {"source": "build"})
    form = wizard.get("part").context["wizard"]["form"]
    assert form["part"].value() == part.pk and form["procedure"].value() == version.pk


def test_the_inventory_page_prefills_attach_and_the_unit(planner_client, part):
    unit = factories.PartInventoryFactory(part=part)
    wizard = WizardDriver(planner_client, f"?inventory={unit.pk}")
    assert wizard.get("source").context["wizard"]["form"]["source"].value() == RunSource.ATTACH
    wizard.post("source", {"source": RunSource.ATTACH})
    assert wizard.get("part").context["wizard"]["form"]["part"].value() == part.pk
    wizard.post("part", {"part": part.pk, "procedure": ""})
    assert wizard.get("identify").context["selected_unit"] == unit


def test_the_schedule_prefills_the_due_date(planner_client, part):
    wizard = WizardDriver(planner_client, "?due=2026-12-24")
    wizard.post("source", {"source": "build"})
    wizard.post("part", {"part": part.pk, "procedure": ""})
    wizard.post("identify", {"serial_auto": "on"})
    assert wizard.get("details").context["wizard"]["form"]["due_date"].value() == "2026-12-24"


def test_entry_points_refuse_other_organisations_ids(planner_client, other_org):
    foreign = factories.ReleasedVersionFactory(procedure__organisation=other_org)
    assert planner_client.get(reverse("runs:new"), {"procedure": foreign.pk}).status_code == 404


def test_it_requires_the_create_permission(client, operator):
    client.force_login(operator)
    assert client.get(reverse("runs:new")).status_code == 403


def test_it_requires_login(client):
    response = client.get(reverse("runs:new"))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_pressing_create_twice_creates_once(planner_client, part, version):
    wizard = WizardDriver(planner_client)
    wizard.author(part=part, procedure=version)
    review = wizard.get("review").context
    token, shown_rows = review["wizard"]["form"]["token"].value(), review["shown_rows"]
    first = wizard.create(token=token, shown_rows=shown_rows)
    second = wizard.create(token=token, shown_rows=shown_rows)
    assert Run.objects.count() == 1
    assert first.url == second.url


def test_create_time_problems_are_shown_on_the_row(planner_client, part, version):
    unit = factories.PartInventoryFactory(part=part)
    wizard = WizardDriver(planner_client)
    wizard.author(source=RunSource.ATTACH, part=part, procedure=version, identify={"inventory": unit.pk})
    unit.status = InventoryStatus.SCRAPPED
    unit.save()
    response = wizard.create()
    assert response.status_code == 200
    (row,) = response.context["rows"]
    assert row.problems[0].startswith("Part inventory is not in a state that allows a new run")
    assert not Run.objects.exists() and RunDraft.objects.count() == 1


def test_a_changed_source_sends_the_planner_back_to_identify(planner_client, part, version):
    wizard = WizardDriver(planner_client)
    wizard.author(part=part, procedure=version)
    wizard.post("source", {"source": RunSource.ATTACH})
    response = wizard.post("details", {"name_auto": "on"})
    assert response.url == wizard.url("identify")
    assert RunDraft.objects.get().data["source"] == "build"


def test_stale_drafts_can_be_purged(planner, part):
    fresh = factories.RunDraftFactory(owner=planner, data={"part": part.pk})
    stale = factories.RunDraftFactory(owner=planner, data={"part": part.pk})
    RunDraft.objects.filter(pk=stale.pk).update(updated_at="2020-01-01T00:00:00Z")
    call_command("purge_run_drafts", days=30)
    assert list(RunDraft.objects.all()) == [fresh]


def test_the_procedure_page_offers_its_parts_and_keeps_the_procedure(planner_client, org, version, part):
    second = factories.PartFactory(organisation=org, number="BRKT-ASSY-002")
    factories.PartFactory(organisation=org, number="UNRELATED-1")
    version.parts.add(second)
    wizard = WizardDriver(planner_client, f"?procedure={version.pk}")
    wizard.post("source", {"source": "build"})
    page = wizard.get("part")
    assert {p.number for p in page.context["parts"]} == {"BRKT-ASSY-001", "BRKT-ASSY-002"}
    choices = planner_client.get(wizard.url("part"), {"part": second.pk}, HTTP_HX_REQUEST="true")
    assert f'value="{version.pk}" checked' in choices.content.decode()


def test_a_fresh_wizard_at_review_marks_no_step_done(planner_client):
    wizard = WizardDriver(planner_client)
    review = wizard.get("review")
    assert review.status_code == 200
    states = {step["name"]: step["state"] for step in review.context["stepper"]}
    assert states == {
        "source": "open",
        "part": "locked",
        "identify": "locked",
        "details": "locked",
        "review": "open",
    }
    assert 'class="is-done"' not in review.content.decode()


def test_a_jump_past_a_missing_step_lands_on_it_with_a_message(planner_client):
    wizard = WizardDriver(planner_client)
    response = wizard.get("details", follow=True)
    assert response.redirect_chain[-1][0] == wizard.url("source")
    assert "Complete Source first: Details needs it." in response.content.decode()


def test_identify_after_a_part_change_shows_no_errors_and_no_old_unit(planner_client, org, part, version):
    unit = factories.PartInventoryFactory(part=part, serial_number="SN-OLD-1")
    other = factories.PartFactory(organisation=org, number="SEAL-OR-214", tracking_type=TrackingType.LOT)
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": RunSource.ATTACH})
    wizard.post("part", {"part": part.pk})
    wizard.post("identify", {"inventory": unit.pk})
    wizard.post("part", {"part": other.pk})

    identify = wizard.get("identify")

    assert identify.context["wizard"]["form"].errors == {}
    assert "SN-OLD-1" not in identify.content.decode()
    assert 'role="alert"' not in identify.content.decode()


def test_the_only_runnable_procedure_is_preselected_and_none_stays_a_choice(planner_client, part, version):
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    assert (
        wizard.get("part", data={"part": part.pk}, HTTP_HX_REQUEST="true").context["selected_procedure"]
        == version.pk
    )
    wizard.post("part", {"part": part.pk, "procedure": ""})
    assert wizard.get("part").context["selected_procedure"] in ("", None)


def test_from_a_procedure_with_several_parts_the_preselected_procedure_is_named(planner_client, org, part):
    second = factories.PartFactory(organisation=org, number="BRKT-ASSY-002")
    version = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part, second], title="Bracket build"
    )
    wizard = WizardDriver(planner_client, f"?procedure={version.pk}")
    wizard.post("source", {"source": "build"})
    body = wizard.get("part").content.decode()
    assert f"Bracket build · v{version.number}</b> is preselected" in body


def test_an_export_controlled_run_offers_and_accepts_only_cleared_assignees(planner_client, org):
    secret = factories.PartFactory(organisation=org, number="ITAR-1", export_controlled=True)
    uncleared = factories.OperatorFactory(organisation=org, username="uncleared-op", first_name="Zebulon")
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    wizard.post("part", {"part": secret.pk})
    wizard.post("identify", {"serial_auto": "on"})
    details = wizard.get("details")
    assert "Zebulon" not in details.content.decode()
    response = wizard.post("details", {"name_auto": "on", "assigned_to": f"user:{uncleared.pk}"})
    assert errors(response, "assigned_to") == [
        "Only export-cleared people can be assigned an export-controlled run."
    ]


def test_a_typed_lot_that_exists_for_the_part_is_refused_at_the_field(planner_client, org):
    seals = factories.PartFactory(organisation=org, number="SEAL-1", tracking_type=TrackingType.LOT)
    factories.PartInventoryFactory(part=seals, serial_number="", lot_number="L2600-17", quantity=40)
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    wizard.post("part", {"part": seals.pk})
    response = wizard.post("identify", {"lot_number": "L2600-17", "quantity": 5})
    assert errors(response, "lot_number") == ["Lot L2600-17 already exists for this part."]


def test_the_inventory_picker_names_a_units_open_run(planner_client, org, part, version):
    unit = factories.PartInventoryFactory(part=part, serial_number="SN-BUSY")
    run = factories.RunFactory(organisation=org, part=part, part_inventory=unit)
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": RunSource.ATTACH})
    wizard.post("part", {"part": part.pk, "procedure": ""})
    assert f"has open run #{run.number}" in wizard.get("identify").content.decode()


def test_quantity_zero_gets_one_error_not_two(planner_client, org):
    washers = factories.PartFactory(organisation=org, number="WSHR-1", tracking_type=TrackingType.NONE)
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    wizard.post("part", {"part": washers.pk})
    response = wizard.post("identify", {"quantity": 0})
    assert errors(response, "quantity") == ["Ensure this value is greater than or equal to 1."]


def test_searching_again_keeps_the_picked_part_on_top(planner_client, org, part, version):
    factories.PartFactory(organisation=org, number="SEAL-OR-214")
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    response = wizard.get("part", data={"q": "SEAL", "part-part": part.pk}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert f'value="{part.pk}" checked' in body
    assert "SEAL-OR-214" in body


def test_searching_without_javascript_sends_the_query_alone(planner_client, part):
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    body = wizard.get("part").content.decode()
    assert '<form id="picker-search" method="get" action=""></form>' in body
    assert 'formmethod="get"' not in body.split('id="part-results"')[0]
