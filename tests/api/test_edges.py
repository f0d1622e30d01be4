"""What an integrator found at the API's edges: each answers a JSON 4xx at the field, or is kept as meant."""

import logging

import pytest
from django.test import Client

from inventory.models import TrackingType
from ion_runs.accounts.models import ApiToken
from runs.models import Run, RunBatch
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/api/v1/runs"


def refusal(response) -> list[tuple[int | None, str | None]]:
    assert response.status_code == 422, response.content
    return [(e["row"], e["field"]) for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("run", "field"),
    [
        ({"serial_number": "SN-\ud800"}, "serial_number"),
        ({"serial_number": "SN\x001"}, "serial_number"),
        ({"name": "Line\nbreak"}, "name"),
        ({"assignee": {"user": "plan\udc00ner"}}, "assignee"),
        ({"attributes": {"po": "PO-\udc00"}}, "attributes"),
        ({"attributes": {"po": {"nested": ["\x07"]}}}, "attributes"),
    ],
)
def test_text_no_database_can_store_is_422_at_its_field(api, part, run, field):
    assert (0, field) in refusal(api.post(URL, {"runs": [{"part": part.pk} | run]}))
    assert Run.objects.count() == 0


def test_a_batch_name_with_half_a_surrogate_pair_is_422(api, part):
    response = api.post(URL, {"runs": [{"part": part.pk}], "batch_name": "Week \ud83d"})
    assert (None, "batch_name") in refusal(response)
    assert not RunBatch.objects.exists()


def test_text_is_trimmed_as_a_form_would(api, part):
    response = api.post(URL, {"runs": [{"part": part.pk, "serial_number": "  SN-77 ", "name": " Nose "}]})
    assert response.status_code == 201, response.json()
    (run,) = response.json()["runs"]
    assert (run["identity"], run["name"]) == ("SN-77", "Nose")


@pytest.mark.parametrize(
    ("run", "field"),
    [
        ({"part": True}, "part"),
        ({"procedure": "2"}, "procedure"),
        ({"quantity": "1"}, "quantity"),
        ({"export_controlled": "yes"}, "export_controlled"),
    ],
)
def test_values_of_the_wrong_json_type_are_not_coerced(api, part, run, field):
    assert (0, field) in refusal(api.post(URL, {"runs": [{"part": part.pk} | run]}))


@pytest.mark.parametrize(
    ("run", "field", "message"),
    [
        ({"quantity": 0}, "quantity", "Input should be greater than or equal to 1"),
        ({"quantity": 1_000_001}, "quantity", "Input should be less than or equal to 1000000"),
        ({"name": "N" * 201}, "name", "String should have at most 200 characters"),
        ({"serial_number": "S" * 101}, "serial_number", "String should have at most 100 characters"),
    ],
)
def test_the_documented_limits_are_the_real_ones(api, part, run, field, message):
    response = api.post(URL, {"runs": [{"part": part.pk} | run]})
    assert {"row": 0, "field": field, "message": message} in response.json()["errors"]
    schema = api.get("/api/v1/openapi.json").json()["components"]["schemas"]["RunIn"]["properties"]
    assert schema["quantity"]["maximum"] == 1_000_000
    assert schema["name"]["anyOf"][0]["maxLength"] == 200


def test_identity_fields_the_run_cannot_use_are_refused_not_dropped(api, org, part):
    unit = factories.PartInventoryFactory(part=part, serial_number="SN-ON-SHELF")
    lot_part = factories.PartFactory(organisation=org, tracking_type=TrackingType.LOT)
    plain = factories.PartFactory(organisation=org, tracking_type=TrackingType.NONE)
    runs = [
        {"part": part.pk, "source": "attach", "inventory": unit.pk, "serial_number": "SN-X"},
        {"part": part.pk, "source": "attach", "inventory": unit.pk, "quantity": 5},
        {"part": part.pk, "quantity": 5},
        {"part": part.pk, "lot_number": "L-1"},
        {"part": lot_part.pk, "serial_number": "SN-LOT"},
        {"part": part.pk, "tracking_type": "lot", "serial_number": "SN-LOT"},
        {"part": plain.pk, "lot_number": "L-2"},
    ]
    assert refusal(api.post(URL, {"runs": runs})) == [
        (0, "serial_number"),
        (1, "quantity"),
        (2, "quantity"),
        (3, "lot_number"),
        (4, "serial_number"),
        (5, "serial_number"),
        (6, "lot_number"),
    ]
    assert (
        api.post(URL, {"runs": [{"part": lot_part.pk, "lot_number": "L-9", "quantity": 5}]}).status_code
        == 201
    )


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"runs": [{"part": 1}]}', "text/plain"),
        ("runs=1", "application/x-www-form-urlencoded"),
    ],
)
def test_a_body_that_is_not_json_is_a_415(api, body, content_type):
    response = api.client.post(URL, body, content_type=content_type, headers=api.headers)
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]
    assert Run.objects.count() == 0


def test_a_multipart_body_is_a_415(api):
    response = api.client.post(URL, {"runs": "1"}, headers=api.headers)
    assert response.status_code == 415
    assert response["Content-Type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/runs/35/", "/api/v1/runs/35/steps"])
def test_an_unknown_api_address_is_a_json_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response.json()["detail"] == "No such API address; see /api/v1/docs."


def test_messages_do_not_carry_pydantics_prefix(api, part):
    response = api.post(URL, {"runs": [{"part": part.pk, "due_date": "31/12/2030"}]})
    assert {"row": 0, "field": "due_date", "message": "Give a date as YYYY-MM-DD."} in response.json()[
        "errors"
    ]


def test_the_error_detail_says_nothing_was_created_only_where_something_could_have_been(api, part):
    refused = api.post(URL, {"runs": [{"part": part.pk, "quantity": 0}]})
    assert refused.json()["detail"] == "The request is not valid; nothing was created."
    refused = api.post(URL, {"runs": [{"part": 999_999}]})
    assert refused.json()["detail"] == "The request is not valid; nothing was created."
    assert api.get(URL, {"status": "sideways"}).json()["detail"] == "The request is not valid."
    assert api.get(URL, {"limit": "lots"}).json()["detail"] == "The request is not valid."


def test_a_post_to_an_unknown_api_address_is_a_json_404_without_a_csrf_token(api):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/api/v1/runs/", {"runs": []}, content_type="application/json", headers=api.headers
    )
    assert response.status_code == 404
    assert response.json()["detail"] == "No such API address; see /api/v1/docs."


def test_text_is_measured_after_trimming_and_notes_keep_their_line_breaks(api, org, part):
    factories.RunAttributeDefinitionFactory(organisation=org, key="notes", label="Notes")
    run = {"part": part.pk, "serial_number": "S" * 100 + " ", "attributes": {"notes": "Line one\nLine two"}}
    response = api.post(URL, {"runs": [run]})
    assert response.status_code == 201, response.json()
    (created,) = response.json()["runs"]
    assert (created["identity"], created["attributes"]) == ("S" * 100, {"notes": "Line one\nLine two"})


@pytest.mark.parametrize(
    ("method", "target", "url"),
    [("post", "runs.api.create.create_runs", URL), ("get", "runs.api.read.run_out", URL)],
    ids=["create", "list"],
)
def test_an_unexpected_error_answers_json_and_logs_its_traceback(
    planner, part, monkeypatch, caplog, method, target, url
):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(target, broken)
    factories.RunFactory(organisation=part.organisation, part=part)
    secret = ApiToken.issue(user=planner, name="tests")[1]
    # Not re-raised into the test, as a real client would meet it.
    client = Client(raise_request_exception=False, headers={"Authorization": f"Bearer {secret}"})
    runs_before = Run.objects.count()

    with caplog.at_level(logging.ERROR, logger="django.request"):
        if method == "post":
            response = client.post(url, {"runs": [{"part": part.pk}]}, content_type="application/json")
        else:
            response = client.get(url)

    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {
        "detail": "The server failed to answer this request; the error was logged. Try again later.",
        "errors": [],
        "batch_errors": [],
    }
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == f"Internal Server Error: {url}"
    assert record.exc_info[0] is RuntimeError
    assert Run.objects.count() == runs_before
