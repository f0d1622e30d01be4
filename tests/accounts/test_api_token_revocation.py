"""A revoked API token stays revoked: neither the admin nor the model brings it back."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from ion_runs.accounts.models import ApiToken
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db


def change_page(token) -> str:
    return reverse("admin:accounts_apitoken_change", args=[token.pk])


@pytest.fixture
def revoked(planner):
    token, secret = ApiToken.issue(user=planner, name="ERP")
    token.revoke()
    return token, secret


def test_the_admin_cannot_clear_revoked_at(admin_client, revoked):
    token, secret = revoked
    page = admin_client.get(change_page(token)).content.decode()
    assert 'name="revoked_at' not in page
    response = admin_client.post(
        change_page(token), {"name": "ERP again", "revoked_at_0": "", "revoked_at_1": ""}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.name == "ERP again"
    assert token.revoked_at is not None
    assert ApiClient(secret).get("/api/v1/runs").status_code == 401


def test_the_admin_can_still_revoke_by_hand(admin_client, planner):
    token, secret = ApiToken.issue(user=planner, name="ERP")
    page = admin_client.get(change_page(token)).content.decode()
    assert 'name="revoked_at_0"' in page
    response = admin_client.post(
        change_page(token), {"name": "ERP", "revoked_at_0": "2026-12-01", "revoked_at_1": "08:00:00"}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert ApiClient(secret).get("/api/v1/runs").status_code == 401


def test_the_model_refuses_to_unrevoke(revoked):
    token, secret = revoked
    token.revoked_at = None
    with pytest.raises(ValidationError, match="stays revoked"):
        token.full_clean()
    with pytest.raises(ValidationError, match="stays revoked"):
        token.save()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert ApiToken.authenticate(secret) is None


def test_a_stale_copy_cannot_unrevoke(planner):
    token, secret = ApiToken.issue(user=planner, name="ERP")
    stale = ApiToken.objects.get(pk=token.pk)
    token.revoke()
    stale.name = "Renamed"
    with pytest.raises(ValidationError, match="stays revoked"):
        stale.save()
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert ApiToken.authenticate(secret) is None
