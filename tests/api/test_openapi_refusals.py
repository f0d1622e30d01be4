"""The OpenAPI document says what the API refuses (issue 22): a request the document calls
valid is not refused for its shape, and one it calls invalid is.

Each test reads the document as a client generator would, so what it checks is what clients see.
"""

import json
import re

import jsonschema_rs
import pytest
from django.test import Client

from tests import factories

pytestmark = pytest.mark.django_db

LISTS = ["/api/v1/runs", "/api/v1/parts", "/api/v1/inventory", "/api/v1/batches"]


@pytest.fixture(scope="module")
def document():
    return Client().get("/api/v1/openapi.json").json()


def _string_branch(schema: dict) -> dict:
    """The text branch of an optional parameter's `anyOf: [{string…}, {null}]`."""
    return next(branch for branch in schema.get("anyOf", [schema]) if branch.get("type") == "string")


def _cursor(document: dict, path: str) -> dict:
    parameters = document["paths"][path]["get"]["parameters"]
    return next(p for p in parameters if p["name"] == "cursor")


@pytest.mark.parametrize("path", LISTS)
def test_the_cursor_says_its_shape_and_that_others_are_refused(document, path):
    cursor = _cursor(document, path)
    text = _string_branch(cursor["schema"])
    assert text["pattern"] == "^[A-Za-z0-9_-]*={0,2}$"
    assert text["maxLength"] == 2048
    assert "422" in cursor["description"]
    assert "422" in document["paths"][path]["get"]["responses"]


def test_the_longest_cursor_a_list_makes_fits_its_shape(api, org, document):
    # Parts page by number and revision, their longest text; a character outside the BMP is
    # the longest in JSON (an escaped UTF-16 pair, 12 bytes).
    for revision in ("\U0001f600" * 19 + "A", "\U0001f600" * 19 + "B"):
        factories.PartFactory(organisation=org, number="\U0001f600" * 100, revision=revision)
    following = api.get("/api/v1/parts", {"limit": 1}).json()["next"]
    cursor = re.search(r"cursor=([^&]+)", following)[1]
    text = _string_branch(_cursor(document, "/api/v1/parts")["schema"])
    assert re.fullmatch(text["pattern"], cursor)
    assert 1900 < len(cursor) <= text["maxLength"]
    assert api.get(following).status_code == 200


@pytest.mark.parametrize("cursor", ["abc+/", "a" * 2049, "a b", "abc=d", "abc==="])
def test_a_cursor_off_its_shape_is_refused_at_the_cursor(api, cursor):
    response = api.get("/api/v1/batches", {"cursor": cursor})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["cursor"]


def test_a_cursor_of_its_shape_the_server_did_not_make_is_refused_at_the_cursor(api):
    response = api.get("/api/v1/batches", {"cursor": "c3RhdHVz"})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"row": None, "field": "cursor", "message": "Not a cursor this API gave."}
    ]


ASSIGNEES = [
    {"user": "planner"},
    {"team": "Final Assembly"},
    {"user": "planner", "team": None},
    {"user": None, "team": "Final Assembly"},
    {"user": "  planner "},
    {},
    {"user": None, "team": None},
    {"user": ""},
    {"user": "   "},
    {"team": ""},
    {"user": "", "team": None},
    {"user": "planner", "team": ""},
    {"user": "", "team": "Final Assembly"},
    {"user": "planner", "team": "Final Assembly"},
]


@pytest.mark.parametrize("assignee", ASSIGNEES, ids=json.dumps)
def test_an_assignee_is_refused_exactly_when_the_document_says(api, org, part, document, assignee):
    factories.TeamFactory(organisation=org, name="Final Assembly")
    schema = document["components"]["schemas"]["AssigneeIn"]
    in_the_schema = jsonschema_rs.Draft202012Validator(schema).is_valid(assignee)

    response = api.post("/api/v1/runs", {"runs": [{"part": part.pk, "assignee": assignee}]})

    assert response.status_code == (201 if in_the_schema else 422), response.json()
    if not in_the_schema:
        assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(0, "assignee")]


def test_create_declares_the_idempotency_headers(document):
    operation = document["paths"]["/api/v1/runs"]["post"]
    [key] = [p for p in operation["parameters"] if p["in"] == "header"]
    assert key["name"] == "Idempotency-Key"
    assert key["required"] is False
    assert key["schema"]["maxLength"] == 200
    for status in ("201", "202"):
        replayed = operation["responses"][status]["headers"]["Idempotent-Replayed"]
        assert replayed["schema"] == {"type": "string", "enum": ["true"]}
    assert "Location" in operation["responses"]["202"]["headers"]


@pytest.mark.parametrize(
    ("key", "status"),
    [
        ("k" * 200, 201),
        ("~ Order 4711/2 !", 201),
        ("k" * 201, 422),
        ("order\x7f4711", 422),
        ("Auftrag-\u00e9", 422),
        ("\torder-4711", 422),
    ],
)
def test_an_idempotency_key_is_refused_exactly_when_the_document_says(api, part, document, key, status):
    [parameter] = document["paths"]["/api/v1/runs"]["post"]["parameters"]
    in_the_schema = jsonschema_rs.Draft202012Validator(parameter["schema"]).is_valid(key)
    assert in_the_schema == (status == 201)

    response = api.post("/api/v1/runs", {"runs": [{"part": part.pk}]}, **{"Idempotency-Key": key})

    assert response.status_code == status
    if status == 201:
        again = api.post("/api/v1/runs", {"runs": [{"part": part.pk}]}, **{"Idempotency-Key": key})
        assert again.status_code == 201
        assert again["Idempotent-Replayed"] == "true"
        assert again.json() == response.json()


STEP_ACTIONS = ["start", "complete", "fail", "hold", "resume", "skip", "reopen"]


def _action_body(document: dict, action: str) -> tuple[bool, dict]:
    """Whether the action's operation requires a body, and the body's schema."""
    operation = document["paths"][f"/api/v1/runs/{{number}}/steps/{{position}}/{action}"]["post"]
    body = operation["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    # An optional body is `anyOf: [{$ref}, {null}]`.
    [ref] = [branch["$ref"] for branch in schema.get("anyOf", [schema]) if "$ref" in branch]
    name = ref.rpartition("/")[2]
    return body.get("required", False), document["components"]["schemas"][name]


@pytest.mark.parametrize("action", STEP_ACTIONS)
def test_each_step_action_says_whether_it_needs_a_reason(document, action):
    body_required, schema = _action_body(document, action)
    validator = jsonschema_rs.Draft202012Validator(schema)
    if action in ("start", "complete"):
        assert body_required is False
        assert validator.is_valid({}) and validator.is_valid({"this_run_only": True})
        assert not validator.is_valid({"reason": "Because"})
    else:
        assert body_required is True
        assert schema["required"] == ["reason"]
        assert validator.is_valid({"reason": "Torque wrench out of calibration"})
        for refused in ({}, {"reason": ""}, {"reason": "   "}, {"reason": None}, {"reason": "why\x00"}):
            assert not validator.is_valid(refused), refused


@pytest.mark.parametrize("action", ["fail", "hold", "resume", "skip", "reopen"])
@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "  "}, {"reason": "why\x00"}])
def test_a_reason_the_document_refuses_is_refused_at_the_reason(api, org, action, body):
    run = factories.RunFactory(organisation=org, status="in_progress")
    factories.RunStepFactory(run=run, position=1, status="in_progress")

    response = api.post(f"/api/v1/runs/{run.number}/steps/1/{action}", body)

    assert response.status_code == 422, response.json()
    assert [e["field"] for e in response.json()["errors"]] == ["reason"]
    assert run.steps.get().status == "in_progress"


def test_an_integer_written_with_a_point_is_an_integer_as_json_schema_says(api, part, document):
    # Some JSON encoders write every number as a float: 7.0 is the integer 7 to the document.
    response = api.post(
        "/api/v1/runs", {"runs": [{"part": float(part.pk), "quantity": 3.0, "tracking_type": "lot"}]}
    )
    assert response.status_code == 201, response.json()
    assert response.json()["runs"][0]["part"]["id"] == part.pk
    for body in ({"part": part.pk + 0.5}, {"part": part.pk, "quantity": 2.5}, {"part": True}):
        assert api.post("/api/v1/runs", {"runs": [body]}).status_code == 422, body


@pytest.mark.parametrize(
    ("serial", "status"),
    [
        ("SN-77 ", 201),
        ("\tSN-77\r\n", 201),  # as a barcode scanner types it
        ("SN-\u00c5ngstr\u00f6m", 201),
        ("SN-77\x1f", 422),
        ("SN-\t77", 422),
        ("SN\x857", 422),
    ],
)
def test_text_is_refused_exactly_when_the_documents_pattern_says(api, part, document, serial, status):
    schema = _string_branch(document["components"]["schemas"]["RunIn"]["properties"]["serial_number"])
    assert bool(re.fullmatch(schema["pattern"], serial)) == (status == 201)

    response = api.post("/api/v1/runs", {"runs": [{"part": part.pk, "serial_number": serial}]})

    assert response.status_code == status, response.json()
    if status == 422:
        assert [e["field"] for e in response.json()["errors"]] == ["serial_number"]
    else:
        assert response.json()["runs"][0]["identity"] == serial.strip()


def test_a_value_the_document_refuses_is_refused(document):
    value = document["components"]["schemas"]["FieldValueIn"]["properties"]["value"]
    validator = jsonschema_rs.Draft202012Validator(value)
    for accepted in (12.5, "12.50", True, ["A", "B"], None, "Line one\nLine two"):
        assert validator.is_valid(accepted), accepted
    for refused in ({}, {"value": 1}, [1], [["A"]], "bell\x07"):
        assert not validator.is_valid(refused), refused
