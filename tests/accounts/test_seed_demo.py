import io

import pytest
from django.core.management import call_command

from inventory.models import InventoryStatus, Part, PartInventory
from ion_runs.accounts.models import Team, User
from procedures.models import ProcedureVersion, VersionStatus
from runs.models import Run, RunBatch, RunStep

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
