"""The README's curl examples work: two runs created in a batch on the demo data, then listed; a
test station's measurement recorded on a step."""

import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from inventory.models import Part
from ion_runs.accounts.models import User
from runs.services import RunRequest, complete_step, create_runs, record_values, start_step
from tests import factories
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
    listed = client.get(
        re.search(r'curl -sS "http://localhost:\$PORT(/api/v1/runs\?[^"]+)"', section).group(1)
    )
    assert sorted(r["number"] for r in listed.json()["runs"]) == sorted(
        r["number"] for r in created.json()["runs"]
    )
    assert len(listed.json()["runs"]) == 2


def test_the_readme_test_station_records_a_measurement(org, planner):
    section = README.read_text().split("## The JSON API")[1]
    station = re.search(r"# A test station.*?```", section, re.S).group(0).replace("\\\n", " ")
    calls = re.findall(
        r"curl -sS -X (POST|PUT) http://localhost:\$PORT(\S+).*?(?:-d '([^']*)')?$", station, re.M
    )
    assert [method for method, _, _ in calls] == ["POST", "PUT", "POST"]
    part = factories.PartFactory(organisation=org)
    version = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=3)
    (run,) = create_runs(
        user=planner, requests=[RunRequest(part_id=part.pk, procedure_version_id=version.pk)]
    )
    for step in run.steps.filter(position__lt=3):
        start_step(actor=planner, step=step)
        record_values(actor=planner, step=step, values={1: 5})
        complete_step(actor=planner, step=step)
    client = api_client_for(planner)
    for method, path, body in calls:
        path = re.sub(r"/runs/\d+/", f"/runs/{run.number}/", path)
        if body:
            response = client.client.generic(
                method, path, body, content_type="application/json", headers=client.headers
            )
        else:
            response = client.client.generic(method, path, headers=client.headers)
        assert response.status_code == 200, response.content
    assert response.json()["status"] == "complete"
    assert response.json()["fields"][0]["value"] == "12.50"
    assert response.json()["run_status"] == "complete"
