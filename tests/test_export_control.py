"""Export control (SPEC §6) where it is easiest to get wrong: the admin, procedure families, batches."""

import re

import pytest
from django import forms
from django.contrib.auth.models import Permission
from django.urls import reverse

from inventory.models import Part, PartInventory
from ion_runs.accounts.models import Team, User
from procedures.models import ProcedureStep, ProcedureVersion, VersionStatus
from runs.models import Run, RunAttributeDefinition, RunBatch, RunDraft
from runs.run_filters import procedure_choices
from runs.services import add_runs_to_batch, create_batch
from tests import factories
from tests.test_admin import change, changelist, many_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def junior(org):
    """An organisation admin who is not export cleared."""
    return factories.UserFactory(organisation=org, username="junior", is_staff=True, groups=["Admin"])


@pytest.fixture
def curator(org):
    return factories.UserFactory(
        organisation=org, username="curator", is_staff=True, export_cleared=True, groups=["Admin"]
    )


@pytest.fixture
def junior_client(client, junior):
    client.force_login(junior)
    return client


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client


def delete(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_delete", args=[obj.pk])


def form_data(response, **overrides) -> dict:
    """What the admin page in `response` would post unchanged, with its inlines left empty."""
    data = {}
    for prefix in re.findall(r'name="([^"]+)-TOTAL_FORMS"', response.content.decode()):
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
    for bound in response.context["adminform"].form:
        value, widget = bound.value(), bound.field.widget
        if bound.field.disabled or value in (None, False):
            continue
        if isinstance(widget, forms.MultiWidget):
            data |= {f"{bound.html_name}_{i}": part for i, part in enumerate(widget.decompress(value))}
        else:
            data[bound.html_name] = value
    return data | overrides


def autocomplete(client, app_label, model_name, field_name, term="") -> list[str]:
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": app_label, "model_name": model_name, "field_name": field_name, "term": term},
    )
    assert response.status_code == 200
    return [result["text"] for result in response.json()["results"]]


# Clearance: only the cleared (or a superuser) hand it out.


def test_an_uncleared_admin_cannot_clear_themselves_or_anyone(junior_client, junior, uncleared_planner):
    for user in (junior, uncleared_planner):
        page = junior_client.get(change(user))
        assert page.status_code == 200 and 'name="export_cleared"' not in page.content.decode()
        response = junior_client.post(change(user), form_data(page, export_cleared="on"))
        assert response.status_code == 302
        user.refresh_from_db()
        assert user.export_cleared is False


def test_an_uncleared_admin_adds_people_uncleared(junior_client, org):
    url = reverse("admin:accounts_user_add")
    page = junior_client.get(url)
    assert 'name="export_cleared"' not in page.content.decode()
    passphrase = "a-long-demo-passphrase"
    response = junior_client.post(
        url,
        form_data(
            page,
            username="newbie",
            usable_password="true",
            password1=passphrase,
            password2=passphrase,
            export_cleared="on",
        ),
    )
    assert response.status_code == 302
    newbie = User.objects.get(username="newbie")
    assert (newbie.organisation, newbie.export_cleared) == (org, False)


@pytest.mark.parametrize("as_superuser", [False, True])
def test_a_cleared_admin_or_a_superuser_clears_people(
    client, curator, admin_user, uncleared_planner, as_superuser
):
    client.force_login(admin_user if as_superuser else curator)
    page = client.get(change(uncleared_planner))
    assert 'name="export_cleared"' in page.content.decode()
    response = client.post(change(uncleared_planner), form_data(page, export_cleared="on"))
    assert response.status_code == 302
    uncleared_planner.refresh_from_db()
    assert uncleared_planner.export_cleared is True


def test_an_uncleared_admin_cannot_take_over_a_cleared_user(junior_client, planner):
    page = junior_client.get(change(planner))
    assert page.status_code == 200 and 'name="username"' not in page.content.decode()  # view only
    response = junior_client.post(change(planner), form_data(page, username="mine", email="me@example.com"))
    assert response.status_code == 403
    password = reverse("admin:auth_user_password_change", args=[planner.pk])
    assert junior_client.get(password).status_code == 403
    passphrase = "a-long-demo-passphrase"
    response = junior_client.post(password, {"password1": passphrase, "password2": passphrase})
    assert response.status_code == 403
    assert junior_client.get(delete(planner)).status_code == 403
    junior_client.post(
        changelist(User), {"action": "delete_selected", "_selected_action": [planner.pk], "post": "yes"}
    )
    planner.refresh_from_db()
    assert (planner.username, planner.email) == ("planner", "")
    assert planner.check_password(factories.PASSWORD)


def test_no_changelist_edit_or_action_sets_clearance(junior_client, uncleared_planner):
    page = junior_client.get(changelist(User))
    assert [name for name, _ in page.context["action_form"].fields["action"].choices if name] == [
        "delete_selected"
    ]
    junior_client.post(
        changelist(User),
        {
            "form-TOTAL_FORMS": 1,
            "form-INITIAL_FORMS": 1,
            "form-0-id": uncleared_planner.pk,
            "form-0-export_cleared": "on",
            "_save": "Save",
        },
    )
    uncleared_planner.refresh_from_db()
    assert uncleared_planner.export_cleared is False


# Procedure families: one controlled version hides the whole family.


@pytest.fixture
def controlled_family(org):
    """Seal kitting v1 (superseded, not controlled) and v2, released and export controlled."""
    first = factories.ProcedureVersionFactory(
        procedure__organisation=org, title="Seal kitting", status=VersionStatus.SUPERSEDED, steps=1
    )
    factories.ReleasedVersionFactory(
        procedure=first.procedure, number=2, title="Actuator seal kitting", export_controlled=True, steps=1
    )
    return first.procedure


def test_the_family_picker_offers_no_controlled_family(client, junior, curator, controlled_family):
    plain = factories.ReleasedVersionFactory(procedure__organisation=controlled_family.organisation)
    url = reverse("admin:procedures_procedureversion_add")
    client.force_login(junior)
    page = client.get(url)
    assert list(page.context["adminform"].form.fields["procedure"].queryset) == [plain.procedure]
    assert "Actuator seal kitting" not in page.content.decode()
    client.force_login(curator)
    families = client.get(url).context["adminform"].form.fields["procedure"].queryset
    assert set(families) == {plain.procedure, controlled_family}


def test_an_uncleared_admin_cannot_add_a_version_to_a_controlled_family(junior_client, controlled_family):
    url = reverse("admin:procedures_procedureversion_add")
    response = junior_client.post(
        url,
        form_data(junior_client.get(url), procedure=controlled_family.pk, title="Seal kitting", type="build"),
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    statuses = dict(controlled_family.versions.values_list("number", "status"))
    assert statuses == {1: VersionStatus.SUPERSEDED, 2: VersionStatus.RELEASED}


def test_a_cleared_admin_keeps_new_versions_of_a_controlled_family_controlled(
    curator_client, controlled_family
):
    url = reverse("admin:procedures_procedureversion_add")
    data = form_data(
        curator_client.get(url), procedure=controlled_family.pk, title="Seal kitting", type="build"
    )
    response = curator_client.post(url, data)
    assert response.status_code == 200
    assert "Version 2 of this procedure is export controlled, so every version of it is." in (
        response.content.decode()
    )
    assert curator_client.post(url, data | {"export_controlled": "on"}).status_code == 302
    assert controlled_family.versions.get(number=3).export_controlled is True


def test_new_revision_and_release_say_nothing_about_a_controlled_family(
    junior_client, org, controlled_family
):
    in_review = factories.ProcedureVersionFactory(
        procedure__organisation=org, title="Nozzle check", status=VersionStatus.IN_REVIEW
    )
    factories.ReleasedVersionFactory(
        procedure=in_review.procedure, number=2, title="Nozzle check ITAR", export_controlled=True
    )
    first = controlled_family.versions.get(number=1)
    for action, version in [("new_revision", first), ("release", in_review)]:
        response = junior_client.post(
            changelist(ProcedureVersion), {"action": action, "_selected_action": [version.pk]}, follow=True
        )
        body = response.content.decode()
        assert "Actuator" not in body and "ITAR" not in body and "Version 2" not in body
    assert ProcedureVersion.objects.count() == 4
    in_review.refresh_from_db()
    assert in_review.status == VersionStatus.IN_REVIEW


def test_a_controlled_familys_versions_and_steps_are_hidden_in_the_admin(junior_client, controlled_family):
    first = controlled_family.versions.get(number=1)
    plain = factories.ProcedureVersionFactory(
        procedure__organisation=controlled_family.organisation, title="Washer kitting", steps=1
    )
    assert "Seal kitting" not in junior_client.get(changelist(ProcedureVersion)).content.decode()
    steps = junior_client.get(changelist(ProcedureStep)).context["cl"].result_list
    assert {step.version for step in steps} == {plain}
    assert junior_client.get(change(first)).status_code == 302  # "doesn't exist" redirect
    assert junior_client.get(change(first.steps.get())).status_code == 302
    assert autocomplete(junior_client, "procedures", "procedurestep", "version") == ["Washer kitting v1"]
    assert autocomplete(junior_client, "runs", "run", "procedure_version") == ["Washer kitting v1"]


def test_procedure_pages_and_pickers_hide_a_controlled_family_whole(
    client, org, uncleared_planner, django_assert_max_num_queries
):
    part = factories.PartFactory(organisation=org)
    released = factories.ReleasedVersionFactory(
        procedure__organisation=org, title="Seal kitting", parts=[part]
    )
    factories.ProcedureVersionFactory(
        procedure=released.procedure, number=2, title="Actuator seal kitting", export_controlled=True
    )
    for _ in range(20):
        factories.ReleasedVersionFactory(procedure__organisation=org, title="Washer kitting", parts=[part])
    client.force_login(uncleared_planner)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("procedures:list"))
    assert page.context["page"].paginator.count == 20
    assert "Seal kitting" not in page.content.decode()
    assert client.get(reverse("procedures:detail", args=[released.pk])).status_code == 404
    assert "Seal kitting" not in str(procedure_choices(uncleared_planner))
    runnable = ProcedureVersion.objects.visible_to(uncleared_planner).runnable().filter(parts=part)
    assert released not in runnable and runnable.count() == 20


# Batches: one controlled run hides the batch.


@pytest.fixture
def hidden_batch(org):
    batch = factories.RunBatchFactory(organisation=org, name="Week 48 actuators")
    factories.RunFactory(organisation=org, name="Open bracket", batch=batch)
    factories.RunFactory(organisation=org, name="ITAR actuator", batch=batch, export_controlled=True)
    return batch


def test_runs_page_neither_suggests_nor_filters_by_a_hidden_batch(
    client, org, uncleared_planner, hidden_batch
):
    factories.RunBatchFactory(organisation=org, name="Week 49 washers")
    client.force_login(uncleared_planner)
    response = client.get(reverse("runs:list"))
    assert list(response.context["form"].recent_batches) == ["Week 49 washers"]
    assert '<option value="Week 48 actuators">' not in response.content.decode()
    probed = client.get(reverse("runs:list"), {"batch": "week 48 actuators"})
    assert probed.context["page"].paginator.count == 0  # as for a name that does not exist


def test_the_runs_page_and_a_run_page_never_name_a_hidden_batch(client, uncleared_planner, hidden_batch):
    client.force_login(uncleared_planner)
    visible_run = Run.objects.get(name="Open bracket")
    assert "Week 48" not in client.get(reverse("runs:list")).content.decode()
    page = client.get(reverse("runs:detail", args=[visible_run.number]))
    assert page.status_code == 200
    assert "Week 48" not in page.content.decode()


def test_a_cleared_planner_sees_the_batch_on_the_run_page(planner_client, hidden_batch):
    visible_run = Run.objects.get(name="Open bracket")
    assert "Week 48" in planner_client.get(reverse("runs:detail", args=[visible_run.number])).content.decode()


def test_an_uncleared_admin_cannot_list_open_rename_or_delete_a_hidden_batch(
    junior_client, org, hidden_batch
):
    factories.RunBatchFactory(organisation=org, name="Week 49 washers")
    assert "Week 48" not in junior_client.get(changelist(RunBatch)).content.decode()
    assert junior_client.get(change(hidden_batch)).status_code == 302
    assert junior_client.post(change(hidden_batch), {"name": "Renamed"}).status_code == 302
    assert junior_client.get(delete(hidden_batch)).status_code == 302
    junior_client.post(delete(hidden_batch), {"post": "yes"})
    junior_client.post(
        changelist(RunBatch),
        {"action": "delete_selected", "_selected_action": [hidden_batch.pk], "post": "yes"},
    )
    hidden_batch.refresh_from_db()
    assert hidden_batch.name == "Week 48 actuators"
    assert autocomplete(junior_client, "runs", "run", "batch") == ["Week 49 washers"]
    runs = junior_client.get(changelist(Run))
    assert [run.name for run in runs.context["cl"].result_list] == ["Open bracket"]
    assert "Week 48" not in runs.content.decode()
    visible_run = Run.objects.get(name="Open bracket")
    assert "Week 48" not in junior_client.get(change(visible_run)).content.decode()


def test_a_run_page_never_names_a_deleted_batch_that_was_hidden(client, org, curator, uncleared_planner):
    plain = factories.RunFactory(organisation=org, name="Open bracket")
    controlled = factories.RunFactory(organisation=org, name="ITAR actuator", export_controlled=True)
    batch = create_batch(actor=curator, name="SECRET")
    add_runs_to_batch(actor=curator, batch=batch, runs=[plain, controlled])
    client.force_login(curator)
    client.post(delete(batch), {"post": "yes"}, follow=True)  # follow: its message is read there
    assert not RunBatch.objects.filter(pk=batch.pk).exists()
    client.force_login(uncleared_planner)
    html = client.get(reverse("runs:detail", args=[plain.number])).content.decode()
    assert "SECRET" not in html
    history = html[html.index('id="run-history"') :]
    assert history.count("a batch you cannot see") == 2  # added to it, then out of it when deleted


def test_a_cleared_admin_sees_the_batch(curator_client, hidden_batch):
    assert "Week 48 actuators" in curator_client.get(changelist(RunBatch)).content.decode()
    assert "Week 48 actuators" in curator_client.get(changelist(Run)).content.decode()
    assert curator_client.get(change(hidden_batch)).status_code == 200


# The rest of the admin.


def test_deleting_a_part_never_names_a_hidden_run(junior_client, org):
    part = factories.PartFactory(organisation=org, number="BRKT-1")
    factories.RunFactory(organisation=org, part=part, name="Open bracket")
    factories.RunFactory(organisation=org, part=part, name="ITAR bracket", export_controlled=True)
    response = junior_client.get(delete(part))
    assert response.status_code == 200
    assert "ITAR bracket" not in response.content.decode()
    assert Part.objects.filter(pk=part.pk).exists()


def test_drafts_of_hidden_things_are_hidden_from_an_uncleared_admin(client, org, junior, uncleared_planner):
    junior.user_permissions.add(Permission.objects.get(codename="view_rundraft"))
    plain_part = factories.PartFactory(organisation=org)
    secret_part = factories.PartFactory(organisation=org, export_controlled=True)
    plain_version = factories.ReleasedVersionFactory(procedure__organisation=org)
    secret_version = factories.ReleasedVersionFactory(procedure__organisation=org)
    factories.ProcedureVersionFactory(procedure=secret_version.procedure, number=2, export_controlled=True)

    def draft(**data):
        return factories.RunDraftFactory(owner=uncleared_planner, data={"part": plain_part.pk} | data)

    visible = {draft(), draft(procedure=None), draft(procedure=plain_version.pk)}
    draft(export_controlled=True)
    draft(part=secret_part.pk)
    draft(procedure=secret_version.pk)
    client.force_login(junior)
    assert set(client.get(changelist(RunDraft)).context["cl"].result_list) == visible
    assert RunDraft.objects.count() == 6


def test_a_controlled_run_is_assigned_only_to_cleared_people(curator_client, org, planner, uncleared_planner):
    run = factories.RunFactory(organisation=org, export_controlled=True)
    page = curator_client.get(change(run))
    response = curator_client.post(change(run), form_data(page, assigned_user=uncleared_planner.pk))
    assert response.status_code == 200
    assert "is not export cleared; this run is export controlled." in response.content.decode()
    assert curator_client.post(change(run), form_data(page, assigned_user=planner.pk)).status_code == 302
    run.refresh_from_db()
    assert run.assigned_user == planner


def test_search_boxes_never_offer_hidden_things(junior_client, org):
    plain = factories.PartFactory(organisation=org, number="WSHR-M6")
    secret = factories.PartFactory(organisation=org, number="TVC-ACT-100", export_controlled=True)
    factories.PartInventoryFactory(part=plain, serial_number="SN-PLAIN")
    factories.PartInventoryFactory(part=secret, serial_number="SN-SECRET")
    assert autocomplete(junior_client, "procedures", "procedureversion", "parts") == ["WSHR-M6 rev A"]
    assert autocomplete(junior_client, "inventory", "partinventory", "part") == ["WSHR-M6 rev A"]
    assert autocomplete(junior_client, "runs", "run", "part_inventory") == ["WSHR-M6 SN-PLAIN"]


def test_an_uncleared_admins_changelists_take_a_fixed_number_of_queries(
    junior_client, org, django_assert_max_num_queries
):
    many_rows(org)
    for run in Run.objects.all()[:10]:
        run.export_controlled = True
        run.batch = factories.RunBatchFactory(organisation=org)
        run.save()
    models = [Part, PartInventory, ProcedureVersion, ProcedureStep, Team, User, Run, RunBatch]
    for model in [*models, RunAttributeDefinition]:
        with django_assert_max_num_queries(12):
            response = junior_client.get(changelist(model))
        assert response.status_code == 200, model
