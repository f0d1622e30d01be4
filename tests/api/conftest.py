import pytest
from django.test import Client

from ion_runs.accounts.models import ApiToken
from tests import factories


class ApiClient:
    """The test client, sending a bearer token and JSON."""

    def __init__(self, secret: str | None):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {secret}"} if secret else {}

    def get(self, url, data=None, **headers):
        return self.client.get(url, data, headers=self.headers | headers)

    def post(self, url, body, **headers):
        return self.client.post(url, body, content_type="application/json", headers=self.headers | headers)

    def put(self, url, body, **headers):
        return self.client.put(url, body, content_type="application/json", headers=self.headers | headers)


def api_client_for(user) -> ApiClient:
    return ApiClient(ApiToken.issue(user=user, name="tests")[1])


@pytest.fixture
def api(planner):
    return api_client_for(planner)


@pytest.fixture
def part(org):
    return factories.PartFactory(organisation=org, number="BRKT-ASSY-001", revision="B")


@pytest.fixture
def version(org, part):
    return factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], title="Bracket build", steps=3
    )
