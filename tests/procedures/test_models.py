import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from procedures.models import Procedure, ProcedureStep, ProcedureVersion, StepField, VersionStatus
from tests import factories

pytestmark = pytest.mark.django_db


def test_revise_copies_the_newest_version_into_a_draft(org):
    part = factories.PartFactory(organisation=org)
    released = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=3)
    draft = released.revise()
    assert (draft.number, draft.status, draft.title) == (2, VersionStatus.DRAFT, released.title)
    assert list(draft.parts.all()) == [part]
    assert [s.title for s in draft.steps.all()] == ["Step 1", "Step 2", "Step 3"]
    copied = StepField.objects.filter(step__version=draft).order_by("step__position", "position")
    assert [(f.label, f.min_value, f.max_value) for f in copied][:2] == [
        ("Torque (Nm)", 1, 20),
        ("Inspector", None, None),
    ]
    assert released.steps.count() == 3  # the original is untouched


def test_revise_refuses_a_second_draft(org):
    released = factories.ReleasedVersionFactory(procedure__organisation=org)
    released.revise()
    with pytest.raises(ValidationError, match="already has a draft"):
        released.revise()


def test_at_most_one_draft_per_family_is_a_constraint(org):
    draft = factories.ProcedureVersionFactory(procedure__organisation=org)
    twin = ProcedureVersion(organisation=org, procedure=draft.procedure, number=2, title="Twin")
    with pytest.raises(ValidationError, match="already has a draft"):
        twin.full_clean()
    with pytest.raises(IntegrityError):
        twin.save()


def test_release_supersedes_the_previous_release(org):
    first = factories.ReleasedVersionFactory(procedure__organisation=org)
    second = first.revise()
    second.release()
    first.refresh_from_db()
    assert (first.status, second.status) == (VersionStatus.SUPERSEDED, VersionStatus.RELEASED)
    assert second.released_at is not None


def test_release_refuses_unapproved_steps(org):
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, steps=3)
    draft.steps.filter(position=2).update(approved=False)
    with pytest.raises(ValidationError, match="Procedure has unreleased steps: approve step 2"):
        draft.release()
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT and not draft.is_runnable


def test_a_released_version_cannot_be_released_again(org):
    released = factories.ReleasedVersionFactory(procedure__organisation=org)
    with pytest.raises(ValidationError, match="cannot be released"):
        released.release()


def test_submit_for_review_moves_a_draft_along(org):
    draft = factories.ProcedureVersionFactory(procedure__organisation=org)
    draft.submit_for_review()
    assert draft.status == VersionStatus.IN_REVIEW
    draft.release()
    assert draft.status == VersionStatus.RELEASED and draft.is_runnable


def test_released_steps_and_fields_cannot_be_edited(org):
    released = factories.ReleasedVersionFactory(procedure__organisation=org, steps=1)
    step = released.steps.get()
    step.title = "Changed"
    with pytest.raises(ValidationError, match="only a draft's steps can be edited"):
        step.save()
    with pytest.raises(ValidationError):
        ProcedureStep(version=released, position=9, title="New").save()
    field = step.fields.first()
    field.label = "Changed"
    with pytest.raises(ValidationError, match="only a draft's steps can be edited"):
        field.save()


def test_a_select_field_needs_options(org):
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, steps=1)
    field = StepField(step=draft.steps.get(), position=5, label="Result", type="select")
    with pytest.raises(ValidationError, match="needs at least one option"):
        field.full_clean()


def test_runnable_lists_released_versions_with_every_step_approved(org):
    good = factories.ReleasedVersionFactory(procedure__organisation=org)
    bad = factories.ReleasedVersionFactory(procedure__organisation=org)
    bad.steps.filter(position=1).update(approved=False)
    factories.ProcedureVersionFactory(procedure__organisation=org)
    assert list(ProcedureVersion.objects.runnable()) == [good]


def test_an_older_version_cannot_be_released_over_a_newer_one(org):
    first = factories.ReleasedVersionFactory(procedure__organisation=org)
    second = first.revise()
    second.submit_for_review()
    third = second.revise()  # the newest version, copied while the second was in review
    third.release()
    with pytest.raises(ValidationError, match="Version 3 of this procedure is already released"):
        second.release()
    statuses = dict(first.procedure.versions.values_list("number", "status"))
    assert statuses == {1: VersionStatus.SUPERSEDED, 2: VersionStatus.IN_REVIEW, 3: VersionStatus.RELEASED}


def test_version_numbers_are_unique_per_family(org):
    released = factories.ReleasedVersionFactory(procedure__organisation=org)
    twin = ProcedureVersion(
        organisation=org, procedure=released.procedure, number=1, title="Twin", status="in_review"
    )
    with pytest.raises(ValidationError, match="with this Procedure and Version already exists"):
        twin.full_clean()
    with pytest.raises(IntegrityError):
        twin.save()


def test_step_and_field_positions_are_unique(org):
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, steps=1)
    twin_step = ProcedureStep(version=draft, position=1, title="Twin")
    with pytest.raises(ValidationError, match="with this Version and Position already exists"):
        twin_step.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        twin_step.save()
    twin_field = StepField(step=draft.steps.get(), position=1, label="Twin")
    with pytest.raises(ValidationError, match="with this Step and Position already exists"):
        twin_field.full_clean()
    with pytest.raises(IntegrityError):
        twin_field.save()


# Export control belongs to the family (SPEC §6).


def test_a_family_with_an_export_controlled_version_is_hidden_whole(
    org, planner, uncleared_planner, outsider, django_assert_num_queries
):
    first = factories.ReleasedVersionFactory(procedure__organisation=org)
    second = factories.ProcedureVersionFactory(procedure=first.procedure, number=2, export_controlled=True)
    plain = factories.ReleasedVersionFactory(procedure__organisation=org)
    factories.ReleasedVersionFactory()  # another organisation's
    with django_assert_num_queries(1):
        assert set(ProcedureVersion.objects.visible_to(uncleared_planner)) == {plain}
    with django_assert_num_queries(1):
        assert set(Procedure.objects.visible_to(uncleared_planner)) == {plain.procedure}
    assert set(ProcedureVersion.objects.visible_to(planner)) == {first, second, plain}
    assert set(Procedure.objects.visible_to(planner)) == {first.procedure, plain.procedure}
    assert not ProcedureVersion.objects.visible_to(outsider).exists()


def test_a_new_version_of_a_controlled_family_is_controlled(org):
    first = factories.ReleasedVersionFactory(procedure__organisation=org, export_controlled=True)
    second = ProcedureVersion.objects.create(
        organisation=org, procedure=first.procedure, number=2, title=first.title, status="in_review"
    )
    assert second.export_controlled is True
    # Older data may hold an uncontrolled newest version; its revision is controlled all the same.
    ProcedureVersion.objects.filter(pk=second.pk).update(export_controlled=False)
    assert second.revise().export_controlled is True


def test_a_draft_of_a_controlled_family_must_say_so(org):
    first = factories.ReleasedVersionFactory(procedure__organisation=org, export_controlled=True)
    draft = ProcedureVersion(organisation=org, procedure=first.procedure, number=2, title=first.title)
    with pytest.raises(ValidationError, match="Version 1 of this procedure is export controlled"):
        draft.full_clean()
    draft.export_controlled = True
    draft.full_clean()
