"""Two operators press Pick up on the same run at the same moment: exactly one gets it."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from runs.models import Run
from tests import factories


@pytest.mark.django_db(transaction=True)
def test_exactly_one_of_two_simultaneous_pick_ups_wins(org):
    factories.ensure_demo_groups()
    run = factories.RunFactory(organisation=org)
    operators = [factories.OperatorFactory(organisation=org) for _ in range(2)]
    url = reverse("runs:pick-up", args=[run.number])
    start = threading.Barrier(len(operators))
    rows: dict[int, str] = {}

    def press(operator):
        try:
            client = Client()
            client.force_login(operator)
            start.wait()
            rows[operator.pk] = client.post(url, HTTP_HX_REQUEST="true").content.decode()
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(operator,)) for operator in operators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winner = Run.objects.get(pk=run.pk).assigned_user
    assert winner in operators
    loser = next(operator for operator in operators if operator != winner)
    assert "Picked up" in rows[winner.pk]
    assert f"Already picked up by {winner}" in rows[loser.pk]
