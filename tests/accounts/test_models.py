import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from ion_runs.accounts.models import Counter, Team
from tests import factories

pytestmark = pytest.mark.django_db


def test_team_names_are_unique_per_organisation(org, other_org):
    factories.TeamFactory(organisation=org, name="Final Assembly")
    factories.TeamFactory(organisation=other_org, name="Final Assembly")
    twin = Team(organisation=org, name="Final Assembly")
    with pytest.raises(ValidationError, match="A team named “Final Assembly” already exists"):
        twin.full_clean()
    with pytest.raises(IntegrityError):
        twin.save()


def test_a_counter_key_exists_once_per_organisation(org):
    Counter.take(org, "run")
    with pytest.raises(IntegrityError):
        Counter.objects.create(organisation=org, key="run")


def test_a_user_sees_their_organisations_cleared_things_only(org, other_org):
    cleared = factories.UserFactory(organisation=org, export_cleared=True)
    uncleared = factories.UserFactory(organisation=org)
    plain = factories.PartFactory(organisation=org)
    secret = factories.PartFactory(organisation=org, export_controlled=True)
    foreign = factories.PartFactory(organisation=other_org)
    assert [cleared.can_see(p) for p in (plain, secret, foreign)] == [True, True, False]
    assert [uncleared.can_see(p) for p in (plain, secret, foreign)] == [True, False, False]
