import io

import pytest
from django.core.management import call_command
from django.db.models import Count

from inventory.models import InventoryStatus, Part, PartInventory
from ion_runs.accounts.models import Team, User
from procedures.models import FieldType, ProcedureStep, ProcedureVersion, StepField, VersionStatus
from runs.models import Run, RunAttributeDefinition, RunBatch, RunStep
from tests import factories

pytestmark = pytest.mark.django_db


def seed():
    call_command("seed_demo", stdout=io.StringIO())


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (User, Team, Part, PartInventory, ProcedureVersion, Run, RunStep, RunBatch)
    }


def test_it_loads_demo_data_once(client):
    seed()
    first = counts()
    seed()
    assert counts() == first
    assert first["Part"] >= 30 and first["Run"] > 0 and first["RunBatch"] == 1


def test_every_inventory_status_and_version_status_is_present():
    seed()
    assert set(PartInventory.objects.values_list("status", flat=True)) == set(InventoryStatus.values)
    statuses = set(ProcedureVersion.objects.values_list("status", flat=True))
    assert {
        VersionStatus.DRAFT,
        VersionStatus.IN_REVIEW,
        VersionStatus.RELEASED,
        VersionStatus.SUPERSEDED,
    } <= statuses


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("planner", "planner-demo-2026"),
        ("operator", "operator-demo-2026"),
        ("admin", "admin-demo-2026"),
    ],
)
def test_the_printed_logins_work(client, username, password):
    seed()
    response = client.post("/accounts/login/", {"username": username, "password": password})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_it_prints_the_logins_and_where_to_go():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    printed = out.getvalue()
    assert "planner   / planner-demo-2026" in printed and "admin     / admin-demo-2026" in printed
    assert "the admin (log in as admin) is at /admin/" in printed


def test_it_leaves_an_existing_users_password_alone(org):
    factories.UserFactory(organisation=org, username="admin", is_staff=True, is_superuser=True)
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert User.objects.get(username="admin").check_password(factories.PASSWORD)
    assert "admin     / (existing user, password unchanged)" in out.getvalue()


def test_the_catalogue_covers_what_the_wizard_needs():
    seed()
    admin, planner, operator = (User.objects.get(username=u) for u in ("admin", "planner", "operator"))
    assert admin.is_staff and admin.export_cleared and admin.groups.filter(name="Admin").exists()
    assert planner.export_cleared and planner.has_perm("runs.add_run")
    assert not operator.export_cleared and operator.has_perm("runs.pick_up_run")
    assert all(team.members.exists() for team in Team.objects.all())
    assert set(Part.objects.values_list("tracking_type", flat=True)) == {"serial", "lot", "none"}
    assert Part.objects.filter(export_controlled=True).count() == 1

    newest_released = ProcedureVersion.objects.filter(status=VersionStatus.RELEASED)
    assert not ProcedureStep.objects.filter(version__in=newest_released, approved=False).exists()
    assert ProcedureVersion.objects.values("procedure").distinct().count() == 10
    links = Part.objects.annotate(families=Count("procedure_versions__procedure", distinct=True))
    assert links.filter(families__gt=1).exists()  # a part several procedures build or test
    assert links.filter(families=0).exists()  # "No procedures available for this part"
    parts_per_family = ProcedureVersion.objects.filter(status=VersionStatus.RELEASED).annotate(
        linked=Count("parts")
    )
    assert parts_per_family.filter(linked=1).exists()

    types = set(StepField.objects.values_list("type", flat=True))
    assert types == set(FieldType.values)
    assert StepField.objects.filter(min_value__isnull=False, max_value__isnull=False).exists()
    assert StepField.objects.exclude(pattern="").filter(max_length__isnull=False).exists()
    assert RunAttributeDefinition.objects.filter(type="select").exclude(options=[]).exists()
    assert PartInventory.objects.filter(lot_number__gt="", quantity__gt=1).exists()
    stock = PartInventory.objects.filter(runs__isnull=True)  # not the units the demo runs build
    assert stock.exists() and not stock.filter(location="").exists()


def test_it_names_no_address_the_demo_may_not_be_served_at(monkeypatch):
    monkeypatch.setenv("PORT", "8731")
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "8000" not in out.getvalue() and "/admin/" in out.getvalue()
