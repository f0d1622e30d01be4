"""The "API tokens" page (SPEC §8): a user lists, creates and revokes their own tokens."""

import re

import pytest
from django.urls import reverse

from ion_runs.accounts.models import ApiToken
from tests import factories
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

PAGE = "/accounts/api-tokens/"


def secret_in(response) -> str | None:
    found = re.search(r"ion_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}", response.content.decode())
    return found and found.group()


def test_the_menu_links_to_the_page(planner_client):
    html = planner_client.get("/").content.decode()
    assert f'href="{PAGE}"' in html and "API tokens" in html


def test_the_menu_hides_it_from_users_who_may_not_use_the_api(client, org):
    client.force_login(factories.UserFactory(organisation=org))
    assert PAGE not in client.get("/").content.decode()
    assert client.get(PAGE).status_code == 403


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


def test_it_lists_only_my_tokens(planner_client, planner, org):
    mine, _ = ApiToken.issue(user=planner, name="ERP import")
    ApiToken.issue(user=factories.PlannerFactory(organisation=org), name="Someone else's MES")
    revoked, _ = ApiToken.issue(user=planner, name="Old dispatcher")
    revoked.revoke()
    html = planner_client.get(PAGE).content.decode()
    assert "ERP import" in html and f"ion_{mine.prefix}_…" in html
    assert "Old dispatcher" in html and "Revoked" in html
    assert "Someone else" not in html
    # Only the active token can be revoked.
    assert reverse("accounts:api-token-revoke", args=[mine.pk]) in html
    assert reverse("accounts:api-token-revoke", args=[revoked.pk]) not in html


def test_creating_shows_the_secret_once(planner_client, planner):
    response = planner_client.post(PAGE, {"name": "ERP import"})
    assert response.status_code == 200
    assert "shown only this once" in response.content.decode()
    secret = secret_in(response)
    token = ApiToken.objects.get(user=planner)
    assert token.name == "ERP import" and secret.startswith(f"ion_{token.prefix}_")
    assert "no-store" in response["Cache-Control"]
    assert ApiClient(secret).get("/api/v1/runs").status_code == 200
    # Never again: the list shows the prefix only.
    again = planner_client.get(PAGE)
    assert secret_in(again) is None and f"ion_{token.prefix}_…" in again.content.decode()


def test_a_token_needs_a_name(planner_client):
    response = planner_client.post(PAGE, {"name": "  "})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert secret_in(response) is None
    assert not ApiToken.objects.exists()


def test_revoking_asks_first(planner_client, planner):
    token, secret = ApiToken.issue(user=planner, name="ERP import")
    url = reverse("accounts:api-token-revoke", args=[token.pk])
    page = planner_client.get(url)
    assert page.status_code == 200 and "Revoke “ERP import”?" in page.content.decode()
    token.refresh_from_db()
    assert token.is_active
    response = planner_client.post(url, follow=True)
    assert response.redirect_chain == [(PAGE, 302)]
    assert "Revoked “ERP import”" in response.content.decode()
    token.refresh_from_db()
    assert not token.is_active
    assert ApiClient(secret).get("/api/v1/runs").status_code == 401


def test_revoking_twice_keeps_the_first_moment(planner_client, planner):
    token, _ = ApiToken.issue(user=planner, name="ERP import")
    url = reverse("accounts:api-token-revoke", args=[token.pk])
    planner_client.post(url)
    token.refresh_from_db()
    first = token.revoked_at
    planner_client.post(url)
    token.refresh_from_db()
    assert token.revoked_at == first


@pytest.mark.parametrize("whose", ["colleague", "outsider"])
def test_another_users_token_is_404(planner_client, org, outsider, whose):
    owner = factories.PlannerFactory(organisation=org) if whose == "colleague" else outsider
    token, secret = ApiToken.issue(user=owner, name="Theirs")
    url = reverse("accounts:api-token-revoke", args=[token.pk])
    assert planner_client.get(url).status_code == 404
    assert planner_client.post(url).status_code == 404
    token.refresh_from_db()
    assert token.is_active
    assert ApiClient(secret).get("/api/v1/runs").status_code == 200
