"""A procedure version's own admin page carries its workflow, and leads to its steps' fields."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from procedures.models import VersionStatus
from tests import factories

pytestmark = pytest.mark.django_db

ACTION = "CHANGE_FORM-action"


@pytest.fixture
def curator(org):
    return factories.UserFactory(
        organisation=org, username="curator", is_staff=True, export_cleared=True, groups=["Admin"]
    )


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client


def page_of(version) -> str:
    return reverse("admin:procedures_procedureversion_change", args=[version.pk])


def buttons(body: str) -> list[str]:
    """The workflow buttons a page shows, in order."""
    return re.findall(rf'<button[^>]*name="{ACTION}" value="[a-z_]+">([^<]+)</button>', body)


def press(client, version, action, **kwargs):
    return client.post(page_of(version), {ACTION: action, "_selected_action": version.pk}, **kwargs)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_draft_goes_to_review_and_release_from_its_own_page(curator_client, org):
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, title="Valve build", steps=2)
    assert buttons(curator_client.get(page_of(draft)).content.decode()) == ["Submit for review", "Release"]

    response = press(curator_client, draft, "submit_for_review", follow=True)
    assert response.redirect_chain == [(page_of(draft), 302)]
    assert "Valve build v1 is in review." in messages_of(response)
    draft.refresh_from_db()
    assert draft.status == VersionStatus.IN_REVIEW
    assert buttons(response.content.decode()) == ["Release", "Back to draft"]

    response = press(curator_client, draft, "release", follow=True)
    assert "Valve build v1 is released." in messages_of(response)
    draft.refresh_from_db()
    assert draft.status == VersionStatus.RELEASED
    assert buttons(response.content.decode()) == ["New revision"]


def test_new_revision_opens_the_new_draft(curator_client, org):
    released = factories.ReleasedVersionFactory(procedure__organisation=org, title="Seal kitting", steps=3)
    response = press(curator_client, released, "new_revision", follow=True)
    draft = released.procedure.versions.get(number=2)
    assert response.redirect_chain == [(page_of(draft), 302)]
    assert "Draft Seal kitting v2 created." in messages_of(response)
    assert draft.status == VersionStatus.DRAFT and draft.steps.count() == 3


def test_an_action_the_state_does_not_allow_is_refused_with_a_message(curator_client, org):
    released = factories.ReleasedVersionFactory(procedure__organisation=org, title="Seal kitting")
    # A page left open from before the release still shows Release.
    response = press(curator_client, released, "release", follow=True)
    assert "Seal kitting v1: A released version cannot be released." in messages_of(response)
    released.revise()
    response = press(curator_client, released, "new_revision", follow=True)
    assert response.redirect_chain == [(page_of(released), 302)]
    assert any("already has a draft; edit that one instead" in m for m in messages_of(response))
    assert released.procedure.versions.count() == 2


def test_release_names_the_unapproved_steps(curator_client, org):
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, steps=3)
    draft.steps.filter(position=2).update(approved=False)
    response = press(curator_client, draft, "release", follow=True)
    assert any("approve step 2 before releasing" in m for m in messages_of(response))
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT


def test_submit_for_review_names_the_unapproved_steps(curator_client, org):
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, title="Valve build", steps=3)
    draft.steps.filter(position__in=[1, 3]).update(approved=False)
    response = press(curator_client, draft, "submit_for_review", follow=True)
    assert (
        "Valve build v1: Procedure has unreleased steps: approve step 1, 3 before submitting it for review."
        in messages_of(response)
    )
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT


def test_a_version_in_review_goes_back_to_draft_to_approve_its_steps(curator_client, org):
    stuck = factories.ProcedureVersionFactory(
        procedure__organisation=org, title="Valve build", status=VersionStatus.IN_REVIEW, steps=2
    )
    stuck.steps.filter(position=2).update(approved=False)
    assert buttons(curator_client.get(page_of(stuck)).content.decode()) == ["Release", "Back to draft"]

    response = press(curator_client, stuck, "back_to_draft", follow=True)
    assert "Valve build v1 is a draft again." in messages_of(response)
    stuck.refresh_from_db()
    assert stuck.status == VersionStatus.DRAFT
    assert buttons(response.content.decode()) == ["Submit for review", "Release"]


def test_back_to_draft_is_refused_when_the_family_has_a_draft(curator_client, org):
    released = factories.ReleasedVersionFactory(procedure__organisation=org, title="Valve build")
    in_review = released.revise()
    in_review.submit_for_review()
    released.revise()  # a third version, copied from the one in review
    response = press(curator_client, in_review, "back_to_draft", follow=True)
    assert (
        "Valve build v2: This procedure already has a draft, version 3; edit that one instead."
        in messages_of(response)
    )
    in_review.refresh_from_db()
    assert in_review.status == VersionStatus.IN_REVIEW


def test_the_buttons_keep_the_version_form_intact(curator_client, org):
    """Each button posts a form of its own: the version's form keeps Save as its default button."""
    draft = factories.ProcedureVersionFactory(procedure__organisation=org)
    body = curator_client.get(page_of(draft)).content.decode()
    version_form = body[body.index('id="procedureversion_form"') :]
    assert f'name="{ACTION}"' not in version_form
    assert f'name="{ACTION}"' in body[: body.index('id="procedureversion_form"')]


def test_only_admins_who_may_change_versions_get_the_buttons(client, org):
    viewer = factories.UserFactory(organisation=org, username="viewer", is_staff=True, export_cleared=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_procedureversion"))
    client.force_login(viewer)
    draft = factories.ProcedureVersionFactory(procedure__organisation=org)
    assert buttons(client.get(page_of(draft)).content.decode()) == []
    press(client, draft, "release")
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT


def test_an_uncleared_admin_cannot_release_an_export_controlled_version(client, org):
    junior = factories.UserFactory(organisation=org, username="junior", is_staff=True, groups=["Admin"])
    client.force_login(junior)
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, export_controlled=True)
    press(client, draft, "release")
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT


def test_the_buttons_need_the_csrf_token(curator, org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(curator)
    draft = factories.ProcedureVersionFactory(procedure__organisation=org)
    assert press(client, draft, "release").status_code == 403
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT


# Steps: their fields are one click from the version's page, and saving a step goes back there.


def test_each_step_links_to_its_fields(curator_client, org):
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, steps=2)
    empty = factories.ProcedureVersionFactory(procedure__organisation=org, steps=0)
    empty_step = empty.steps.create(position=1, title="Clean")
    body = curator_client.get(page_of(draft)).content.decode()
    for step in draft.steps.all():
        url = reverse("admin:procedures_procedurestep_change", args=[step.pk])
        assert f'<a href="{url}">Edit 2 fields</a>' in body
    url = reverse("admin:procedures_procedurestep_change", args=[empty_step.pk])
    assert f'<a href="{url}">Add fields</a>' in curator_client.get(page_of(empty)).content.decode()

    released = factories.ReleasedVersionFactory(procedure__organisation=org, steps=1)
    url = reverse("admin:procedures_procedurestep_change", args=[released.steps.get().pk])
    assert f'<a href="{url}">View 2 fields</a>' in curator_client.get(page_of(released)).content.decode()


def test_a_step_page_leads_back_to_its_version(curator_client, org):
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, title="Valve build", steps=1)
    step = draft.steps.get()
    url = reverse("admin:procedures_procedurestep_change", args=[step.pk])
    body = curator_client.get(url).content.decode()
    assert f'<a href="{page_of(draft)}">Valve build v1</a>' in body  # the breadcrumbs

    torque, inspector = step.fields.all()
    data = {
        "version": draft.pk,
        "position": 1,
        "title": "Torque the bolts",
        "instructions": "",
        "approved": "on",
        "fields-TOTAL_FORMS": 2,
        "fields-INITIAL_FORMS": 2,
    }
    for i, field in enumerate([torque, inspector]):
        data |= {
            f"fields-{i}-id": field.pk,
            f"fields-{i}-step": step.pk,
            f"fields-{i}-position": field.position,
            f"fields-{i}-label": field.label,
            f"fields-{i}-type": field.type,
            f"fields-{i}-options": "",
        }
    response = curator_client.post(url, data | {"fields-1-label": "Inspected by"})
    assert response.status_code == 302 and response.url == page_of(draft)
    assert [f.label for f in step.fields.all()] == ["Torque (Nm)", "Inspected by"]


def step_with_a_select(org):
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, steps=0)
    step = draft.steps.create(position=1, title="Paint")
    finish = step.fields.create(position=1, label="Finish", type="select", options=["Matte", "Gloss"])
    return step, finish


def post_options(client, step, finish, options: str):
    return client.post(
        reverse("admin:procedures_procedurestep_change", args=[step.pk]),
        {
            "version": step.version_id,
            "position": 1,
            "title": "Paint",
            "fields-TOTAL_FORMS": 1,
            "fields-INITIAL_FORMS": 1,
            "fields-0-id": finish.pk,
            "fields-0-step": step.pk,
            "fields-0-position": 1,
            "fields-0-label": "Finish",
            "fields-0-type": "select",
            "fields-0-options": options,
        },
    )


def test_a_select_fields_options_are_edited_one_a_line(curator_client, org):
    step, finish = step_with_a_select(org)
    url = reverse("admin:procedures_procedurestep_change", args=[step.pk])
    body = curator_client.get(url).content.decode()
    assert re.search(r'<textarea name="fields-0-options"[^>]*>\s*Matte\nGloss</textarea>', body)
    assert "One option per line" in body

    response = post_options(curator_client, step, finish, "\r\n Matte \r\nGloss\r\nSatin\r\n\r\n")
    assert response.status_code == 302
    finish.refresh_from_db()
    assert finish.options == ["Matte", "Gloss", "Satin"]


@pytest.mark.parametrize(
    "options, message",
    [
        ("Matte\n\nGloss", "Line 2 is empty: give one option a line."),
        ("Matte\nGloss\nmatte", "“matte” is listed twice: give each option once."),
        ("", "A select field needs at least one option."),
    ],
)
def test_blank_and_repeated_options_are_refused(curator_client, org, options, message):
    step, finish = step_with_a_select(org)
    response = post_options(curator_client, step, finish, options)
    assert response.status_code == 200
    assert message in response.content.decode()
    finish.refresh_from_db()
    assert finish.options == ["Matte", "Gloss"]


@pytest.mark.browser
def test_a_curator_releases_a_version_and_edits_a_steps_fields_from_its_page(live_server, page, org):
    factories.UserFactory(
        organisation=org, username="cora", is_staff=True, export_cleared=True, groups=["Admin"]
    )
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, title="Valve build", steps=2)
    page.goto(f"{live_server.url}{page_of(draft)}")  # the admin asks to log in first
    page.get_by_label("Username").fill("cora")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Change procedure")).to_be_visible()
    page.screenshot(path="/tmp/a11y/admin-draft.png", full_page=True)

    page.get_by_role("link", name="Edit 2 fields").first.click()
    page.get_by_role("textbox").and_(page.locator('[name="fields-1-label"]')).fill("Inspected by")
    page.screenshot(path="/tmp/a11y/admin-step.png", full_page=True)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}{page_of(draft)}")

    page.get_by_role("button", name="Release").click()
    expect(page.get_by_text("Valve build v1 is released.")).to_be_visible()
    expect(page.get_by_role("button", name="New revision")).to_be_visible()
    expect(page.get_by_role("button", name="Release")).to_have_count(0)
    page.screenshot(path="/tmp/a11y/admin-released.png", full_page=True)
    assert draft.steps.get(position=1).fields.get(position=2).label == "Inspected by"
