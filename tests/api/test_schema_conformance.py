"""schemathesis against /api/v1/openapi.json: whatever a client sends, no 500, and every answer
is one the OpenAPI document describes (status, content type, body); what the document calls
valid the request validator accepts, and what it calls invalid is refused.

Each operation gets a bounded, derandomised set of generated requests, sent through the WSGI
app with a valid token of a planner whose organisation has parts, procedures, units, batches
and runs, so the successful answers are checked too, not only the refusals.
"""

from decimal import Decimal
from unittest import mock

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ion_runs import api as ion_api
from ion_runs.accounts.models import ApiToken, Counter
from procedures.models import FieldType
from tests import factories

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    # Requests the schema forbids are refused (4xx), never acted on.
    negative_data_rejection,
]

# What a request the document calls valid may still get: its run, step or field does not exist
# (404), the state does not allow it (409), or what it names does not exist or takes no such
# value (422: a part, a user, a field's number range). Only the database can tell those; the
# document must say everything else, so the request validator refuses none of these.
ACCEPTED_WHEN_VALID = {200, 201, 202, 404, 409, 422}


@pytest.fixture
def refused_by_validator():
    """The requests the API's request validator (pydantic, before any endpoint runs) refused."""
    refused = []
    real = ion_api._validation_errors

    def spy(errors):
        refused.append(errors)
        return real(errors)

    with mock.patch.object(ion_api, "_validation_errors", spy):
        yield refused


@pytest.fixture
def wsgi_requests():
    """Requests through the WSGI handler inside the test's transaction.

    The handler closes the database connection after each request, as it should between
    real requests; here that would end the test's transaction, so (as Django's test client
    does) it is kept open.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def token(org):
    planner = factories.PlannerFactory(organisation=org, username="planner", export_cleared=True)
    part = factories.PartFactory(organisation=org, number="BRKT-ASSY-001", revision="A")
    version = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=2)
    batch = factories.RunBatchFactory(organisation=org, name="Week 1")
    for i in range(3):
        factories.PartInventoryFactory(part=part, serial_number=f"SN-{i}")
        # Small numbers and positions, the ones generated paths hold most, so the step endpoints'
        # answers are checked too: run 1's first step is in progress, the others to do.
        run = factories.RunFactory(
            organisation=org,
            number=i + 1,
            part=part,
            procedure_version=version,
            batch=batch,
            status="in_progress" if i == 0 else "todo",
        )
        for position in (1, 2):
            step = factories.RunStepFactory(
                run=run, position=position, status="in_progress" if i == 0 and position == 1 else "todo"
            )
            factories.RunStepFieldFactory(
                run_step=step, position=1, required=True, min_value=Decimal(1), max_value=Decimal(20)
            )
            factories.RunStepFieldFactory(
                run_step=step, position=2, label="Inspector", type=FieldType.SIGNOFF
            )
    # The runs above were numbered by hand: new ones are numbered after them.
    Counter.objects.create(organisation=org, key="run", value=3)
    return ApiToken.issue(user=planner, name="schemathesis")[1]


# Serving the OpenAPI document reads no table, so it is loaded once, when the tests are collected.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_is_in_the_schema(case, token, wsgi_requests, refused_by_validator):
    refused_by_validator.clear()  # hypothesis runs many cases within one call of the test
    # A case made invalid by leaving the token out is sent without it.
    without_token = case.meta.is_negative_at(ParameterLocation.HEADER) and "Authorization" not in (
        case.headers or {}
    )
    headers = {} if without_token else {"Authorization": f"Bearer {token}"}
    response = case.call_and_validate(headers=headers, checks=CHECKS)
    if case.meta.generation.mode.is_positive:
        assert response.status_code in ACCEPTED_WHEN_VALID, response.text
        assert not refused_by_validator, f"The document calls this valid: {response.text}"
