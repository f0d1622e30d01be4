"""Whatever the step panel is sent, it answers, and what it stores keeps its field's rule.

One target, the step actions (SPEC §12): Hypothesis posts a few hundred forms drawn from
tests/strategies.py to every action of a step in progress whose fields are of every type.
Each example runs in a transaction of its own, rolled back afterwards.
"""

import logging
import traceback

from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from procedures.models import FieldType
from runs.models import RunStepField
from runs.models.steps import StepAction, StepStatus
from tests import factories
from tests.strategies import FUZZ, date_field, flags, form_data, numbers, occurrences, shorten, texts

HTMX = {"HTTP_HX_REQUEST": "true"}
OPTIONS = ["Pass", "Fail", "N/A"]
FIELDS = [
    dict(type=FieldType.NUMBER, label="Torque (Nm)", required=True, min_value=4, max_value=12),
    dict(type=FieldType.TEXT, label="Tool ID", max_length=10, pattern=r"T-\d{4}"),
    dict(type=FieldType.BOOLEAN, label="Visual check", required=True),
    dict(type=FieldType.SELECT, label="Result", options=OPTIONS),
    dict(type=FieldType.MULTISELECT, label="Defects", options=OPTIONS),
    dict(type=FieldType.DATETIME, label="Cured at"),
    dict(type=FieldType.SIGNOFF, label="Inspector"),
    dict(type=FieldType.FILE, label="Torque log"),
]


class StepPanelNeverA500(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name in ("django.request", "django.security"):
            log = logging.getLogger(name)
            cls.addClassCleanup(log.setLevel, log.level)
            log.setLevel(logging.CRITICAL)

    @classmethod
    def setUpTestData(cls):
        org = factories.OrganisationFactory(name="Acme Rockets")
        cls.operator = factories.OperatorFactory(organisation=org, username="operator")
        cls.worked_run = factories.RunFactory(
            organisation=org, assigned_user=cls.operator, status="in_progress"
        )
        step = factories.RunStepFactory(run=cls.worked_run, position=1, status=StepStatus.IN_PROGRESS)
        for position, spec in enumerate(FIELDS, start=1):
            factories.RunStepFieldFactory(run_step=step, position=position, **spec)
        factories.RunStepFactory(run=cls.worked_run, position=2)
        client = Client()
        client.force_login(cls.operator)
        cls.session = client.cookies[django_settings.SESSION_COOKIE_NAME].value

    def operator_client(self) -> Client:
        client = Client(raise_request_exception=False)
        client.cookies[django_settings.SESSION_COOKIE_NAME] = self.session
        return client

    @settings(FUZZ, max_examples=40)
    @given(st.data())
    def test_step_actions(self, data):
        action = data.draw(st.sampled_from(["save", *StepAction.values, "junk"]))
        position = data.draw(st.sampled_from([1, 1, 1, 2, 99]))
        fields = {
            "field-1": occurrences("7.5", "4", "12.0001", "1e1", "NaN", "-0", "٣", " 8 ", "9" * 50),
            "field-2": occurrences("T-1234", "T-12345", "x"),
            "field-3": occurrences("yes", "no", "maybe"),
            "field-4": occurrences(*OPTIONS, "Nope"),
            "field-5": occurrences(*OPTIONS, "Nope"),
            "field-6": st.one_of(
                date_field(), occurrences("0001-01-01T00:00", "9999-12-31T23:59", "2026-12-07T14:30")
            ),
            "field-7": flags(),
            "field-99": occurrences("1"),
            f"{action}-{position}-reason": st.lists(texts(), max_size=2),
        }
        payload = data.draw(form_data(fields))
        if data.draw(st.booleans()):
            payload["field-1"] = [data.draw(numbers())]
        if data.draw(st.booleans()):
            payload["field-8"] = SimpleUploadedFile("log.csv", b"nm\n7.5\n")
        headers = data.draw(st.sampled_from([{}, HTMX]))
        url = reverse("runs:step-action", args=[self.worked_run.number, position, action])
        response = self.operator_client().post(url, payload, **headers)
        if response.exc_info:
            self.fail(shorten("".join(traceback.format_exception(*response.exc_info))))
        self.assertLess(response.status_code, 500)
        for field in RunStepField.objects.filter(run_step__run=self.worked_run, value__isnull=False):
            if field.type != FieldType.FILE:
                # What was stored is what the field's own rule gives back for it.
                self.assertEqual(field.checked_value(field.value), field.value, field.label)
