"""API tokens (SPEC §8): 401 without a valid one, 403 without the permission, a hash at rest."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ion_runs.accounts.models import ApiToken, token_digest
from tests import factories
from tests.api.conftest import ApiClient, api_client_for

pytestmark = pytest.mark.django_db


def test_issue_stores_only_a_hash(planner):
    token, secret = ApiToken.issue(user=planner, name="ERP")
    assert secret.startswith(f"ion_{token.prefix}_")
    assert token.digest == token_digest(secret)
    assert secret not in {token.digest, token.prefix, token.name}
    assert ApiToken.authenticate(secret) == planner


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer nope", "Bearer ion_deadbeef_wrong", "Basic dXNlcjpwYXNz", "Token ion_x"],
)
def test_no_valid_token_is_401_json(header):
    client = ApiClient(None)
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/runs", **headers)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert "token" in response.json()["detail"]


def test_revoked_token_is_401(planner):
    token, secret = ApiToken.issue(user=planner, name="ERP")
    assert ApiClient(secret).get("/api/v1/runs").status_code == 200
    token.revoked_at = timezone.now()
    token.save()
    assert ApiClient(secret).get("/api/v1/runs").status_code == 401


def test_inactive_users_token_is_401(planner):
    client = api_client_for(planner)
    planner.is_active = False
    planner.save()
    assert client.get("/api/v1/runs").status_code == 401


def test_session_login_is_not_api_auth(planner_client):
    assert planner_client.get("/api/v1/runs").status_code == 401


def test_last_used_is_recorded_at_most_once_a_minute(planner):
    token, secret = ApiToken.issue(user=planner, name="ERP")
    client = ApiClient(secret)
    client.get("/api/v1/runs")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    client.get("/api/v1/runs")
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get("/api/v1/runs")
    token.refresh_from_db()
    assert token.last_used_at > first - timedelta(minutes=1)


def test_operator_may_read_but_not_create(operator, part):
    client = api_client_for(operator)
    assert client.get("/api/v1/runs").status_code == 200
    response = client.post("/api/v1/runs", {"runs": [{"part": part.pk}]})
    assert response.status_code == 403
    assert "runs.add_run" in response.json()["detail"]


def test_user_without_permissions_is_403(org):
    client = api_client_for(factories.UserFactory(organisation=org))
    assert client.get("/api/v1/runs").status_code == 403
    assert client.get("/api/v1/parts").status_code == 403


def test_create_api_token_command_prints_the_secret_once(planner, capsys):
    call_command("create_api_token", "planner", "--name", "ERP import")
    secret = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(user=planner)
    assert token.name == "ERP import"
    assert token.digest == token_digest(secret)
    assert ApiClient(secret).get("/api/v1/runs").status_code == 200


def test_create_api_token_command_unknown_user(db):
    with pytest.raises(CommandError, match="No active user"):
        call_command("create_api_token", "ghost", "--name", "x")


def test_purge_idempotency_keys(planner):
    from ion_runs.accounts.models import IdempotencyKey

    old = IdempotencyKey.objects.create(
        user=planner, key="old", body_hash="x", created_at=timezone.now() - timedelta(hours=25)
    )
    new = IdempotencyKey.objects.create(user=planner, key="new", body_hash="x")
    call_command("purge_idempotency_keys")
    assert not IdempotencyKey.objects.filter(pk=old.pk).exists()
    assert IdempotencyKey.objects.filter(pk=new.pk).exists()


def test_admin_scopes_tokens_to_the_organisation(client, org, other_org, planner, outsider):
    admin = factories.UserFactory(
        organisation=org, username="orgadmin", is_staff=True, export_cleared=True, is_superuser=True
    )
    ours, _ = ApiToken.issue(user=planner, name="ours")
    theirs, _ = ApiToken.issue(user=outsider, name="theirs")
    client.force_login(admin)
    # A superuser sees every organisation's; an organisation admin (below) only their own.
    assert client.get(f"/admin/accounts/apitoken/{theirs.pk}/change/").status_code == 200
    scoped = factories.UserFactory(organisation=org, username="scoped", is_staff=True, export_cleared=True)
    from django.contrib.auth.models import Permission

    scoped.user_permissions.add(*Permission.objects.filter(codename__endswith="_apitoken"))
    client.force_login(scoped)
    page = client.get("/admin/accounts/apitoken/")
    assert page.status_code == 200
    assert "ours" in page.content.decode() and "theirs" not in page.content.decode()
    assert client.get(f"/admin/accounts/apitoken/{theirs.pk}/change/").status_code == 302
    assert client.get(f"/admin/accounts/apitoken/{ours.pk}/change/").status_code == 200


def test_admin_add_shows_the_secret_once(client, org, planner):
    admin = factories.UserFactory(organisation=org, username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.post("/admin/accounts/apitoken/add/", {"user": planner.pk, "name": "MES"}, follow=True)
    assert response.status_code == 200
    token = ApiToken.objects.get(name="MES")
    secret = next(
        word for word in response.content.decode().split() if word.startswith(f"ion_{token.prefix}_")
    )
    assert token.digest == token_digest(secret.rstrip("<").split("<")[0])
