"""POST /api/v1/runs: another door to create_runs, with its rules and its messages (SPEC §8)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import InventoryStatus, PartInventory, TrackingType
from runs.models import Run, RunBatch, RunStep
from tests import factories
from tests.api.conftest import api_client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/runs"


def test_build_serial_runs_in_a_batch(api, part, version):
    response = api.post(
        URL,
        {
            "batch_name": "Week 48",
            "runs": [
                {"part": part.pk, "procedure": version.pk},
                {"part": {"number": "BRKT-ASSY-001", "revision": "B"}, "procedure": version.pk},
            ],
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["batch"]["name"] == "Week 48"
    runs = body["runs"]
    assert [r["number"] for r in runs] == sorted(r["number"] for r in runs)
    assert {r["procedure_version"]["id"] for r in runs} == {version.pk}
    assert all(r["status"] == "todo" and r["batch"] == "Week 48" for r in runs)
    assert all(r["identity"].startswith("SN-") for r in runs)
    assert runs[0]["links"]["self"] == f"/api/v1/runs/{runs[0]['number']}"
    assert RunStep.objects.filter(run__number__in=[r["number"] for r in runs]).count() == 6


@pytest.mark.parametrize(
    ("tracking", "extra", "identity"),
    [
        (TrackingType.SERIAL, {"serial_number": "SN-TYPED-1"}, "SN-TYPED-1"),
        (TrackingType.LOT, {"lot_number": "LOT-7", "quantity": 12}, "LOT-7 × 12"),
        (TrackingType.NONE, {"quantity": 3}, "qty 3"),
    ],
)
def test_each_tracking_type(api, org, tracking, extra, identity):
    part = factories.PartFactory(organisation=org, tracking_type=tracking)
    response = api.post(URL, {"runs": [{"part": part.pk, **extra}]})
    assert response.status_code == 201, response.json()
    (run,) = response.json()["runs"]
    assert run["tracking_type"] == tracking
    assert run["identity"] == identity


def test_tracking_type_overrides_the_parts(api, part):
    response = api.post(URL, {"runs": [{"part": part.pk, "tracking_type": "lot", "lot_number": "L1"}]})
    assert response.status_code == 201
    assert response.json()["runs"][0]["tracking_type"] == "lot"


def test_attach_by_id_serial_and_lot(api, org, part):
    by_id = factories.PartInventoryFactory(part=part, serial_number="SN-A")
    by_serial = factories.PartInventoryFactory(part=part, serial_number="SN-B")
    by_lot = factories.PartInventoryFactory(part=part, serial_number="", lot_number="LOT-9", quantity=5)
    response = api.post(
        URL,
        {
            "runs": [
                {"part": part.pk, "source": "attach", "inventory": by_id.pk},
                {"part": part.pk, "source": "attach", "inventory": "SN-B"},
                {"part": part.pk, "source": "attach", "inventory": "LOT-9"},
            ]
        },
    )
    assert response.status_code == 201, response.json()
    assert [r["identity"] for r in response.json()["runs"]] == ["SN-A", "SN-B", "LOT-9 × 5"]
    assert set(
        PartInventory.objects.filter(pk__in=[by_id.pk, by_serial.pk, by_lot.pk]).values_list(
            "status", flat=True
        )
    ) == {InventoryStatus.WIP}


def test_assignee_by_username_and_team_name(api, org, planner, part):
    team = factories.TeamFactory(organisation=org, name="Final Assembly")
    response = api.post(
        URL,
        {
            "runs": [
                {"part": part.pk, "assignee": {"user": "planner"}},
                {"part": part.pk, "assignee": {"team": "Final Assembly"}},
                {"part": part.pk, "assignee": None},
            ]
        },
    )
    assert response.status_code == 201, response.json()
    assert [r["assignee"] for r in response.json()["runs"]] == [
        {"user": "planner", "team": None},
        {"user": None, "team": team.name},
        None,
    ]


def test_fields_due_date_name_attributes(api, org, part):
    factories.RunAttributeDefinitionFactory(organisation=org, key="po", label="PO number")
    response = api.post(
        URL,
        {
            "runs": [
                {"part": part.pk, "name": "Nose cone", "due_date": "2030-01-31", "attributes": {"po": "A1"}}
            ]
        },
    )
    assert response.status_code == 201, response.json()
    (run,) = response.json()["runs"]
    assert (run["name"], run["due_date"], run["attributes"]) == ("Nose cone", "2030-01-31", {"po": "A1"})


def test_service_problems_are_422_at_their_row_and_nothing_is_created(api, org, part, version):
    factories.PartInventoryFactory(part=part, serial_number="SN-TAKEN")
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, parts=[part], number=2)
    response = api.post(
        URL,
        {
            "runs": [
                {"part": part.pk, "procedure": version.pk},
                {"part": part.pk, "serial_number": "SN-TAKEN"},
                {"part": part.pk, "procedure": draft.pk},
            ]
        },
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {
        "row": 1,
        "field": "serial_number",
        "message": "Serial number SN-TAKEN is already used in inventory.",
    } in errors
    assert any(e["row"] == 2 and e["message"].startswith("Procedure has unreleased steps") for e in errors)
    assert not any(e["row"] == 0 for e in errors)
    assert Run.objects.count() == 0
    assert PartInventory.objects.count() == 1


def test_every_rule_of_the_service_names_its_field(api, org, part, version):
    """The wizard's rules, checked by create_runs, answer at the field an integration sent."""
    other_part = factories.PartFactory(organisation=org, number="OTHER")
    lot_part = factories.PartFactory(organisation=org, tracking_type=TrackingType.LOT)
    factories.PartInventoryFactory(part=lot_part, serial_number="", lot_number="L-TAKEN")
    factories.PartInventoryFactory(part=part, serial_number="SN-TAKEN")
    scrapped = factories.PartInventoryFactory(
        part=part, serial_number="SN-SCRAP", status=InventoryStatus.SCRAPPED
    )
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, parts=[part], number=2)
    factories.PlannerFactory(organisation=org, username="left", is_active=False)
    factories.PlannerFactory(organisation=org, username="uncleared", first_name="Aaron", last_name="Peterson")
    factories.RunAttributeDefinitionFactory(organisation=org, key="po", label="Customer PO", required=True)
    po = {"po": "PO-1"}
    rows = [
        ({"part": part.pk, "procedure": draft.pk}, "procedure", "Procedure has unreleased steps"),
        ({"part": other_part.pk, "procedure": version.pk}, "procedure", "Procedure “"),
        (
            {"part": part.pk, "source": "attach", "inventory": scrapped.pk},
            "inventory",
            "Part inventory is not",
        ),
        (
            {"part": part.pk, "serial_number": "SN-TAKEN"},
            "serial_number",
            "Serial number SN-TAKEN is already",
        ),
        (
            {"part": part.pk, "serial_number": "SN-TWICE"},
            "serial_number",
            "Serial number SN-TWICE is on more",
        ),
        (
            {"part": part.pk, "serial_number": "SN-TWICE"},
            "serial_number",
            "Serial number SN-TWICE is on more",
        ),
        ({"part": lot_part.pk, "lot_number": "L-TAKEN"}, "lot_number", "Lot L-TAKEN already exists"),
        ({"part": part.pk, "assignee": {"user": "left"}}, "assignee", "The assignee is not an active user"),
        (
            {"part": part.pk, "export_controlled": True, "assignee": {"user": "uncleared"}},
            "assignee",
            "Aaron Peterson is not export-cleared",
        ),
        ({"part": part.pk, "attributes": {}}, "attributes", "Customer PO is required."),
    ]
    response = api.post(URL, {"runs": [{"attributes": po} | body for body, _, _ in rows]})
    assert response.status_code == 422, response.json()
    errors = response.json()["errors"]
    for row, (_, field, message) in enumerate(rows):
        at_row = [(e["field"], e["message"]) for e in errors if e["row"] == row]
        assert any(f == field and m.startswith(message) for f, m in at_row), (row, at_row)
    assert all(e["field"] is not None for e in errors)
    assert Run.objects.count() == 0


def test_batch_problems_are_batch_errors(api, org, part, version):
    factories.RunBatchFactory(organisation=org, name="Taken")
    response = api.post(URL, {"batch_name": "Taken", "runs": [{"part": part.pk}, {"part": part.pk}]})
    assert response.status_code == 422
    assert response.json()["batch_errors"] == ["A batch named “Taken” already exists."]
    assert not RunBatch.objects.exclude(name="Taken").exists()


def test_unresolvable_references_are_422_at_row_and_field(api, org, other_org, part):
    foreign = factories.PartFactory(organisation=other_org)
    factories.PartInventoryFactory(part=part, serial_number="", lot_number="DUP", quantity=1)
    factories.PartInventoryFactory(part=part, serial_number="", lot_number="DUP", quantity=1)
    response = api.post(
        URL,
        {
            "runs": [
                {"part": foreign.pk},
                {"part": {"number": "NOPE", "revision": "A"}},
                {"part": part.pk, "source": "attach", "inventory": "SN-MISSING"},
                {"part": part.pk, "source": "attach", "inventory": "DUP"},
                {"part": part.pk, "source": "attach"},
                {"part": part.pk, "assignee": {"user": "ghost"}},
                {"part": part.pk, "assignee": {"team": "Ghosts"}},
                {"part": part.pk, "attributes": {"nope": 1}},
            ]
        },
    )
    assert response.status_code == 422
    fields = [(e["row"], e["field"]) for e in response.json()["errors"]]
    assert fields == [
        (0, "part"),
        (1, "part"),
        (2, "inventory"),
        (3, "inventory"),
        (4, "inventory"),
        (5, "assignee"),
        (6, "assignee"),
        (7, "attributes.nope"),
    ]
    assert Run.objects.count() == 0


def test_export_controlled_part_is_invisible_to_the_uncleared(uncleared_planner, org):
    hidden = factories.PartFactory(organisation=org, export_controlled=True, number="ITAR-1", revision="A")
    client = api_client_for(uncleared_planner)
    for ref in (hidden.pk, {"number": "ITAR-1", "revision": "A"}):
        response = client.post(URL, {"runs": [{"part": ref}]})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "part"
    response = client.post(
        URL, {"runs": [{"part": factories.PartFactory(organisation=org).pk, "export_controlled": True}]}
    )
    assert response.status_code == 422
    assert "Only export-cleared users" in response.json()["errors"][0]["message"]


def test_typed_attribute_values_are_checked(api, org, part):
    factories.RunAttributeDefinitionFactory(organisation=org, key="n", label="Count", type="number")
    response = api.post(URL, {"runs": [{"part": part.pk, "attributes": {"n": "many"}}]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "attributes.n"
    response = api.post(URL, {"runs": [{"part": part.pk, "attributes": {"n": "4.50"}}]})
    assert response.status_code == 201
    assert response.json()["runs"][0]["attributes"] == {"n": "4.5"}


@pytest.mark.parametrize(
    ("body", "row", "field"),
    [
        ({"runs": []}, None, "runs"),
        ({"runs": [{"part": 1, "colour": "red"}]}, 0, "colour"),
        ({"runs": [{"part": 1}], "extra": 1}, None, "extra"),
        ({"runs": [{"part": 1, "quantity": "lots"}]}, 0, "quantity"),
        ({"runs": [{"part": 1, "due_date": "2030-02-30"}]}, 0, "due_date"),
        ({"runs": [{"part": 1, "source": "steal"}]}, 0, "source"),
        ({"runs": [{"part": 1, "assignee": {"user": "a", "team": "b"}}]}, 0, "assignee"),
        ({"runs": [{"part": [1]}]}, 0, "part"),
        ({"runs": "all of them"}, None, "runs"),
        ({}, None, "runs"),
    ],
)
def test_bad_bodies_name_the_field(api, body, row, field):
    response = api.post(URL, body)
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert (row, field) in [(e["row"], e["field"]) for e in errors]
    assert Run.objects.count() == 0


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", "null", '"runs"'])
def test_malformed_json_is_4xx_json(api, raw):
    response = api.client.post(URL, raw, content_type="application/json", headers=api.headers)
    assert 400 <= response.status_code < 500
    assert "detail" in response.json()


def test_more_than_5000_runs_is_refused(api, part):
    response = api.post(URL, {"runs": [{"part": part.pk}] * 5001})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "runs"
    assert Run.objects.count() == 0


def test_query_count_does_not_grow_with_runs(api, org, part, version):
    team = factories.TeamFactory(organisation=org, name="Bay 2")
    units = [factories.PartInventoryFactory(part=part) for _ in range(10)]

    def body(n):
        return {
            "runs": [
                {
                    "part": {"number": part.number, "revision": part.revision},
                    "procedure": version.pk,
                    "assignee": {"team": team.name},
                }
                for _ in range(n)
            ]
            + [
                {
                    "part": part.pk,
                    "source": "attach",
                    "inventory": unit.serial_number,
                    "procedure": version.pk,
                    "assignee": {"user": "planner"},
                }
                for unit in units[:n]
            ]
        }

    with CaptureQueriesContext(connection) as few:
        assert api.post(URL, body(1)).status_code == 201
    with CaptureQueriesContext(connection) as many:
        assert api.post(URL, body(10)).status_code == 201
    assert len(many) <= len(few)
    assert len(few) <= 40


@pytest.mark.parametrize(
    "run",
    [
        {"part": 99999999999999999999},
        {"part": 1, "procedure": 99999999999999999999},
        {"part": 1, "source": "attach", "inventory": 99999999999999999999},
        {"part": 1, "quantity": 99999999999999999999},
        {"part": 1, "name": "x" * 5000},
        {"part": 1, "serial_number": "S" * 5000},
        {"part": {"number": "x" * 5000, "revision": "A"}},
        {"part": 1, "due_date": "99999-01-01"},
        {"part": 1, "attributes": {"a": {"b": [1, 2]}}},
        {"part": True},
    ],
)
def test_odd_values_are_4xx_never_500(api, run):
    response = api.post(URL, {"runs": [run]})
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["detail"]
    assert Run.objects.count() == 0
