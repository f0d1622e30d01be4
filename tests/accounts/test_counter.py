import threading

import pytest
from django.db import connection

from ion_runs.accounts.models import Counter
from tests import factories


@pytest.mark.django_db
def test_it_hands_out_consecutive_values(org):
    assert list(Counter.take(org, "run", 3)) == [1, 2, 3]
    assert list(Counter.take(org, "run", 2)) == [4, 5]
    assert list(Counter.take(org, "serial")) == [1]


@pytest.mark.django_db
def test_each_organisation_counts_on_its_own(org, other_org):
    Counter.take(org, "run", 5)
    assert list(Counter.take(other_org, "run")) == [1]


@pytest.mark.django_db(transaction=True)
def test_concurrent_takers_never_get_the_same_value():
    org = factories.OrganisationFactory(name="Concurrent")
    taken, errors = [], []
    barrier = threading.Barrier(8)

    def take_many():
        try:
            barrier.wait()
            for _ in range(25):
                taken.extend(Counter.take(org, "serial", 2))
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=take_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(taken) == list(range(1, 8 * 25 * 2 + 1))
