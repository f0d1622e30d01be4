"""Whatever an integration sends, the API answers it (SPEC §8): a 4xx with a JSON body naming the
problem, never a 500, and never a partial create.

Hypothesis draws bodies and queries from tests/strategies.py: malformed JSON, wrong types,
unknown fields, lists one past the limit, dates that do not exist. Hypothesis's Django TestCase
rolls every example back, so runs one example creates never reach the next.
"""

import json
import logging

from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from inventory.models import TrackingType
from ion_runs.accounts.models import ApiToken
from ion_runs.api import plain_text
from procedures.models import FieldType
from runs.models import AttributeType, Run, RunBatch, RunStepField
from tests import factories
from tests.strategies import (
    FUZZ,
    api_create_bodies,
    api_run,
    date_field,
    form_data,
    json_values,
    occurrences,
    search_field,
    step_field_values,
    texts,
)

URL = "/api/v1/runs"
OPTIONS = ["Red", "Blue", "Green"]
# A field of every type on a step in progress: {position: (type, its rule)}.
STEP_FIELDS = {
    1: (FieldType.NUMBER, {"label": "Torque (Nm)", "min_value": 1, "max_value": 20}),
    2: (FieldType.TEXT, {"label": "Batch code", "max_length": 8, "pattern": r"[A-Z]+-\d+"}),
    3: (FieldType.TEXT, {"label": "Note"}),
    4: (FieldType.SELECT, {"label": "Colour", "options": OPTIONS}),
    5: (FieldType.MULTISELECT, {"label": "Coatings", "options": OPTIONS}),
    6: (FieldType.BOOLEAN, {"label": "Leak tested"}),
    7: (FieldType.DATETIME, {"label": "Cured at"}),
    8: (FieldType.SIGNOFF, {"label": "Inspector"}),
    9: (FieldType.FILE, {"label": "Trace"}),
}


class TheApiNeverAnswers500(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Each answer is checked by the test; the request log would repeat every refusal.
        log = logging.getLogger("django.request")
        cls.addClassCleanup(log.setLevel, log.level)
        log.setLevel(logging.CRITICAL)

    @classmethod
    def setUpTestData(cls):
        org = factories.OrganisationFactory(name="Acme Rockets")
        other = factories.OrganisationFactory(name="Globex")
        planner = factories.PlannerFactory(organisation=org, username="planner", export_cleared=True)
        team = factories.TeamFactory(organisation=org, name="Final Assembly", members=[planner])
        part = factories.PartFactory(organisation=org, number="BRKT-ASSY-001", revision="A")
        lot_part = factories.PartFactory(organisation=org, tracking_type=TrackingType.LOT)
        foreign_part = factories.PartFactory(organisation=other)
        version = factories.ReleasedVersionFactory(
            procedure__organisation=org, parts=[part, lot_part], steps=2
        )
        draft = factories.ProcedureVersionFactory(procedure__organisation=org, parts=[part])
        unit = factories.PartInventoryFactory(part=part, serial_number="SN-API-1")
        for kind, options in [
            (AttributeType.TEXT, []),
            (AttributeType.NUMBER, []),
            (AttributeType.DATE, []),
            (AttributeType.MULTISELECT, ["Red", "Blue"]),
            (AttributeType.USER, []),
        ]:
            factories.RunAttributeDefinitionFactory(
                organisation=org, key=f"a_{kind}", type=kind, options=options
            )
        factories.RunBatchFactory(organisation=org, name="Week 1")
        for _ in range(3):
            factories.RunFactory(organisation=org, part=part, procedure_version=version)
        worked = factories.RunFactory(
            organisation=org, part=part, procedure_version=version, status="in_progress"
        )
        step = factories.RunStepFactory(run=worked, position=1, status="in_progress")
        for position, (kind, rule) in STEP_FIELDS.items():
            factories.RunStepFieldFactory(run_step=step, position=position, type=kind, **rule)
        cls.step_url = f"{URL}/{worked.number}/steps/1"
        cls.step_id = step.pk
        cls.secret = ApiToken.issue(user=planner, name="fuzz")[1]
        # What a valid row may name (and a few ids that are nobody's): the strategy is made
        # from them in each test, since setUpTestData's attributes are copied per test.
        cls.references = {
            "parts": [part.pk, lot_part.pk, foreign_part.pk, 0, 2**40],
            "versions": [version.pk, draft.pk, 0],
            "units": [unit.pk, 0],
            "usernames": ["planner"],
            "teams": [team.name],
            "attributes": [f"a_{kind}" for kind in AttributeType.values],
        }
        cls.part_id = part.pk

    def setUp(self):
        self.client = Client(headers={"Authorization": f"Bearer {self.secret}"})

    def assert_refused_plainly(self, response):
        """A 4xx with a JSON body that says what is wrong."""
        assert 400 <= response.status_code < 500, (response.status_code, response.content[:500])
        assert response["Content-Type"].startswith("application/json")
        answer = response.json()
        assert answer["detail"]
        if response.status_code == 422:
            problems = answer["errors"] + [{"message": m} for m in answer["batch_errors"]]
            assert problems and all(problem["message"] for problem in problems), answer

    def post(self, body: str, **headers):
        before = (Run.objects.count(), RunBatch.objects.count())
        response = self.client.post(URL, body, content_type="application/json", headers=headers)
        if response.status_code == 201:
            created = response.json()["runs"]
            assert len(created) == len(json.loads(body)["runs"])
            assert Run.objects.count() == before[0] + len(created)
        else:
            self.assert_refused_plainly(response)
            assert (Run.objects.count(), RunBatch.objects.count()) == before, (
                "a refused request created something"
            )
        return response

    @settings(FUZZ, max_examples=100)
    @given(st.data())
    def test_create_bodies(self, data):
        body = data.draw(api_create_bodies(api_run(**self.references)))
        key = data.draw(st.one_of(st.none(), texts()))
        self.post(json.dumps(body), **({"Idempotency-Key": key} if key is not None else {}))

    @settings(FUZZ, max_examples=40)
    @given(st.one_of(st.binary(max_size=50).map(lambda b: b.decode("latin-1")), texts()))
    def test_bodies_that_are_not_json(self, body):
        self.post(body)

    def test_one_past_the_limit_names_the_list(self):
        response = self.post(json.dumps({"runs": [{"part": self.part_id}] * 5_001}))
        assert response.json()["errors"][0]["field"] == "runs"
        assert "5000" in response.json()["errors"][0]["message"]

    def test_a_body_over_the_servers_limit_is_413(self):
        response = self.post(json.dumps({"runs": [{"part": self.part_id, "name": "N" * 4000}] * 3_000}))
        assert response.status_code == 413
        assert "MiB" in response.json()["detail"]

    def test_a_date_is_a_date(self):
        for due in [0, 20260101, "2026-02-30", "31/12/2026", "2026-06-01T10:00", True]:
            response = self.post(json.dumps({"runs": [{"part": self.part_id, "due_date": due}]}))
            assert response.status_code == 422, due
            assert response.json()["errors"][0] == {
                "row": 0,
                "field": "due_date",
                "message": response.json()["errors"][0]["message"],
            }

    def test_an_unknown_field_is_named(self):
        response = self.post(json.dumps({"runs": [{"part": self.part_id, "colour": "red"}]}))
        assert response.status_code == 422
        assert response.json()["errors"] == [
            {"row": 0, "field": "colour", "message": "Extra inputs are not permitted"}
        ]

    @settings(FUZZ, max_examples=80)
    @given(st.data())
    def test_recorded_values(self, data):
        """Any JSON PUT on any field: a 200 or a plain 4xx, never a 500; every field then holds
        nothing or a value its own rule takes, and a refusal changes none."""
        position = data.draw(st.sampled_from([*STEP_FIELDS, 10]))
        kind = STEP_FIELDS[position][0] if position in STEP_FIELDS else None
        value = data.draw(step_field_values("boolean" if kind == FieldType.SIGNOFF else kind, OPTIONS))
        body = data.draw(st.one_of(st.just({"value": value}), st.just({"value": value}), json_values()))
        fields = RunStepField.objects.filter(run_step_id=self.step_id)
        before = dict(fields.values_list("position", "value"))
        response = self.client.put(
            f"{self.step_url}/fields/{position}", json.dumps(body), content_type="application/json"
        )
        after = {field.position: field for field in fields}
        if response.status_code != 200:
            self.assert_refused_plainly(response)
            assert {p: f.value for p, f in after.items()} == before, "a refused value changed a field"
        for field in after.values():
            if field.value is None:
                continue
            assert field.checked_value(field.value) == field.value, (field.label, field.value)
            for text in field.value if isinstance(field.value, list) else [field.value]:
                if isinstance(text, str):
                    assert plain_text(text, allowed="\t\n\r") == text.strip(), (field.label, text)

    @settings(FUZZ, max_examples=80)
    @given(st.data())
    def test_list_queries(self, data):
        url, fields = data.draw(
            st.sampled_from(
                [
                    (
                        "/api/v1/runs",
                        {
                            "q": search_field("BRKT"),
                            "status": occurrences("open", "todo", "complete"),
                            "part": occurrences("BRKT"),
                            "procedure": occurrences("none", "v1", "f1"),
                            "assignee": occurrences("me", "none", "1"),
                            "team": occurrences("1"),
                            "batch": occurrences("Week 1"),
                            "due_after": date_field(),
                            "due_before": date_field(),
                            "export_controlled": occurrences("true", "false"),
                            "limit": occurrences("1", "500", "501"),
                            "cursor": occurrences("WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgMV0"),
                        },
                    ),
                    ("/api/v1/parts", {"q": search_field("BRKT"), "limit": occurrences("2")}),
                    (
                        "/api/v1/inventory",
                        {
                            "part": occurrences(str(self.part_id)),
                            "q": search_field("SN"),
                            "cursor": occurrences("WzFd"),
                        },
                    ),
                    ("/api/v1/batches", {"q": search_field("Week"), "cursor": occurrences("WzFd")}),
                ]
            )
        )
        response = self.client.get(url, data.draw(form_data(fields)))
        if response.status_code != 200:
            self.assert_refused_plainly(response)
