"""Idempotency-Key (SPEC §8): the same key and body replays, another body is 409, a race creates once."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from ion_runs.accounts.models import IdempotencyKey
from runs.models import Run
from tests import factories
from tests.api.conftest import ApiClient, api_client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/runs"


def test_same_key_same_body_replays(api, part):
    body = {"runs": [{"part": part.pk}, {"part": part.pk}], "batch_name": "Once"}
    first = api.post(URL, body, **{"Idempotency-Key": "abc-1"})
    again = api.post(URL, body, **{"Idempotency-Key": "abc-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Run.objects.count() == 2
    assert (first.headers.get("Idempotent-Replayed"), again.headers.get("Idempotent-Replayed")) == (
        None,
        "true",
    )


@pytest.mark.parametrize("key", ["abc\x00", "tab\there", "k" * 201])
def test_a_key_that_cannot_be_stored_is_refused_at_the_header(api, part, key):
    response = api.post(URL, {"runs": [{"part": part.pk}]}, **{"Idempotency-Key": key})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"row": None, "field": "Idempotency-Key", "message": "At most 200 printable ASCII characters."}
    ]
    assert Run.objects.count() == 0


def test_same_key_other_body_is_409(api, part):
    api.post(URL, {"runs": [{"part": part.pk}]}, **{"Idempotency-Key": "k"})
    response = api.post(URL, {"runs": [{"part": part.pk, "quantity": 2}]}, **{"Idempotency-Key": "k"})
    assert response.status_code == 409
    assert "Idempotency-Key" in response.json()["detail"]
    assert Run.objects.count() == 1


def test_keys_are_per_user(api, org, part):
    other = api_client_for(factories.PlannerFactory(organisation=org))
    body = {"runs": [{"part": part.pk}]}
    api.post(URL, body, **{"Idempotency-Key": "shared"})
    assert other.post(URL, body, **{"Idempotency-Key": "shared"}).status_code == 201
    assert Run.objects.count() == 2


def test_a_failed_request_keeps_no_key(api, part):
    bad = api.post(
        URL, {"runs": [{"part": part.pk, "quantity": 0, "tracking_type": "none"}]}, **{"Idempotency-Key": "x"}
    )
    assert bad.status_code == 422
    assert not IdempotencyKey.objects.exists()
    fixed = api.post(URL, {"runs": [{"part": part.pk}]}, **{"Idempotency-Key": "x"})
    assert fixed.status_code == 201


def test_an_expired_key_is_a_new_request(api, planner, part):
    body = {"runs": [{"part": part.pk}]}
    api.post(URL, body, **{"Idempotency-Key": "old"})
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert api.post(URL, body, **{"Idempotency-Key": "old"}).status_code == 201
    assert Run.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_create_once(org, planner, part):
    from ion_runs.accounts.models import ApiToken

    secret = ApiToken.issue(user=planner, name="race")[1]
    body = {"runs": [{"part": part.pk}] * 3, "batch_name": "Race"}
    barrier = threading.Barrier(2)
    answers = []

    def send():
        client = ApiClient(secret)
        barrier.wait()
        try:
            answers.append(client.post(URL, body, **{"Idempotency-Key": "race-1"}))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert Run.objects.count() == 3


def test_a_replay_rechecks_clearance(api, planner, part):
    """A planner who lost export clearance does not get a controlled run's name back."""
    body = {"runs": [{"part": part.pk, "export_controlled": True}]}
    first = api.post(URL, body, **{"Idempotency-Key": "secret-1"})
    assert first.status_code == 201
    name = first.json()["runs"][0]["name"]
    planner.export_cleared = False
    planner.save()
    again = api.post(URL, body, **{"Idempotency-Key": "secret-1"})
    assert again.status_code == 404
    assert again["Content-Type"].startswith("application/json")
    assert "Idempotent-Replayed" not in again.headers
    assert name not in again.content.decode()
    assert Run.objects.count() == 1


def test_a_replay_hides_a_batch_that_became_controlled(api, planner, part):
    """The batch's name describes its runs: once it holds a controlled run, the uncleared lose it."""
    body = {"runs": [{"part": part.pk}], "batch_name": "Quiet batch"}
    first = api.post(URL, body, **{"Idempotency-Key": "batch-1"})
    assert first.status_code == 201
    batch = Run.objects.get().batch
    factories.RunFactory(
        organisation=planner.organisation, number=1000, part=part, batch=batch, export_controlled=True
    )
    planner.export_cleared = False
    planner.save()
    again = api.post(URL, body, **{"Idempotency-Key": "batch-1"})
    assert again.status_code == 404
    assert "Quiet batch" not in again.content.decode()


def test_a_replay_to_a_still_cleared_user_is_unchanged(api, part):
    body = {"runs": [{"part": part.pk, "export_controlled": True}], "batch_name": "Cleared"}
    first = api.post(URL, body, **{"Idempotency-Key": "ok-1"})
    again = api.post(URL, body, **{"Idempotency-Key": "ok-1"})
    assert again.status_code == 201
    assert again.json() == first.json()
