import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from runs.models import Run, RunAttributeDefinition, RunBatch
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_run_is_assigned_to_a_user_or_a_team_not_both(org, planner):
    run = factories.RunFactory(organisation=org)
    run.assigned_user = planner
    run.assigned_team = factories.TeamFactory(organisation=org)
    with pytest.raises(ValidationError, match="Assign the run to a user or to a team, not both"):
        run.full_clean()
    with pytest.raises(IntegrityError):
        run.save()


def test_run_numbers_are_unique_per_organisation(org, other_org):
    first = factories.RunFactory(organisation=org, number=7)
    factories.RunFactory(organisation=other_org, number=7)
    twin = Run(
        organisation=org,
        number=7,
        name="Twin",
        part=first.part,
        part_inventory=first.part_inventory,
        tracking_type=first.tracking_type,
    )
    with pytest.raises(ValidationError, match="Run with this Organisation and Number already exists"):
        twin.full_clean()
    with pytest.raises(IntegrityError):
        factories.RunFactory(organisation=org, number=7)


def test_attribute_keys_are_unique_per_organisation(org, other_org):
    factories.RunAttributeDefinitionFactory(organisation=org, key="customer_po")
    factories.RunAttributeDefinitionFactory(organisation=other_org, key="customer_po")
    twin = RunAttributeDefinition(organisation=org, key="customer_po", label="PO")
    with pytest.raises(ValidationError, match="An attribute with key “customer_po” already exists"):
        twin.full_clean()
    with pytest.raises(IntegrityError):
        twin.save()


def test_a_select_attribute_needs_options(org):
    select = RunAttributeDefinition(organisation=org, key="priority", label="Priority", type="select")
    with pytest.raises(ValidationError, match="A select attribute needs at least one option"):
        select.full_clean()


def test_batch_names_are_unique_per_organisation(org, other_org):
    factories.RunBatchFactory(organisation=org, name="Week 48")
    factories.RunBatchFactory(organisation=other_org, name="Week 48")
    twin = RunBatch(organisation=org, name="Week 48")
    with pytest.raises(ValidationError, match="A batch named “Week 48” already exists"):
        twin.full_clean()
    with pytest.raises(IntegrityError):
        twin.save()


def test_export_controlled_runs_are_hidden_from_uncleared_users(org, planner, uncleared_planner):
    factories.RunFactory(organisation=org, export_controlled=True)
    open_run = factories.RunFactory(organisation=org)
    assert Run.objects.visible_to(planner).count() == 2
    assert list(Run.objects.visible_to(uncleared_planner)) == [open_run]


def test_batches_holding_an_export_controlled_run_are_hidden_from_the_uncleared(
    org, planner, uncleared_planner, outsider, django_assert_num_queries
):
    mixed = factories.RunBatchFactory(organisation=org)
    factories.RunFactory(organisation=org, batch=mixed)
    factories.RunFactory(organisation=org, batch=mixed, export_controlled=True)
    plain = factories.RunBatchFactory(organisation=org)
    factories.RunFactory(organisation=org, batch=plain)
    empty = factories.RunBatchFactory(organisation=org)
    factories.RunBatchFactory()  # another organisation's
    with django_assert_num_queries(1):
        assert set(RunBatch.objects.visible_to(uncleared_planner)) == {plain, empty}
    assert set(RunBatch.objects.visible_to(planner)) == {mixed, plain, empty}
    assert not RunBatch.objects.visible_to(outsider).exists()
