import pytest
from django.urls import reverse

from inventory.models import Part
from ion_runs.accounts.models import Team
from procedures.models import ProcedureVersion, VersionStatus
from runs.models import RunAttributeDefinition
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
    factories.PartFactory(organisation=other_org, number="FOREIGN-1")
    mine = factories.PartFactory(organisation=org, number="MINE-1")
    page = admin_user_client.get(reverse("admin:procedures_procedureversion_add")).content.decode()
    assert "MINE-1" in page and "FOREIGN-1" not in page
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
