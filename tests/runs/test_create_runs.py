"""The one service that creates runs: rules, revision lock, all-or-nothing, counters, queries."""

import threading
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import InventoryStatus, PartInventory, TrackingType
from procedures.models import ProcedureStep
from runs.models import Run, RunBatch, RunDraft, RunStatus, RunStep, RunStepField
from runs.services import RunCreationError, RunRequest, create_runs, create_runs_from_drafts
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def part(org):
    return factories.PartFactory(organisation=org, number="BRKT-ASSY-001")


@pytest.fixture
def version(org, part):
    return factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], steps=3, title="Bracket build"
    )


def build(part, version=None, **kwargs) -> RunRequest:
    return RunRequest(part_id=part.pk, procedure_version_id=version and version.pk, **kwargs)


def problems_of(excinfo) -> str:
    return " ".join(m for ms in excinfo.value.rows.values() for m in ms) + " ".join(excinfo.value.batch)


def test_it_creates_serialized_runs_with_auto_serials_and_names(planner, part, version):
    runs = create_runs(user=planner, requests=[build(part, version), build(part, version)])
    assert [(r.number, r.name, r.status) for r in runs] == [
        (1, "Run 1: BRKT-ASSY-001 · SN-00001", RunStatus.TODO),
        (2, "Run 2: BRKT-ASSY-001 · SN-00002", RunStatus.TODO),
    ]
    unit = runs[0].part_inventory
    assert (unit.serial_number, unit.quantity, unit.status) == ("SN-00001", 1, InventoryStatus.IN_BUILD)
    assert runs[0].created_by == planner


def test_a_part_pattern_has_its_own_sequence(planner, org, part):
    special = factories.PartFactory(organisation=org, number="VLV", serial_pattern="{part}-{rev}-{seq:03}")
    runs = create_runs(user=planner, requests=[build(special), build(part), build(special)])
    assert [r.part_inventory.serial_number for r in runs] == ["VLV-A-001", "SN-00001", "VLV-A-002"]


def test_typed_values_are_kept(planner, part):
    (run,) = create_runs(user=planner, requests=[build(part, serial_number="SN-TYPED", name="PO 4711")])
    assert (run.name, run.part_inventory.serial_number) == ("PO 4711", "SN-TYPED")


def test_lot_and_quantity_runs(planner, org):
    lot_part = factories.PartFactory(organisation=org, tracking_type=TrackingType.LOT)
    bulk_part = factories.PartFactory(organisation=org, tracking_type=TrackingType.NONE)
    lot, count = create_runs(
        user=planner, requests=[build(lot_part, quantity=40), build(bulk_part, quantity=7)]
    )
    assert lot.part_inventory.lot_number.startswith("LOT-") and lot.part_inventory.quantity == 40
    assert count.part_inventory.serial_number == count.part_inventory.lot_number == ""
    assert count.part_inventory.quantity == 7


def test_attach_links_the_unit_and_marks_it_wip(planner, part, version):
    unit = factories.PartInventoryFactory(part=part, status=InventoryStatus.KITTED)
    (run,) = create_runs(user=planner, requests=[build(part, version, source="attach", inventory_id=unit.pk)])
    unit.refresh_from_db()
    assert run.part_inventory == unit and unit.status == InventoryStatus.WIP
    assert PartInventory.objects.count() == 1


def test_run_numbers_count_per_organisation(planner, outsider, part, other_org):
    create_runs(user=planner, requests=[build(part)] * 3)
    foreign_part = factories.PartFactory(organisation=other_org)
    (run,) = create_runs(user=outsider, requests=[build(foreign_part)])
    assert run.number == 1


def test_export_control_follows_part_procedure_or_request(planner, org, part, version):
    secret = factories.PartFactory(organisation=org, export_controlled=True)
    runs = create_runs(
        user=planner,
        requests=[
            build(secret),
            build(part, version),
            build(part, version, export_controlled=True),
        ],
    )
    assert [r.export_controlled for r in runs] == [True, False, True]


def test_steps_and_fields_are_copied_in_order(planner, part, version):
    (run,) = create_runs(user=planner, requests=[build(part, version)])
    assert [(s.position, s.title, s.status) for s in run.steps.all()] == [
        (1, "Step 1", "todo"),
        (2, "Step 2", "todo"),
        (3, "Step 3", "todo"),
    ]
    field = RunStepField.objects.filter(run_step__run=run).order_by("run_step__position", "position").first()
    assert (field.label, field.type, field.required, field.min_value, field.max_value) == (
        "Torque (Nm)",
        "number",
        True,
        1,
        20,
    )


def test_the_revision_is_locked_at_create_time(planner, part, version):
    (old_run,) = create_runs(user=planner, requests=[build(part, version)])
    draft = version.revise()
    ProcedureStep.objects.create(version=draft, position=4, title="New final check", approved=True)
    draft.release()
    old_run.refresh_from_db()
    assert old_run.procedure_version == version and old_run.steps.count() == 3
    (new_run,) = create_runs(user=planner, requests=[build(part, version)])  # authored on v1
    assert new_run.procedure_version == draft
    assert [s.title for s in new_run.steps.all()][-1] == "New final check"


@pytest.mark.parametrize("status", ["consumed", "installed", "scrapped", "on_hold"])
def test_used_up_units_cannot_take_a_run(planner, part, status):
    unit = factories.PartInventoryFactory(part=part, status=status)
    with pytest.raises(RunCreationError) as excinfo:
        create_runs(user=planner, requests=[build(part, source="attach", inventory_id=unit.pk)])
    assert "Part inventory is not in a state that allows a new run" in excinfo.value.rows[0][0]


@pytest.mark.parametrize("status", ["draft", "in_review"])
def test_unreleased_procedures_are_refused(planner, org, part, status):
    unreleased = factories.ProcedureVersionFactory(procedure__organisation=org, parts=[part], status=status)
    with pytest.raises(RunCreationError) as excinfo:
        create_runs(user=planner, requests=[build(part, unreleased)])
    assert excinfo.value.rows[0][0].startswith("Procedure has unreleased steps")


def test_unapproved_steps_are_refused(planner, part, version):
    version.steps.filter(position=2).update(approved=False)
    with pytest.raises(RunCreationError, match="Procedure has unreleased steps"):
        create_runs(user=planner, requests=[build(part, version)])


def test_a_procedure_not_linked_to_the_part_is_named(planner, org, version):
    other = factories.PartFactory(organisation=org, number="OTHER-9")
    with pytest.raises(RunCreationError) as excinfo:
        create_runs(user=planner, requests=[build(other, version)])
    assert excinfo.value.rows[0] == ["Procedure “Bracket build v1” is not linked to part OTHER-9 rev A."]


def test_typed_serials_must_be_free(planner, part):
    factories.PartInventoryFactory(part=part, serial_number="SN-USED")
    with pytest.raises(RunCreationError) as excinfo:
        create_runs(
            user=planner,
            requests=[
                build(part, serial_number="SN-USED"),
                build(part, serial_number="SN-TWICE"),
                build(part, serial_number="SN-TWICE"),
            ],
        )
    assert excinfo.value.rows[0] == ["Serial number SN-USED is already used in inventory."]
    assert set(excinfo.value.rows) == {0, 1, 2}


def test_batches_share_one_procedure_version(planner, org, part, version):
    other = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], title="Paint")
    with pytest.raises(RunCreationError) as excinfo:
        create_runs(
            user=planner,
            batch_name="Mixed",
            requests=[build(part, version), build(part, version), build(part, other)],
        )
    assert excinfo.value.batch == [
        "Runs in a batch share one procedure version, but rows 1, 2 use Bracket build v1; "
        "row 3 uses Paint v1."
    ]


def test_batch_names_are_unique(planner, org, part):
    factories.RunBatchFactory(organisation=org, name="Week 48")
    with pytest.raises(RunCreationError, match="A batch named “Week 48” already exists"):
        create_runs(user=planner, batch_name="Week 48", requests=[build(part)])


def test_a_batch_groups_the_runs(planner, part, version):
    runs = create_runs(user=planner, batch_name="Week 49", requests=[build(part, version)] * 3)
    assert set(RunBatch.objects.get(name="Week 49").runs.all()) == set(runs)


def test_assignees_must_belong_to_the_organisation(planner, part, org, other_org):
    foreign = factories.UserFactory(organisation=other_org)
    inactive = factories.UserFactory(organisation=org, is_active=False)
    team = factories.TeamFactory(organisation=org)
    with pytest.raises(RunCreationError) as excinfo:
        create_runs(
            user=planner,
            requests=[
                build(part, assigned_user_id=foreign.pk),
                build(part, assigned_user_id=inactive.pk),
                build(part, assigned_user_id=planner.pk, assigned_team_id=team.pk),
            ],
        )
    assert excinfo.value.rows == {
        0: ["The assignee is not an active user of your organisation."],
        1: ["The assignee is not an active user of your organisation."],
        2: ["Assign the run to a user or to a team, not both."],
    }


def test_required_attributes_are_enforced(planner, org, part):
    factories.RunAttributeDefinitionFactory(organisation=org, key="po", label="Customer PO", required=True)
    with pytest.raises(RunCreationError, match="Customer PO is required"):
        create_runs(user=planner, requests=[build(part)])
    (run,) = create_runs(user=planner, requests=[build(part, attributes={"po": "PO-1"})])
    assert run.attributes == {"po": "PO-1"}


def test_uncleared_users_cannot_use_or_set_export_control(uncleared_planner, org, part):
    secret = factories.PartFactory(organisation=org, export_controlled=True)
    with pytest.raises(RunCreationError) as excinfo:
        create_runs(user=uncleared_planner, requests=[build(secret), build(part, export_controlled=True)])
    assert excinfo.value.rows == {
        0: ["The part no longer exists or is not visible to you."],
        1: ["Only export-cleared users can mark a run export controlled."],
    }


def test_another_organisations_part_is_refused(planner, other_org):
    foreign = factories.PartFactory(organisation=other_org)
    with pytest.raises(RunCreationError, match="not visible to you"):
        create_runs(user=planner, requests=[build(foreign)])


def test_a_bad_row_in_the_middle_creates_nothing(planner, part, version):
    scrapped = factories.PartInventoryFactory(part=part, status=InventoryStatus.SCRAPPED)
    before = PartInventory.objects.count()
    requests = [build(part, version)] * 3 + [
        build(part, version, source="attach", inventory_id=scrapped.pk),
        build(part, version),
    ]
    with pytest.raises(RunCreationError) as excinfo:
        create_runs(user=planner, requests=requests, batch_name="Doomed")
    assert list(excinfo.value.rows) == [3]
    assert (Run.objects.count(), RunStep.objects.count(), RunBatch.objects.count()) == (0, 0, 0)
    assert PartInventory.objects.count() == before


def test_the_same_token_creates_once(planner, part, version):
    token = uuid.uuid4()
    first = create_runs(user=planner, requests=[build(part, version)] * 2, token=token)
    second = create_runs(user=planner, requests=[build(part, version)] * 2, token=token)
    assert [r.pk for r in first] == [r.pk for r in second] and Run.objects.count() == 2


def test_drafts_are_created_once_and_removed(planner, org, part, version):
    drafts = [
        factories.RunDraftFactory(
            owner=planner,
            position=i,
            data={
                "source": "build",
                "part": part.pk,
                "procedure": version.pk,
                "tracking_type": "serial",
                "serial_number": "",
                "quantity": 1,
                "name": "",
                "attributes": {},
            },
        )
        for i in range(3)
    ]
    ids = [d.pk for d in drafts]
    runs = create_runs_from_drafts(user=planner, draft_ids=ids, token=uuid.uuid4())
    assert not RunDraft.objects.exists() and len(runs) == 3
    again = create_runs_from_drafts(user=planner, draft_ids=ids, token=uuid.uuid4())
    assert sorted(r.pk for r in again) == sorted(r.pk for r in runs) and Run.objects.count() == 3


def test_draft_problems_are_keyed_by_draft(planner, part):
    unit = factories.PartInventoryFactory(part=part, status=InventoryStatus.CONSUMED)
    draft = factories.RunDraftFactory(
        owner=planner,
        data={
            "source": "attach",
            "part": part.pk,
            "inventory": unit.pk,
            "attributes": {},
        },
    )
    with pytest.raises(RunCreationError) as excinfo:
        create_runs_from_drafts(user=planner, draft_ids=[draft.pk], token=uuid.uuid4())
    assert list(excinfo.value.rows) == [draft.pk]
    assert RunDraft.objects.filter(pk=draft.pk).exists()


def count_queries(planner, part, version, n):
    with CaptureQueriesContext(connection) as queries:
        create_runs(user=planner, requests=[build(part, version)] * n)
    return len(queries)


def test_the_query_count_does_not_grow_with_runs_or_steps(planner, org, part, django_assert_max_num_queries):
    big = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=40)
    count_queries(planner, part, big, 1)  # the organisation's first run also creates its counters
    one = count_queries(planner, part, big, 1)
    fifty = count_queries(planner, part, big, 50)
    assert one == fifty
    with django_assert_max_num_queries(one):
        create_runs(user=planner, requests=[build(part, big)] * 50)
    assert RunStep.objects.count() == 102 * 40
    assert RunStepField.objects.count() == 102 * 40 * 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_creators_get_distinct_numbers_and_serials():
    org = factories.OrganisationFactory(name="Concurrent Rockets")
    planners = [factories.PlannerFactory(organisation=org) for _ in range(6)]
    part = factories.PartFactory(organisation=org)
    errors, barrier = [], threading.Barrier(6)

    def create(user):
        try:
            barrier.wait()
            create_runs(user=user, requests=[build(part)] * 5)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=[p]) for p in planners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    runs = Run.objects.filter(organisation=org).select_related("part_inventory")
    assert sorted(r.number for r in runs) == list(range(1, 31))
    assert len({r.part_inventory.serial_number for r in runs}) == 30
