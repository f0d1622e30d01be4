"""axe on every admin page of our own models (issue 22): the index, each app's index, and each
model's list, add form and an object's change form, as an organisation's admin sees them, and
those only a superuser may open (organisations, drafts) as a superuser sees them.

The models of Django's auth and of django-axes are theirs; the admin's markup is Django's, so
only axe's serious and critical findings count (its tabular inlines head their first column
with an empty <th>, a minor finding that is Django's to mend).
"""

import pytest
from django.contrib import admin
from django.urls import reverse

from ion_runs.accounts.models import ApiToken
from procedures.models import FieldType
from tests import factories
from tests.browser.test_accessibility import BLOCKING, blocking_violations, describe

pytestmark = pytest.mark.browser

OURS = ("accounts", "inventory", "procedures", "runs")


def _one_of_each(org):
    """An object of every model of ours, so each change form has something to show."""
    admin_user = factories.UserFactory(
        organisation=org,
        username="curator",
        is_staff=True,
        export_cleared=True,
        groups=["Admin", "Planner"],
    )
    team = factories.TeamFactory(organisation=org, name="Final Assembly", members=[admin_user])
    part = factories.PartFactory(organisation=org, number="BRKT-ASSY-001")
    factories.PartInventoryFactory(part=part, serial_number="SN-0001")
    # A draft first (the change form the lists lead to first): its steps and fields are editable.
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, parts=[part], steps=2)
    draft.steps.first().fields.create(
        position=3, label="Finish", type=FieldType.SELECT, options=["Matte", "Gloss"]
    )
    version = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=2)
    batch = factories.RunBatchFactory(organisation=org, name="Falcon brackets", created_by=admin_user)
    factories.RunFactory(
        organisation=org, part=part, procedure_version=version, batch=batch, assigned_team=team
    )
    factories.RunAttributeDefinitionFactory(organisation=org, key="priority", label="Priority")
    factories.RunDraftFactory(owner=admin_user)
    ApiToken.issue(user=admin_user, name="Line 2 scanner")
    return admin_user


def _admin_pages(app: str) -> list[str]:
    """The app's index, and each of its models' list, add form and first object's change form."""
    pages = [reverse("admin:app_list", args=[app])]
    for model in admin.site._registry:
        meta = model._meta
        if meta.app_label != app:
            continue
        name = f"admin:{meta.app_label}_{meta.model_name}"
        pages.append(reverse(f"{name}_changelist"))
        pages.append(reverse(f"{name}_add"))
        obj = model.objects.order_by("pk").first()
        pages.append(reverse(f"{name}_change", args=[obj.pk]))
    return pages


def _violations_on(page, live_server, paths) -> tuple[dict[str, str], list[str]]:
    """axe's serious and critical findings on each page, and the pages that were forbidden."""
    found, forbidden = {}, []
    for path in paths:
        response = page.goto(f"{live_server.url}{path}")
        if response.status == 403:
            forbidden.append(path)
            continue
        assert response.ok, f"{path}: {response.status}"
        violations = [v for v in blocking_violations(page) if v["impact"] in BLOCKING]
        if violations:
            found[path] = describe(violations)
    return found, forbidden


# One test an app, so the pages are shared out between the test workers.
@pytest.mark.parametrize("app", OURS)
def test_every_admin_page_of_ours_has_no_serious_violations(live_server, page, log_in, org, app):
    log_in(_one_of_each(org))
    # The admin's own index once, with the first app.
    pages = ([reverse("admin:index")] if app == OURS[0] else []) + _admin_pages(app)
    found, forbidden = _violations_on(page, live_server, pages)

    found_by_root, forbidden_to_root = {}, []
    if forbidden:
        page.context.clear_cookies()
        log_in(factories.UserFactory(organisation=org, username="root", is_staff=True, is_superuser=True))
        found_by_root, forbidden_to_root = _violations_on(page, live_server, forbidden)

    # Nobody adds runs, drafts or tokens here: the wizard, Review and the tokens page make them.
    assert all(path.endswith("/add/") for path in forbidden_to_root), forbidden_to_root
    found |= found_by_root
    assert not found, "\n".join(f"{path}:\n{text}" for path, text in found.items())
