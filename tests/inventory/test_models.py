import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from inventory.models import PartInventory
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_serial_is_unique_within_the_organisation(org, other_org):
    part = factories.PartFactory(organisation=org)
    factories.PartInventoryFactory(part=part, serial_number="SN-1")
    factories.PartInventoryFactory(part=factories.PartFactory(organisation=other_org), serial_number="SN-1")
    twin = PartInventory(organisation=org, part=part, serial_number="SN-1", quantity=1)
    with pytest.raises(ValidationError, match="Serial number SN-1 is already used in this organisation"):
        twin.full_clean()
    with pytest.raises(IntegrityError):
        twin.save()


def test_a_serialized_unit_has_quantity_one(org):
    unit = PartInventory(
        organisation=org, part=factories.PartFactory(organisation=org), serial_number="SN-2", quantity=3
    )
    with pytest.raises(ValidationError, match="A serialized unit has a quantity of exactly 1"):
        unit.full_clean()
    with pytest.raises(IntegrityError):
        unit.save()


def test_quantity_is_never_negative(org):
    unit = PartInventory(organisation=org, part=factories.PartFactory(organisation=org), quantity=-1)
    with pytest.raises(ValidationError, match="Quantity cannot be negative"):
        unit.full_clean()
    with pytest.raises(IntegrityError):
        unit.save()


def test_lots_may_repeat_within_a_part(org):
    part = factories.PartFactory(organisation=org, tracking_type="lot")
    for _ in range(2):
        PartInventory.objects.create(organisation=org, part=part, lot_number="LOT-1", quantity=5)
    assert part.inventory.count() == 2


def test_part_number_and_revision_are_unique_per_organisation(org, other_org):
    factories.PartFactory(organisation=org, number="P-1", revision="A")
    factories.PartFactory(organisation=other_org, number="P-1", revision="A")
    factories.PartFactory(organisation=org, number="P-1", revision="B")
    twin = factories.PartFactory.build(organisation=org, number="P-1", revision="A")
    with pytest.raises(ValidationError, match="Part P-1 already has a revision A"):
        twin.full_clean()
    with pytest.raises(IntegrityError):
        twin.save()


def test_a_part_pattern_must_have_a_sequence(org):
    part = factories.PartFactory.build(organisation=org, serial_pattern="{part}-X")
    with pytest.raises(ValidationError, match=r"needs a \{seq\} token"):
        part.full_clean()


@pytest.mark.parametrize(
    ("status", "runnable"),
    [
        ("available", True),
        ("kitted", True),
        ("wip", True),
        ("in_build", True),
        ("consumed", False),
        ("installed", False),
        ("scrapped", False),
        ("on_hold", False),
    ],
)
def test_only_some_states_take_a_run(status, runnable):
    assert PartInventory(status=status).can_take_run is runnable
