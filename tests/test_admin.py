import re

import pytest
from django.urls import reverse

from inventory.models import Part, PartInventory
from ion_runs.accounts.models import Team, User
from procedures.models import ProcedureStep, ProcedureVersion, VersionStatus
from runs.models import Run, RunAttributeDefinition, RunBatch, RunDraft
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def org_admin(org):
    user = factories.UserFactory(
        organisation=org, username="curator", is_staff=True, export_cleared=True, groups=["Admin"]
    )
    return user


@pytest.fixture
def admin_user_client(client, org_admin):
    client.force_login(org_admin)
    return client


def changelist(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def change(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


@pytest.mark.parametrize(
    "factory",
    [
        factories.PartFactory,
        factories.PartInventoryFactory,
        factories.TeamFactory,
        factories.ReleasedVersionFactory,
        factories.RunAttributeDefinitionFactory,
        factories.RunFactory,
        factories.RunBatchFactory,
    ],
)
def test_changelists_and_change_pages_work(admin_client, factory):
    obj = factory()
    assert admin_client.get(changelist(type(obj))).status_code == 200
    assert admin_client.get(changelist(type(obj)), {"q": "x"}).status_code == 200
    assert admin_client.get(change(obj)).status_code == 200


def test_the_user_admin_shows_clearance_and_teams(admin_client, planner):
    body = admin_client.get(change(planner)).content.decode()
    assert "export_cleared" in body and "team membership" in body.lower()


def test_parts_are_searchable(admin_user_client, org, other_org):
    factories.PartFactory(organisation=org, number="VALVE-1")
    factories.PartFactory(organisation=org, number="BOLT-1")
    body = admin_user_client.get(changelist(Part), {"q": "valve"}).content.decode()
    assert "VALVE-1" in body and "BOLT-1" not in body


def test_an_org_admin_adds_a_part_to_their_organisation(admin_user_client, org):
    response = admin_user_client.post(
        reverse("admin:inventory_part_add"),
        {
            "number": "NEW-1",
            "revision": "A",
            "description": "New",
            "tracking_type": "lot",
            "serial_pattern": "",
            "lot_pattern": "",
        },
    )
    assert response.status_code == 302
    assert Part.objects.get(number="NEW-1").organisation == org


def test_a_duplicate_part_revision_gets_a_readable_error(admin_user_client, org):
    factories.PartFactory(organisation=org, number="DUP-1", revision="A")
    response = admin_user_client.post(
        reverse("admin:inventory_part_add"),
        {
            "number": "DUP-1",
            "revision": "A",
            "tracking_type": "serial",
        },
    )
    assert "Part DUP-1 already has a revision A." in response.content.decode()


def test_an_org_admin_never_sees_another_organisation(admin_user_client, other_org):
    foreign = factories.PartFactory(organisation=other_org, number="FOREIGN-1")
    assert "FOREIGN-1" not in admin_user_client.get(changelist(Part)).content.decode()
    assert admin_user_client.get(change(foreign)).status_code == 302  # "doesn't exist" redirect
    foreign_team = factories.TeamFactory(organisation=other_org)
    assert admin_user_client.get(change(foreign_team)).status_code == 302


def test_related_choices_are_scoped_to_the_organisation(admin_user_client, org, other_org):
    foreign = factories.PartFactory(organisation=other_org, number="FOREIGN-1")
    mine = factories.PartFactory(organisation=org, number="MINE-1")
    form = {"title": "Paint", "type": "build", "steps-TOTAL_FORMS": 0, "steps-INITIAL_FORMS": 0}
    response = admin_user_client.post(
        reverse("admin:procedures_procedureversion_add"), form | {"parts": [foreign.pk]}
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    response = admin_user_client.post(
        reverse("admin:procedures_procedureversion_add"),
        {
            "title": "Paint",
            "type": "build",
            "parts": [mine.pk],
            "steps-TOTAL_FORMS": 0,
            "steps-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302
    version = ProcedureVersion.objects.get(title="Paint")
    assert version.organisation == org and version.number == 1 and version.status == "draft"


def test_release_and_new_revision_actions(admin_user_client, org):
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, steps=2)
    url = changelist(ProcedureVersion)
    admin_user_client.post(url, {"action": "release", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == VersionStatus.RELEASED
    admin_user_client.post(url, {"action": "new_revision", "_selected_action": [draft.pk]})
    assert draft.procedure.versions.get(number=2).status == VersionStatus.DRAFT


def test_release_reports_unapproved_steps_as_a_message(admin_user_client, org):
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, steps=2)
    draft.steps.filter(position=2).update(approved=False)
    response = admin_user_client.post(
        changelist(ProcedureVersion), {"action": "release", "_selected_action": [draft.pk]}, follow=True
    )
    assert "Procedure has unreleased steps" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT


def test_released_versions_are_read_only(admin_user_client, org):
    released = factories.ReleasedVersionFactory(procedure__organisation=org, steps=1)
    body = admin_user_client.get(change(released)).content.decode()
    assert 'name="title"' not in body
    step = released.steps.get()
    assert admin_user_client.post(change(step), {"title": "Changed"}).status_code == 403


def test_attribute_definitions_can_be_added(admin_user_client, org):
    response = admin_user_client.post(
        reverse("admin:runs_runattributedefinition_add"),
        {
            "key": "po",
            "label": "Customer PO",
            "type": "text",
            "options": "[]",
            "position": 0,
        },
    )
    assert response.status_code == 302
    assert RunAttributeDefinition.objects.get(key="po").organisation == org


def test_teams_are_curated_with_members(admin_user_client, org, planner):
    response = admin_user_client.post(
        reverse("admin:accounts_team_add"), {"name": "Night shift", "members": [planner.pk]}
    )
    assert response.status_code == 302
    assert list(Team.objects.get(name="Night shift").members.all()) == [planner]


@pytest.mark.parametrize(
    "factory", [factories.PartInventoryFactory, factories.RunFactory, factories.ReleasedVersionFactory]
)
def test_changelists_do_not_query_per_row(admin_client, factory, django_assert_max_num_queries):
    factory.create_batch(30)
    model = factory._meta.model
    with django_assert_max_num_queries(15):
        assert admin_client.get(changelist(model)).status_code == 200


# Organisation admins: what they see, what they can pick, what they can add.


def management_forms(response, **overrides) -> dict:
    """Empty inline management forms for a POST to an admin add or change page."""
    prefixes = re.findall(r'name="([^"]+)-TOTAL_FORMS"', response.content.decode())
    data = {}
    for prefix in prefixes:
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
    return data | overrides


def test_an_org_admin_adds_a_user_to_their_organisation(admin_user_client, org):
    url = reverse("admin:accounts_user_add")
    page = admin_user_client.get(url)
    assert 'name="organisation"' not in page.content.decode()
    assert 'name="is_superuser"' not in page.content.decode()
    response = admin_user_client.post(
        url,
        management_forms(
            page,
            username="newbie",
            usable_password="true",
            password1="a-long-demo-passphrase",
            password2="a-long-demo-passphrase",
            export_cleared="on",
        ),
    )
    assert response.status_code == 302
    newbie = User.objects.get(username="newbie")
    assert (newbie.organisation, newbie.export_cleared, newbie.is_superuser) == (org, True, False)
    assert newbie.check_password("a-long-demo-passphrase")


def test_an_org_admin_finds_their_people_only(admin_user_client, org, other_org, planner, outsider):
    factories.UserFactory(organisation=org, username="root", is_superuser=True, is_staff=True)
    factories.TeamFactory(organisation=other_org, name="Globex night shift", members=[outsider])
    factories.TeamFactory(organisation=org, name="Final Assembly", members=[planner])
    body = admin_user_client.get(changelist(User)).content.decode()
    assert "planner" in body and "Final Assembly" in body  # the teams filter
    assert "outsider" not in body and "Globex night shift" not in body and "root" not in body
    assert "planner" in admin_user_client.get(changelist(User), {"q": "plan"}).content.decode()
    assert admin_user_client.get(change(planner)).status_code == 200
    assert admin_user_client.get(change(outsider)).status_code == 302
    root = User.objects.get(username="root")
    assert admin_user_client.get(change(root)).status_code == 302


def test_team_members_are_picked_from_the_organisation(admin_user_client, org, planner, outsider):
    page = admin_user_client.get(reverse("admin:accounts_team_add")).content.decode()
    assert f'value="{planner.pk}"' in page and f'value="{outsider.pk}"' not in page
    response = admin_user_client.post(
        reverse("admin:accounts_team_add"), {"name": "Mixed", "members": [planner.pk, outsider.pk]}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Team.objects.filter(name="Mixed").exists()


def test_an_org_admin_curates_inventory(admin_user_client, org, other_org):
    part = factories.PartFactory(organisation=org, number="VLV-9", tracking_type="lot")
    foreign = factories.PartFactory(organisation=other_org, number="FOREIGN-9")
    url = reverse("admin:inventory_partinventory_add")
    unit = {"serial_number": "", "lot_number": "L-77", "quantity": 40, "location": "Cage 3"}
    response = admin_user_client.post(url, unit | {"part": foreign.pk, "status": "available"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    response = admin_user_client.post(url, unit | {"part": part.pk, "status": "available"})
    assert response.status_code == 302
    lot = PartInventory.objects.get(lot_number="L-77")
    assert (lot.organisation, lot.part, lot.quantity) == (org, part, 40)

    factories.PartInventoryFactory(part=part, serial_number="", lot_number="L-88", quantity=3)
    factories.PartInventoryFactory(part=foreign, serial_number="SN-FOREIGN")
    for term, found in [("L-77", {"L-77"}), ("VLV-9", {"L-77", "L-88"}), ("SN-FOREIGN", set())]:
        listed = admin_user_client.get(changelist(PartInventory), {"q": term}).context["cl"].result_list
        assert {unit.lot_number for unit in listed} == found


def test_part_search_boxes_only_offer_the_organisations_parts(admin_user_client, org, other_org):
    factories.PartFactory(organisation=org, number="SHARED-1")
    factories.PartFactory(organisation=other_org, number="SHARED-2")
    for model_name, field in [("partinventory", "part"), ("procedureversion", "parts")]:
        app = "inventory" if model_name == "partinventory" else "procedures"
        response = admin_user_client.get(
            reverse("admin:autocomplete"),
            {"app_label": app, "model_name": model_name, "field_name": field, "term": "SHARED"},
        )
        assert [r["text"] for r in response.json()["results"]] == ["SHARED-1 rev A"]


def test_a_superuser_sees_every_organisation_and_which_is_which(admin_client, org, other_org):
    factories.PartFactory(organisation=org, number="OURS-1")
    factories.PartFactory(organisation=other_org, number="THEIRS-1")
    body = admin_client.get(changelist(Part)).content.decode()
    assert "OURS-1" in body and "THEIRS-1" in body and "Globex" in body
    filtered = admin_client.get(changelist(Part), {"organisation__id__exact": other_org.pk})
    assert "THEIRS-1" in filtered.content.decode() and "OURS-1" not in filtered.content.decode()


def test_a_superuser_cannot_mix_organisations_in_a_procedure(admin_client, org, other_org):
    foreign = factories.PartFactory(organisation=other_org, number="FOREIGN-3")
    url = reverse("admin:procedures_procedureversion_add")
    response = admin_client.post(
        url,
        management_forms(
            admin_client.get(url),
            organisation=org.pk,
            title="Mixed",
            type="build",
            parts=[foreign.pk],
        ),
    )
    assert response.status_code == 200
    assert "Parts of another organisation: FOREIGN-3 rev A." in response.content.decode()
    assert not ProcedureVersion.objects.filter(title="Mixed").exists()


# Export control (SPEC §6) holds in the admin too.


@pytest.fixture
def uncleared_admin_client(client, org):
    client.force_login(
        factories.UserFactory(organisation=org, username="junior", is_staff=True, groups=["Admin"])
    )
    return client


def test_an_uncleared_admin_does_not_see_export_controlled_things(uncleared_admin_client, org):
    secret = factories.PartFactory(organisation=org, number="TVC-ACT-100", export_controlled=True)
    factories.PartFactory(organisation=org, number="WSHR-M6")
    unit = factories.PartInventoryFactory(part=secret, serial_number="SN-SECRET")
    version = factories.ReleasedVersionFactory(
        procedure__organisation=org, title="Actuator build", export_controlled=True
    )
    body = uncleared_admin_client.get(changelist(Part)).content.decode()
    assert "WSHR-M6" in body and "TVC-ACT-100" not in body
    assert "SN-SECRET" not in uncleared_admin_client.get(changelist(PartInventory)).content.decode()
    assert "Actuator build" not in uncleared_admin_client.get(changelist(ProcedureVersion)).content.decode()
    for obj in (secret, unit, version, version.steps.first()):
        assert uncleared_admin_client.get(change(obj)).status_code == 302


def test_an_uncleared_admin_cannot_set_the_export_flag(uncleared_admin_client, org):
    response = uncleared_admin_client.post(
        reverse("admin:inventory_part_add"),
        {"number": "SNEAKY-1", "revision": "A", "tracking_type": "serial", "export_controlled": "on"},
    )
    assert response.status_code == 302
    assert Part.objects.get(number="SNEAKY-1").export_controlled is False


def test_saving_a_procedure_keeps_parts_the_admin_cannot_see(uncleared_admin_client, org):
    secret = factories.PartFactory(organisation=org, number="TVC-ACT-100", export_controlled=True)
    plain = factories.PartFactory(organisation=org, number="WSHR-M6")
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, parts=[secret, plain], steps=0)
    page = uncleared_admin_client.get(change(draft))
    assert "TVC-ACT-100" not in page.content.decode()
    response = uncleared_admin_client.post(
        change(draft), management_forms(page, title="Renamed", type="build", parts=[plain.pk])
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.title == "Renamed"
    assert set(draft.parts.all()) == {secret, plain}


# Procedures: the workflow actions and what can be edited when.


def test_submit_for_review_then_release(admin_user_client, org):
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, title="Valve build", steps=2)
    url = changelist(ProcedureVersion)
    response = admin_user_client.post(
        url, {"action": "submit_for_review", "_selected_action": [draft.pk]}, follow=True
    )
    assert "Valve build v1 is in review." in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == VersionStatus.IN_REVIEW
    response = admin_user_client.post(
        url, {"action": "submit_for_review", "_selected_action": [draft.pk]}, follow=True
    )
    assert "Only a draft can be submitted for review." in response.content.decode()


def test_new_revision_refuses_a_second_draft_with_a_message(admin_user_client, org):
    released = factories.ReleasedVersionFactory(procedure__organisation=org, steps=3)
    url = changelist(ProcedureVersion)
    response = admin_user_client.post(
        url, {"action": "new_revision", "_selected_action": [released.pk]}, follow=True
    )
    draft = released.procedure.versions.get(number=2)
    assert f"Draft {draft} created." in response.content.decode()
    assert draft.steps.count() == 3
    response = admin_user_client.post(
        url, {"action": "new_revision", "_selected_action": [released.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "already has a draft; edit that one instead" in response.content.decode()
    assert released.procedure.versions.count() == 2


def test_a_new_version_of_an_existing_family_gets_the_next_number(admin_user_client, org):
    released = factories.ReleasedVersionFactory(procedure__organisation=org, title="Seal kitting")
    url = reverse("admin:procedures_procedureversion_add")
    assert "Seal kitting" in admin_user_client.get(url).content.decode()  # the family picker
    response = admin_user_client.post(
        url,
        management_forms(
            admin_user_client.get(url), procedure=released.procedure_id, title="Seal kitting", type="build"
        ),
    )
    assert response.status_code == 302
    assert released.procedure.versions.get(status="draft").number == 2


def test_a_drafts_steps_and_fields_are_edited_in_order(admin_user_client, org):
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, steps=2)
    page = admin_user_client.get(change(draft)).content.decode()
    assert page.index("Step 1") < page.index("Step 2")
    step = draft.steps.get(position=1)
    assert reverse("admin:procedures_procedurestep_change", args=[step.pk]) in page  # show_change_link
    step_page = admin_user_client.get(change(step))
    body = step_page.content.decode()
    assert body.index("Torque (Nm)") < body.index("Inspector")
    torque, inspector = step.fields.all()
    data = {
        "version": draft.pk,
        "position": 1,
        "title": "Torque the bolts",
        "instructions": "",
        "approved": "on",
        "fields-TOTAL_FORMS": 3,
        "fields-INITIAL_FORMS": 2,
    }
    for i, field in enumerate([torque, inspector]):
        data |= {
            f"fields-{i}-id": field.pk,
            f"fields-{i}-step": step.pk,
            f"fields-{i}-position": field.position,
            f"fields-{i}-label": field.label,
            f"fields-{i}-type": field.type,
            f"fields-{i}-options": "[]",
        }
    data |= {
        "fields-0-max_value": 25,
        "fields-2-step": step.pk,
        "fields-2-position": 3,
        "fields-2-label": "Finish",
        "fields-2-type": "select",
        "fields-2-options": '["Matte", "Gloss"]',
    }
    response = admin_user_client.post(change(step), data)
    assert response.status_code == 302, response.context["errors"] if response.context else response
    assert [(f.label, f.max_value) for f in step.fields.all()] == [
        ("Torque (Nm)", 25),
        ("Inspector", None),
        ("Finish", None),
    ]


def test_superseded_versions_are_read_only_too(admin_user_client, org):
    first = factories.ReleasedVersionFactory(procedure__organisation=org, steps=2)
    first.revise().release()
    first.refresh_from_db()
    assert first.status == VersionStatus.SUPERSEDED
    body = admin_user_client.get(change(first)).content.decode()
    assert 'name="title"' not in body and 'name="steps-0-title"' not in body
    assert 'name="steps-MAX_NUM_FORMS" value="0"' in body  # no step can be added
    step_body = admin_user_client.get(change(first.steps.first())).content.decode()
    assert 'name="fields-0-label"' not in step_body


# Changelists stay a fixed number of queries however many rows they show.


def many_rows(org):
    team = factories.TeamFactory(organisation=org)
    # Made directly: hashing thirty passwords would take most of the test's time.
    users = User.objects.bulk_create(User(organisation=org, username=f"worker{i}") for i in range(30))
    team.members.add(*users)
    for user in users:
        factories.TeamFactory(organisation=org, members=[user])
        part = factories.PartFactory(organisation=org)
        factories.PartInventoryFactory(part=part)
        factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=2)
        factories.RunFactory(organisation=org, part=part, assigned_team=team)
        factories.RunBatchFactory(organisation=org)
        factories.RunAttributeDefinitionFactory(organisation=org)
        factories.RunDraftFactory(owner=user)


@pytest.mark.parametrize("as_superuser", [True, False])
def test_changelists_take_a_fixed_number_of_queries(
    client, admin_user, org_admin, org, as_superuser, django_assert_max_num_queries
):
    many_rows(org)
    client.force_login(admin_user if as_superuser else org_admin)
    models = [Part, PartInventory, ProcedureVersion, ProcedureStep, Team, User, Run, RunBatch]
    models += [RunAttributeDefinition]
    if as_superuser:
        models.append(RunDraft)
    for model in models:
        with django_assert_max_num_queries(12):
            response = client.get(changelist(model))
        assert response.status_code == 200, model


def test_the_procedure_pages_take_a_fixed_number_of_queries(
    admin_user_client, org, django_assert_max_num_queries
):
    for _ in range(30):
        factories.ReleasedVersionFactory(procedure__organisation=org, steps=1)
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, steps=40)
    with django_assert_max_num_queries(15):
        assert admin_user_client.get(reverse("admin:procedures_procedureversion_add")).status_code == 200
    with django_assert_max_num_queries(15):
        assert admin_user_client.get(change(draft)).status_code == 200


def test_a_second_draft_is_refused_at_the_family_picker(admin_user_client, org):
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, title="Seal kitting")
    url = reverse("admin:procedures_procedureversion_add")
    response = admin_user_client.post(
        url,
        management_forms(
            admin_user_client.get(url), procedure=draft.procedure_id, title="Seal kitting", type="build"
        ),
    )
    assert response.status_code == 200
    assert "This procedure already has a draft; edit that one instead." in response.content.decode()
    assert draft.procedure.versions.count() == 1
