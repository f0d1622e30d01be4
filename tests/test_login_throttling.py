"""SPEC §11: failed logins are limited per username and per address, and the limit wears off."""

import datetime

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests import factories

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed logins for this account or address. Try again in 15 minutes."
LOGIN = reverse("accounts:login")


def log_in(client, username, password="wrong password", **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def fail(client, username, times=5, **extra):
    for _ in range(times):
        response = log_in(client, username, **extra)
    return response


def age_attempts(minutes: int) -> None:
    """Make every recorded failure `minutes` old, as if that much time had passed."""
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=minutes))


def is_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_four_failures_still_let_the_right_password_in(client, planner):
    response = fail(client, "planner", times=4)
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()

    assert log_in(client, "planner", factories.PASSWORD).status_code == 302
    assert is_logged_in(client)


def test_five_failures_lock_the_username_even_with_the_right_password(client, planner):
    response = fail(client, "planner")
    assert response.status_code == 429
    assert LOCKED in response.content.decode()

    response = log_in(client, "planner", factories.PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    # The app's own login page, not axes' bare text.
    assert LOCKED in page
    assert "Log in to ion-runs" in page
    assert 'class="site-header"' in page
    assert not is_logged_in(client)


def test_the_username_stays_locked_from_another_address(planner):
    for number in range(5):
        log_in(Client(REMOTE_ADDR=f"10.0.0.{number + 1}"), "planner")

    elsewhere = Client(REMOTE_ADDR="10.0.0.99")
    response = log_in(elsewhere, "planner", factories.PASSWORD)
    assert response.status_code == 429
    assert LOCKED in response.content.decode()


def test_an_address_with_five_failures_is_locked_for_every_username(client, planner, operator):
    for username in ["ghost1", "ghost2", "ghost3", "ghost4", "ghost5"]:
        log_in(client, username)

    response = log_in(client, "operator", factories.PASSWORD)
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    # Another address is not affected.
    assert log_in(Client(REMOTE_ADDR="10.0.0.7"), "operator", factories.PASSWORD).status_code == 302


def test_the_lock_wears_off_after_fifteen_minutes(client, planner):
    fail(client, "planner")
    assert log_in(client, "planner", factories.PASSWORD).status_code == 429

    age_attempts(14)
    assert log_in(client, "planner", factories.PASSWORD).status_code == 429

    age_attempts(16)
    assert log_in(client, "planner", factories.PASSWORD).status_code == 302
    assert is_logged_in(client)


def test_tries_during_the_lock_do_not_extend_it(client, planner):
    fail(client, "planner")
    age_attempts(14)
    fail(client, "planner", times=3)

    age_attempts(16)
    assert log_in(client, "planner", factories.PASSWORD).status_code == 302


def test_the_admin_login_is_limited_too(client, planner):
    admin_login = reverse("admin:login")
    for _ in range(5):
        client.post(admin_login, {"username": "planner", "password": "wrong password"})

    response = log_in(client, "planner", factories.PASSWORD)
    assert response.status_code == 429


def test_behind_the_proxy_the_forwarded_address_counts(client, planner, monkeypatch):
    monkeypatch.setattr("ion_runs.settings.BEHIND_PROXY", True)
    # Everyone arrives from the proxy's address; the proxy appends the client's to X-Forwarded-For.
    fail(client, "ghost", HTTP_X_FORWARDED_FOR="10.1.1.1")

    colleague = log_in(client, "planner", factories.PASSWORD, HTTP_X_FORWARDED_FOR="10.1.1.2")
    assert colleague.status_code == 302
    # A client cannot escape by putting a made-up address first: only the proxy's entry counts.
    forged = log_in(Client(), "planner", factories.PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.1, 10.1.1.1")
    assert forged.status_code == 429
