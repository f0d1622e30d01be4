"""create_runs: the one service that makes runs, as a planner would notice its behaviour.

Concurrent creators are in test_services_concurrency.py.
"""

import uuid
from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import InventoryStatus, PartInventory, TrackingType
from ion_runs.accounts.models import Counter
from procedures.models import FieldType, ProcedureStep, StepField, VersionStatus
from runs.models import Run, RunBatch, RunDraft, RunSource, RunStatus, RunStep, RunStepField
from runs.services import (
    LIST_CHANGED,
    RunCreationError,
    RunRequest,
    create_runs,
    create_runs_from_drafts,
)
from tests import factories

pytestmark = pytest.mark.django_db

NOT_RUNNABLE = "Part inventory is not in a state that allows a new run"
UNRELEASED = "Procedure has unreleased steps"


@pytest.fixture
def part(org):
    return factories.PartFactory(organisation=org, number="BRKT-ASSY-001")


@pytest.fixture
def version(org, part):
    return factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], title="Bracket build", steps=3
    )


def build(part, version=None, **kwargs) -> RunRequest:
    """A request for a run that builds a new unit of `part`."""
    return RunRequest(part_id=part.pk, procedure_version_id=version.pk if version else None, **kwargs)


def attach(unit, version=None, **kwargs) -> RunRequest:
    """A request for a run on a unit already in inventory."""
    return RunRequest(
        part_id=unit.part_id,
        procedure_version_id=version.pk if version else None,
        source=RunSource.ATTACH,
        inventory_id=unit.pk,
        **kwargs,
    )


def refused(user, requests, **kwargs) -> RunCreationError:
    """The error create_runs raises for these requests (and that it raises one)."""
    with pytest.raises(RunCreationError) as excinfo:
        create_runs(user=user, requests=requests, **kwargs)
    return excinfo.value


def draft_data(part, version=None, **overrides) -> dict:
    """A Review row as the wizard stores it (see RunRequest.from_draft)."""
    return {
        "source": "build",
        "part": part.pk,
        "procedure": version.pk if version else None,
        "tracking_type": part.tracking_type,
        "serial_number": "",
        "lot_number": "",
        "quantity": 1,
        "name": "",
        "due_date": "",
        "export_controlled": False,
        "assigned_user": None,
        "assigned_team": None,
        "attributes": {},
    } | overrides


def everything_created() -> tuple[int, ...]:
    return (
        Run.objects.count(),
        RunStep.objects.count(),
        RunStepField.objects.count(),
        PartInventory.objects.count(),
        RunBatch.objects.count(),
    )


# Build runs


def test_it_creates_serialized_runs_with_auto_serials(planner, part, version):
    runs = create_runs(user=planner, requests=[build(part, version), build(part, version)])

    assert [(r.number, r.name) for r in runs] == [
        (1, "Run 1: BRKT-ASSY-001 · SN-00001"),
        (2, "Run 2: BRKT-ASSY-001 · SN-00002"),
    ]
    units = [PartInventory.objects.get(pk=r.part_inventory_id) for r in runs]
    assert [(u.part, u.serial_number, u.lot_number, u.quantity, u.status) for u in units] == [
        (part, "SN-00001", "", 1, InventoryStatus.IN_BUILD),
        (part, "SN-00002", "", 1, InventoryStatus.IN_BUILD),
    ]


def test_it_stores_what_a_run_is(planner, part, version):
    (run,) = create_runs(user=planner, requests=[build(part, version, due_date=date(2030, 1, 31))])

    run.refresh_from_db()
    assert run.organisation == planner.organisation
    assert run.part == part
    assert run.procedure_version == version
    assert run.source == RunSource.BUILD
    assert run.tracking_type == TrackingType.SERIAL
    assert run.status == RunStatus.TODO
    assert run.due_date == date(2030, 1, 31)
    assert run.created_by == planner
    assert run.batch is None


def test_it_continues_the_organisation_serial_sequence(planner, part):
    create_runs(user=planner, requests=[build(part)])
    (run,) = create_runs(user=planner, requests=[build(part)])
    assert run.part_inventory.serial_number == "SN-00002"


def test_it_uses_the_part_serial_pattern_with_its_own_sequence(planner, org, part):
    valve = factories.PartFactory(organisation=org, number="VLV-7", serial_pattern="{part}-{rev}-{seq:03}")

    runs = create_runs(user=planner, requests=[build(valve), build(part), build(valve), build(part)])

    assert [r.part_inventory.serial_number for r in runs] == [
        "VLV-7-A-001",
        "SN-00001",
        "VLV-7-A-002",
        "SN-00002",
    ]


def test_it_skips_auto_serials_already_in_inventory(planner, part):
    factories.PartInventoryFactory(part=part, serial_number="SN-00001")
    (run,) = create_runs(user=planner, requests=[build(part)])
    assert run.part_inventory.serial_number == "SN-00002"


def test_it_keeps_a_typed_serial_and_name(planner, part, version):
    (run,) = create_runs(
        user=planner,
        requests=[build(part, version, serial_number="SN-TYPED-9", name="PO 4711 first article")],
    )
    assert run.name == "PO 4711 first article"
    assert run.part_inventory.serial_number == "SN-TYPED-9"


def test_it_does_not_hand_out_a_serial_typed_on_another_row(planner, part):
    runs = create_runs(user=planner, requests=[build(part, serial_number="SN-00001"), build(part)])
    assert [r.part_inventory.serial_number for r in runs] == ["SN-00001", "SN-00002"]


def test_it_creates_a_lot_run_with_auto_lot_and_quantity(planner, org):
    lot_part = factories.PartFactory(organisation=org, number="RIVET-4", tracking_type=TrackingType.LOT)

    first, second = create_runs(
        user=planner, requests=[build(lot_part, quantity=40), build(lot_part, quantity=5)]
    )

    day = f"{timezone.localdate():%Y%m%d}"
    unit = first.part_inventory
    assert (unit.lot_number, unit.serial_number, unit.quantity, unit.status) == (
        f"LOT-{day}-001",
        "",
        40,
        InventoryStatus.IN_BUILD,
    )
    assert second.part_inventory.lot_number == f"LOT-{day}-002"
    assert first.name == f"Run 1: RIVET-4 · LOT-{day}-001 × 40"
    assert first.tracking_type == TrackingType.LOT


def test_it_keeps_a_typed_lot_and_uses_a_part_lot_pattern(planner, org):
    lot_part = factories.PartFactory(
        organisation=org, number="RIVET-4", tracking_type=TrackingType.LOT, lot_pattern="R{seq:04}"
    )

    typed, auto = create_runs(
        user=planner,
        requests=[build(lot_part, lot_number="HEAT-88", quantity=12), build(lot_part, quantity=3)],
    )

    assert (typed.part_inventory.lot_number, typed.part_inventory.quantity) == ("HEAT-88", 12)
    assert (auto.part_inventory.lot_number, auto.part_inventory.quantity) == ("R0001", 3)


def test_it_creates_a_quantity_only_run(planner, org):
    washers = factories.PartFactory(organisation=org, number="WSHR-M6", tracking_type=TrackingType.NONE)

    (run,) = create_runs(user=planner, requests=[build(washers, quantity=250)])

    unit = run.part_inventory
    assert (unit.serial_number, unit.lot_number, unit.quantity, unit.status) == (
        "",
        "",
        250,
        InventoryStatus.IN_BUILD,
    )
    assert run.name == "Run 1: WSHR-M6 · qty 250"
    assert run.tracking_type == TrackingType.NONE


def test_it_refuses_a_quantity_below_one(planner, org):
    washers = factories.PartFactory(organisation=org, tracking_type=TrackingType.NONE)
    error = refused(planner, [build(washers, quantity=0)])
    assert error.rows == {0: ["Quantity must be between 1 and 1,000,000."]}


def test_it_refuses_a_quantity_beyond_a_million_without_touching_the_database(planner, org):
    washers = factories.PartFactory(organisation=org, tracking_type=TrackingType.NONE)
    error = refused(planner, [build(washers, quantity=10**12)])
    assert error.rows == {0: ["Quantity must be between 1 and 1,000,000."]}
    assert not Run.objects.exists()


def test_it_gives_each_build_run_its_own_new_unit(planner, part):
    before = PartInventory.objects.count()
    runs = create_runs(user=planner, requests=[build(part)] * 3)
    assert PartInventory.objects.count() == before + 3
    assert len({r.part_inventory_id for r in runs}) == 3


def test_it_attaches_an_existing_unit_and_sets_it_to_wip(planner, part, version):
    unit = factories.PartInventoryFactory(part=part, serial_number="SN-KIT-1", status=InventoryStatus.KITTED)

    (run,) = create_runs(user=planner, requests=[attach(unit, version)])

    unit.refresh_from_db()
    assert run.part_inventory_id == unit.pk
    assert run.source == RunSource.ATTACH
    assert unit.status == InventoryStatus.WIP
    assert run.name == "Run 1: BRKT-ASSY-001 · SN-KIT-1"
    assert PartInventory.objects.count() == 1


@pytest.mark.parametrize("status", ["in_build", "available", "kitted", "wip"])
def test_it_attaches_units_that_can_take_a_run(planner, part, status):
    unit = factories.PartInventoryFactory(part=part, status=status)
    (run,) = create_runs(user=planner, requests=[attach(unit)])
    assert run.part_inventory_id == unit.pk


def test_it_numbers_runs_per_organisation(planner, outsider, part, other_org):
    mine = create_runs(user=planner, requests=[build(part)] * 3)
    more = create_runs(user=planner, requests=[build(part)] * 2)
    theirs = create_runs(user=outsider, requests=[build(factories.PartFactory(organisation=other_org))])

    assert [r.number for r in mine + more] == [1, 2, 3, 4, 5]
    assert [r.number for r in theirs] == [1]
    assert theirs[0].part_inventory.serial_number == "SN-00001"


def test_it_marks_runs_export_controlled_from_part_procedure_or_request(planner, org, part, version):
    secret_part = factories.PartFactory(organisation=org, export_controlled=True)
    secret_procedure = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], export_controlled=True
    )

    runs = create_runs(
        user=planner,
        requests=[
            build(part, version),
            build(secret_part),
            build(part, secret_procedure),
            build(part, version, export_controlled=True),
        ],
    )

    assert [r.export_controlled for r in runs] == [False, True, True, True]


def test_it_assigns_a_user_or_a_team(planner, org, part):
    operator = factories.OperatorFactory(organisation=org)
    team = factories.TeamFactory(organisation=org)

    to_user, to_team = create_runs(
        user=planner,
        requests=[build(part, assigned_user_id=operator.pk), build(part, assigned_team_id=team.pk)],
    )

    assert (to_user.assigned_user, to_user.assigned_team) == (operator, None)
    assert (to_team.assigned_user, to_team.assigned_team) == (None, team)


def test_it_groups_a_batch(planner, part, version):
    runs = create_runs(user=planner, requests=[build(part, version)] * 3, batch_name="Week 48")

    batch = RunBatch.objects.get()
    assert (batch.name, batch.organisation, batch.created_by) == ("Week 48", planner.organisation, planner)
    assert set(batch.runs.all()) == set(runs)


def test_it_needs_at_least_one_request(planner):
    assert refused(planner, []).batch == ["There are no runs to create."]


# Run steps


def test_it_copies_every_procedure_step_in_order(planner, part, version):
    (run,) = create_runs(user=planner, requests=[build(part, version)])

    assert [(s.position, s.title, s.instructions, s.status) for s in run.steps.order_by("position")] == [
        (1, "Step 1", "Do step 1.", "todo"),
        (2, "Step 2", "Do step 2.", "todo"),
        (3, "Step 3", "Do step 3.", "todo"),
    ]


def test_it_copies_every_field_with_its_validations(planner, org, part):
    version = factories.ProcedureVersionFactory(procedure__organisation=org, parts=[part], steps=1)
    step = version.steps.get()
    StepField.objects.bulk_create(
        [
            StepField(step=step, position=3, label="Gap (mm)", type=FieldType.NUMBER, min_value="0.05"),
            StepField(step=step, position=4, label="Lot code", max_length=12, pattern=r"^L\d+$"),
            StepField(
                step=step, position=5, label="Finish", type=FieldType.SELECT, options=["Matte", "Gloss"]
            ),
        ]
    )
    version.release()

    (run,) = create_runs(user=planner, requests=[build(part, version)])

    copied = RunStepField.objects.filter(run_step__run=run).order_by("position")
    assert [
        (
            f.position,
            f.label,
            f.type,
            f.required,
            f.min_value,
            f.max_value,
            f.max_length,
            f.pattern,
            f.options,
        )
        for f in copied
    ] == [
        (1, "Torque (Nm)", "number", True, 1, 20, None, "", []),
        (2, "Inspector", "signoff", False, None, None, None, "", []),
        (3, "Gap (mm)", "number", False, Decimal("0.05"), None, None, "", []),
        (4, "Lot code", "text", False, None, None, 12, r"^L\d+$", []),
        (5, "Finish", "select", False, None, None, None, "", ["Matte", "Gloss"]),
    ]


def test_each_run_gets_its_own_step_copies(planner, part, version):
    first, second = create_runs(user=planner, requests=[build(part, version)] * 2)
    assert first.steps.count() == second.steps.count() == 3
    assert RunStepField.objects.filter(run_step__run=second).count() == 6


def test_a_run_without_a_procedure_has_no_steps(planner, part):
    (run,) = create_runs(user=planner, requests=[build(part)])
    assert run.procedure_version is None and not run.steps.exists()


def test_it_locks_the_revision_at_create_time(planner, part, version):
    (old_run,) = create_runs(user=planner, requests=[build(part, version)])
    revision = version.revise()
    renamed = revision.steps.get(position=1)
    renamed.title = "Degrease and prime"
    renamed.save()
    ProcedureStep.objects.create(version=revision, position=4, title="Final torque check", approved=True)
    revision.release()

    old_run.refresh_from_db()
    assert old_run.procedure_version == version
    assert [s.title for s in old_run.steps.order_by("position")] == ["Step 1", "Step 2", "Step 3"]

    # Authored on v1 before the revision: created on v2, the version released now.
    (new_run,) = create_runs(user=planner, requests=[build(part, version)])
    version.refresh_from_db()
    assert version.status == VersionStatus.SUPERSEDED
    assert new_run.procedure_version == revision
    assert [s.title for s in new_run.steps.order_by("position")] == [
        "Degrease and prime",
        "Step 2",
        "Step 3",
        "Final torque check",
    ]


# Rules and their messages


@pytest.mark.parametrize("status", ["consumed", "installed", "scrapped", "on_hold"])
def test_it_refuses_a_unit_that_cannot_take_a_run(planner, part, status):
    unit = factories.PartInventoryFactory(part=part, status=status)

    error = refused(planner, [attach(unit)])

    assert list(error.rows) == [0]
    assert error.rows[0][0].startswith(NOT_RUNNABLE)
    unit.refresh_from_db()
    assert unit.status == status


def test_it_refuses_a_unit_of_another_part(planner, org, part):
    unit = factories.PartInventoryFactory(part=factories.PartFactory(organisation=org))
    error = refused(planner, [RunRequest(part_id=part.pk, source=RunSource.ATTACH, inventory_id=unit.pk)])
    assert error.rows == {0: ["Pick an inventory unit of part BRKT-ASSY-001 rev A."]}


def test_it_refuses_a_unit_of_another_organisation(planner, other_org, part):
    unit = factories.PartInventoryFactory(part=factories.PartFactory(organisation=other_org))
    error = refused(planner, [RunRequest(part_id=part.pk, source=RunSource.ATTACH, inventory_id=unit.pk)])
    assert error.rows == {0: ["Pick an inventory unit of part BRKT-ASSY-001 rev A."]}


@pytest.mark.parametrize("status", ["draft", "in_review"])
def test_it_refuses_an_unreleased_procedure(planner, org, part, status):
    unreleased = factories.ProcedureVersionFactory(
        procedure__organisation=org, parts=[part], title="Paint", status=status
    )

    error = refused(planner, [build(part, unreleased)])

    assert list(error.rows) == [0]
    assert error.rows[0][0].startswith(UNRELEASED)


def test_it_refuses_a_procedure_with_an_unapproved_step(planner, part, version):
    version.steps.filter(position=2).update(approved=False)

    error = refused(planner, [build(part, version)])

    assert list(error.rows) == [0]
    assert error.rows[0][0].startswith(UNRELEASED)


def test_it_names_the_procedure_and_part_that_are_not_linked(planner, org, version):
    bracket = factories.PartFactory(organisation=org, number="HINGE-22", revision="C")

    error = refused(planner, [build(bracket, version)])

    assert list(error.rows) == [0]
    (message,) = error.rows[0]
    assert "Bracket build" in message and "HINGE-22" in message


def test_it_says_which_typed_serial_is_already_in_inventory(planner, part):
    factories.PartInventoryFactory(part=part, serial_number="SN-0042")

    error = refused(planner, [build(part), build(part, serial_number="SN-0042")])

    assert list(error.rows) == [1]
    (message,) = error.rows[1]
    assert "SN-0042" in message


def test_it_flags_both_rows_typing_the_same_serial(planner, part):
    error = refused(
        planner,
        [
            build(part, serial_number="SN-7"),
            build(part, serial_number="SN-8"),
            build(part, serial_number="SN-7"),
        ],
    )

    assert sorted(error.rows) == [0, 2]
    assert all("SN-7" in ms[0] for ms in error.rows.values())


def test_it_says_which_batch_rows_use_different_procedure_versions(planner, org, part, version):
    paint = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], title="Paint")

    error = refused(
        planner,
        [build(part, version), build(part, paint), build(part, version)],
        batch_name="Week 48",
    )

    assert error.rows == {}
    (message,) = error.batch
    assert "rows 1, 3" in message and "Bracket build v1" in message
    assert "row 2" in message and "Paint v1" in message


def test_it_allows_different_procedures_without_a_batch(planner, org, part, version):
    paint = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], title="Paint")
    runs = create_runs(user=planner, requests=[build(part, version), build(part, paint)])
    assert [r.procedure_version for r in runs] == [version, paint]


def test_it_refuses_a_batch_name_already_used(planner, org, part):
    factories.RunBatchFactory(organisation=org, name="Week 48")

    error = refused(planner, [build(part)], batch_name="Week 48")

    assert error.batch == ["A batch named “Week 48” already exists."]
    # In another case it is the same batch to a planner, and to the runs filter.
    assert refused(planner, [build(part)], batch_name="week 48").batch == [
        "A batch named “week 48” already exists."
    ]


def test_the_database_holds_one_batch_per_name_in_any_case(org):
    factories.RunBatchFactory(organisation=org, name="Order 4711")
    with pytest.raises(IntegrityError), transaction.atomic():
        RunBatch.objects.create(organisation=org, name="ORDER 4711")


def test_a_batch_name_of_another_organisation_is_free(planner, other_org, part):
    factories.RunBatchFactory(organisation=other_org, name="Week 48")
    (run,) = create_runs(user=planner, requests=[build(part)], batch_name="Week 48")
    assert run.batch.organisation == planner.organisation


def test_it_refuses_an_assignee_of_another_organisation_or_inactive(planner, org, other_org, part):
    foreigner = factories.UserFactory(organisation=other_org)
    leaver = factories.UserFactory(organisation=org, is_active=False)
    foreign_team = factories.TeamFactory(organisation=other_org)

    error = refused(
        planner,
        [
            build(part, assigned_user_id=foreigner.pk),
            build(part, assigned_user_id=leaver.pk),
            build(part, assigned_team_id=foreign_team.pk),
        ],
    )

    assert error.rows == {
        0: ["The assignee is not an active user of your organisation."],
        1: ["The assignee is not an active user of your organisation."],
        2: ["The team is not one of your organisation's."],
    }


def test_it_refuses_a_user_and_a_team_together(planner, org, part):
    team = factories.TeamFactory(organisation=org)
    error = refused(planner, [build(part, assigned_user_id=planner.pk, assigned_team_id=team.pk)])
    assert error.rows == {0: ["Assign the run to a user or to a team, not both."]}


def test_it_refuses_a_missing_required_attribute_by_its_label(planner, org, part):
    factories.RunAttributeDefinitionFactory(organisation=org, key="po", label="Customer PO", required=True)
    factories.RunAttributeDefinitionFactory(organisation=org, key="note", label="Note")

    error = refused(planner, [build(part, attributes={"po": "PO-1"}), build(part, attributes={"po": ""})])

    assert error.rows == {1: ["Customer PO is required."]}


def test_it_stores_the_attributes(planner, org, part):
    factories.RunAttributeDefinitionFactory(organisation=org, key="po", label="Customer PO", required=True)
    (run,) = create_runs(user=planner, requests=[build(part, attributes={"po": "PO-1"})])
    run.refresh_from_db()
    assert run.attributes == {"po": "PO-1"}


def test_it_refuses_export_control_requested_by_an_uncleared_user(uncleared_planner, part):
    error = refused(uncleared_planner, [build(part, export_controlled=True)])
    assert error.rows == {0: ["Only export-cleared users can mark a run export controlled."]}
    assert not Run.objects.exists()


def test_it_refuses_an_export_controlled_part_to_an_uncleared_user(uncleared_planner, org):
    secret = factories.PartFactory(organisation=org, export_controlled=True)
    error = refused(uncleared_planner, [build(secret)])
    assert list(error.rows) == [0]
    assert not Run.objects.exists() and not PartInventory.objects.exists()


def test_it_refuses_an_export_controlled_procedure_to_an_uncleared_user(uncleared_planner, org, part):
    secret = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], export_controlled=True
    )
    error = refused(uncleared_planner, [build(part, secret)])
    assert list(error.rows) == [0]
    assert not Run.objects.exists()


def test_it_refuses_a_part_of_another_organisation(planner, other_org):
    foreign = factories.PartFactory(organisation=other_org)
    error = refused(planner, [build(foreign)])
    assert list(error.rows) == [0]
    assert not Run.objects.exists() and not PartInventory.objects.exists()


def test_it_refuses_a_procedure_of_another_organisation(planner, other_org, part):
    foreign = factories.ReleasedVersionFactory(procedure__organisation=other_org, parts=[part])
    error = refused(planner, [build(part, foreign)])
    assert list(error.rows) == [0]


def test_it_reports_every_bad_row_at_once(planner, org, part, version):
    scrapped = factories.PartInventoryFactory(part=part, status=InventoryStatus.SCRAPPED)
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, parts=[part])

    error = refused(
        planner, [build(part, version), attach(scrapped), build(part, version), build(part, draft)]
    )

    assert sorted(error.rows) == [1, 3]
    assert error.rows[1][0].startswith(NOT_RUNNABLE)
    assert error.rows[3][0].startswith(UNRELEASED)


# All or nothing


def test_a_bad_fourth_request_creates_nothing(planner, org, part, version):
    factories.RunAttributeDefinitionFactory(organisation=org, key="po", label="Customer PO")
    create_runs(user=planner, requests=[build(part, version)])
    consumed = factories.PartInventoryFactory(part=part, status=InventoryStatus.CONSUMED)
    before = everything_created()

    error = refused(
        planner,
        [build(part, version)] * 3 + [attach(consumed, version), build(part, version)],
        batch_name="Week 48",
    )

    assert list(error.rows) == [3]
    assert everything_created() == before
    assert not RunBatch.objects.filter(name="Week 48").exists()
    consumed.refresh_from_db()
    assert consumed.status == InventoryStatus.CONSUMED
    # Counters may leave gaps, but numbers and serials are never reused.
    runs = create_runs(user=planner, requests=[build(part, version)] * 2)
    assert all(r.number > 1 for r in runs)
    assert "SN-00001" not in {r.part_inventory.serial_number for r in runs}


def test_a_refused_attach_leaves_the_other_units_alone(planner, part):
    kitted = factories.PartInventoryFactory(part=part, status=InventoryStatus.KITTED)
    scrapped = factories.PartInventoryFactory(part=part, status=InventoryStatus.SCRAPPED)

    refused(planner, [attach(kitted), attach(scrapped)])

    kitted.refresh_from_db()
    assert kitted.status == InventoryStatus.KITTED


# Idempotency


def test_the_same_token_twice_creates_once(planner, part, version):
    token = uuid.uuid4()
    first = create_runs(user=planner, requests=[build(part, version)] * 3, token=token)
    before = everything_created()
    counters = dict(Counter.objects.values_list("key", "value"))

    second = create_runs(user=planner, requests=[build(part, version)] * 3, token=token)

    assert [r.pk for r in second] == [r.pk for r in first]
    assert everything_created() == before
    assert dict(Counter.objects.values_list("key", "value")) == counters


def test_a_new_token_creates_again(planner, part):
    create_runs(user=planner, requests=[build(part)], token=uuid.uuid4())
    create_runs(user=planner, requests=[build(part)], token=uuid.uuid4())
    assert Run.objects.count() == 2


def test_the_same_request_keys_under_a_new_token_are_not_created_again(planner, part):
    keys = [uuid.uuid4(), uuid.uuid4()]
    create_runs(user=planner, requests=[build(part, key=k) for k in keys], token=uuid.uuid4())
    before = everything_created()

    error = refused(planner, [build(part, key=k) for k in keys], token=uuid.uuid4())

    assert error.batch == ["Some of these runs were already created."]
    assert everything_created() == before


def test_it_creates_from_drafts_and_removes_them(planner, org, part, version):
    team = factories.TeamFactory(organisation=org)
    unit = factories.PartInventoryFactory(part=part, serial_number="SN-KIT-3")
    drafts = [
        factories.RunDraftFactory(owner=planner, position=1, data=draft_data(part, version, name="First")),
        factories.RunDraftFactory(
            owner=planner,
            position=2,
            data=draft_data(
                part,
                version,
                source="attach",
                inventory=unit.pk,
                due_date="2030-02-01",
                assigned_team=team.pk,
                export_controlled=True,
            ),
        ),
    ]

    runs = create_runs_from_drafts(user=planner, draft_ids=[d.pk for d in drafts], token=uuid.uuid4())

    assert not RunDraft.objects.exists()
    assert [(r.name, r.source, r.part_inventory_id) for r in runs] == [
        ("First", "build", runs[0].part_inventory_id),
        ("Run 2: BRKT-ASSY-001 · SN-KIT-3", "attach", unit.pk),
    ]
    assert (runs[1].due_date, runs[1].assigned_team, runs[1].export_controlled) == (
        date(2030, 2, 1),
        team,
        True,
    )


def test_it_keys_draft_problems_by_draft_id_and_keeps_the_drafts(planner, part, version):
    scrapped = factories.PartInventoryFactory(part=part, status=InventoryStatus.SCRAPPED)
    good = factories.RunDraftFactory(owner=planner, position=1, data=draft_data(part, version))
    bad = factories.RunDraftFactory(
        owner=planner, position=2, data=draft_data(part, version, source="attach", inventory=scrapped.pk)
    )

    with pytest.raises(RunCreationError) as excinfo:
        create_runs_from_drafts(user=planner, draft_ids=[good.pk, bad.pk], token=uuid.uuid4())

    assert list(excinfo.value.rows) == [bad.pk]
    assert excinfo.value.rows[bad.pk][0].startswith(NOT_RUNNABLE)
    assert set(RunDraft.objects.values_list("pk", flat=True)) == {good.pk, bad.pk}
    assert not Run.objects.exists()


def test_creating_the_same_drafts_again_returns_the_runs_already_created(planner, part, version):
    drafts = [
        factories.RunDraftFactory(owner=planner, position=i, data=draft_data(part, version)) for i in range(3)
    ]
    ids = [d.pk for d in drafts]
    first = create_runs_from_drafts(user=planner, draft_ids=ids, token=uuid.uuid4())
    before = everything_created()

    second = create_runs_from_drafts(user=planner, draft_ids=ids, token=uuid.uuid4())

    assert sorted(r.pk for r in second) == sorted(r.pk for r in first)
    assert everything_created() == before


def test_it_does_not_create_a_removed_draft(planner, part):
    kept = factories.RunDraftFactory(owner=planner, position=1, data=draft_data(part, name="Kept"))
    factories.RunDraftFactory(
        owner=planner, position=2, data=draft_data(part, name="Removed"), removed_at=timezone.now()
    )

    runs = create_runs_from_drafts(user=planner, draft_ids=[kept.pk], token=uuid.uuid4())

    assert [r.name for r in runs] == ["Kept"]
    assert list(Run.objects.values_list("name", flat=True)) == ["Kept"]


def test_it_creates_nothing_when_the_rows_are_not_the_ones_the_page_showed(planner, part):
    shown = factories.RunDraftFactory(owner=planner, position=1, data=draft_data(part, name="Shown"))
    factories.RunDraftFactory(owner=planner, position=2, data=draft_data(part, name="Added in another tab"))

    with pytest.raises(RunCreationError) as refused_:
        create_runs_from_drafts(user=planner, draft_ids=[shown.pk], token=uuid.uuid4())

    assert refused_.value.batch == [LIST_CHANGED]
    assert not Run.objects.exists()
    assert RunDraft.objects.filter(owner=planner).count() == 2


def test_another_planners_token_neither_shows_nor_joins_their_runs(planner, org, part):
    theirs = create_runs(user=planner, requests=[build(part)])
    colleague = factories.PlannerFactory(organisation=org, export_cleared=True)
    mine = factories.RunDraftFactory(owner=colleague, data=draft_data(part))

    with pytest.raises(RunCreationError):
        create_runs_from_drafts(user=colleague, draft_ids=[mine.pk], token=theirs[0].creation_token)

    assert Run.objects.count() == 1
    assert RunDraft.objects.filter(owner=colleague).exists()


def test_it_refuses_values_longer_than_the_database_holds(planner, org):
    lots = factories.PartFactory(organisation=org, tracking_type=TrackingType.LOT)
    error = refused(planner, [build(lots, name="N" * 201, lot_number="L" * 101)])
    assert error.rows == {
        0: [
            "Run name is 201 characters long; at most 200 fit.",
            "Lot number is 101 characters long; at most 100 fit.",
        ]
    }


def test_it_refuses_a_batch_name_longer_than_the_database_holds(planner, part):
    error = refused(planner, [build(part)], batch_name="B" * 201)
    assert error.batch == ["The batch name is 201 characters long; at most 200 fit."]


def test_an_auto_name_from_a_long_part_number_and_serial_is_cut_to_fit(planner, org):
    long_part = factories.PartFactory(organisation=org, number="P" * 100, tracking_type=TrackingType.SERIAL)
    [run] = create_runs(user=planner, requests=[build(long_part, serial_number="S" * 100)])
    assert len(run.name) == 200
    assert run.name.startswith(f"Run {run.number}: PPPP")
    assert run.name.endswith("…")


def test_a_serial_pattern_that_outgrows_the_column_is_refused_at_the_row(planner, org):
    long_part = factories.PartFactory(
        organisation=org, number="P" * 100, tracking_type=TrackingType.SERIAL, serial_pattern="{part}-{seq}"
    )
    error = refused(planner, [build(long_part)])
    assert error.rows[0][0].startswith("The serial pattern makes “PPPP")
    assert not PartInventory.objects.filter(part=long_part).exists()


def test_it_does_not_create_another_planners_drafts(planner, org, part):
    colleague = factories.PlannerFactory(organisation=org)
    theirs = factories.RunDraftFactory(owner=colleague, data=draft_data(part))

    with pytest.raises(RunCreationError):
        create_runs_from_drafts(user=planner, draft_ids=[theirs.pk], token=uuid.uuid4())

    assert RunDraft.objects.filter(pk=theirs.pk).exists() and not Run.objects.exists()


# Query ceilings

# Fixed, whatever the number of runs or steps: bulk inserts, no query per run or per step.
CREATE_QUERIES = 23


def queries_to_create(planner, part, version, count) -> int:
    with CaptureQueriesContext(connection) as queries:
        create_runs(user=planner, requests=[build(part, version)] * count)
    return len(queries)


def test_it_creates_one_or_fifty_runs_of_forty_steps_in_the_same_queries(
    planner, org, part, django_assert_max_num_queries
):
    long = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=40)
    create_runs(user=planner, requests=[build(part, long)])  # creates the counters once

    one = queries_to_create(planner, part, long, 1)
    fifty = queries_to_create(planner, part, long, 50)

    assert fifty == one
    with django_assert_max_num_queries(CREATE_QUERIES):
        create_runs(user=planner, requests=[build(part, long)])
    with django_assert_max_num_queries(CREATE_QUERIES):
        create_runs(user=planner, requests=[build(part, long)] * 50)
    assert RunStep.objects.filter(run__number__gt=52).count() == 51 * 40
    assert RunStepField.objects.filter(run_step__run__number__gt=52).count() == 51 * 40 * 2


def test_a_mixed_batch_takes_the_same_queries_for_one_or_ten_of_each_kind(planner, org, part, version):
    operator = factories.OperatorFactory(organisation=org)
    rivets = factories.PartFactory(organisation=org, tracking_type=TrackingType.LOT)
    version.parts.add(rivets)
    units = [factories.PartInventoryFactory(part=part) for _ in range(12)]

    def mix(copies, batch_name):
        requests = []
        for k in range(copies):
            requests += [
                build(part, version, assigned_user_id=operator.pk),
                build(part, version, serial_number=f"{batch_name}-{k}"),
                build(rivets, version, quantity=10),
                attach(units.pop(), version),
            ]
        with CaptureQueriesContext(connection) as queries:
            create_runs(user=planner, requests=requests, batch_name=batch_name)
        return len(queries)

    mix(1, "Warm-up")  # creates the counters once
    assert mix(1, "One") == mix(10, "Ten")


def test_a_run_of_a_family_with_a_controlled_version_is_export_controlled(planner, org, part):
    older = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=1)
    factories.ProcedureVersionFactory(procedure=older.procedure, number=2, export_controlled=True)
    [run] = create_runs(user=planner, requests=[build(part, older)])
    assert run.export_controlled
