"""Migrations that change data must carry what is already stored across."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("runs", "0007_open_run_indexes")]
AFTER = [("runs", "0008_batch_names_unique_in_any_case")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def before_case_insensitive_names():
    apps = migrate(BEFORE)
    yield apps
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_batch_names_that_differ_only_in_case_are_numbered(before_case_insensitive_names):
    apps = before_case_insensitive_names
    Organisation = apps.get_model("accounts", "Organisation")
    RunBatch = apps.get_model("runs", "RunBatch")
    acme, globex = Organisation.objects.create(name="Acme"), Organisation.objects.create(name="Globex")
    for org, name in [
        (acme, "Week 1"),
        (acme, "WEEK 1"),
        (acme, "week 1"),
        (acme, "Week 1 (2)"),
        (globex, "week 1"),
    ]:
        RunBatch.objects.create(organisation=org, name=name)

    apps = migrate(AFTER)

    batches = apps.get_model("runs", "RunBatch").objects.order_by("pk")
    assert list(batches.values_list("organisation__name", "name")) == [
        ("Acme", "Week 1"),
        ("Acme", "WEEK 1 (3)"),
        ("Acme", "week 1 (4)"),
        ("Acme", "Week 1 (2)"),
        ("Globex", "week 1"),
    ]
