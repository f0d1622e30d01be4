"""The README's curl example works on the demo data: two runs created in a batch, then listed."""

import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from inventory.models import Part
from ion_runs.accounts.models import User
from tests.api.conftest import api_client_for

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_creates_two_runs_in_a_batch_and_lists_them():
    call_command("seed_demo", stdout=io.StringIO())
    section = README.read_text().split("## The JSON API")[1]
    body = json.loads(re.search(r"-d '(\{.*?\})'", section, re.S).group(1))
    client = api_client_for(User.objects.get(username="planner"))
    # The README names the ids a fresh demo database gives; find this database's the same way.
    part = client.get("/api/v1/parts", {"q": "BRKT-ASSY-001"}).json()["parts"][0]
    assert part["id"] == Part.objects.get(number="BRKT-ASSY-001").pk
    versions = client.get(f"/api/v1/parts/{part['id']}/procedures").json()
    bracket = next(v for v in versions if v["title"] == "Bracket assembly")
    for run in body["runs"]:
        run["procedure"] = bracket["id"]

    created = client.post("/api/v1/runs", body, **{"Idempotency-Key": "erp-order-4711"})
    assert created.status_code == 201, created.content
    assert created.json()["batch"]["name"] == "Order 4711"
    listed = client.get(re.search(r'curl -sS "http://localhost:8000(/api/v1/runs\?[^"]+)"', section).group(1))
    assert sorted(r["number"] for r in listed.json()["runs"]) == sorted(
        r["number"] for r in created.json()["runs"]
    )
    assert len(listed.json()["runs"]) == 2
