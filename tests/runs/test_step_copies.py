"""The step and field copies create_runs makes in SQL, against the ORM's idea of the same rows.

On PostgreSQL in the test database, and on SQLite (the demo's default) in a subprocess
with its own settings, since one pytest session talks to one database.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from inventory.models import TrackingType
from procedures.models import FieldType, ProcedureStep, StepField
from runs.models import Run, RunSource, RunStep, RunStepField, StepStatus
from runs.services import RunRequest, create_runs
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
# Named here rather than taken from FieldSpec.COPIED, which the SQL itself is built from.
FIELD_ATTRIBUTES = (
    "position",
    "label",
    "type",
    "required",
    "min_value",
    "max_value",
    "max_length",
    "pattern",
    "options",
)


def released_procedure(org, parts, title: str, steps: list[tuple[str, str, list[StepField]]]):
    """A released version with these (title, instructions, fields) steps, linked to `parts`."""
    version = factories.ProcedureVersionFactory(
        procedure__organisation=org, parts=parts, title=title, steps=0
    )
    for position, (step_title, instructions, fields) in enumerate(steps, start=1):
        step = ProcedureStep.objects.create(
            version=version, position=position, title=step_title, instructions=instructions, approved=True
        )
        for field_position, step_field in enumerate(fields, start=1):
            step_field.step, step_field.position = step, field_position
            step_field.save()
    version.release()
    return version


def every_kind_of_run(org, planner) -> list[Run]:
    """One create_runs call: a run of every tracking type, an attached unit, a second
    procedure and no procedure, so the copies must follow each run's own version."""
    serial = factories.PartFactory(organisation=org, number="BRKT-ASSY-001")
    lot = factories.PartFactory(organisation=org, number="RIVET-4", tracking_type=TrackingType.LOT)
    bulk = factories.PartFactory(organisation=org, number="WSHR-M6", tracking_type=TrackingType.NONE)
    parts = [serial, lot, bulk]
    bracket = released_procedure(
        org,
        parts,
        "Bracket build",
        [
            (
                "Degrease",
                "Wipe with IPA.\nLet it dry — 5 min.",
                [
                    StepField(label="Solvent lot", max_length=12, pattern=r"^L\d+$"),
                    StepField(label="Dry", type=FieldType.BOOLEAN, required=True),
                ],
            ),
            (
                "Torque",
                "",
                [
                    StepField(
                        label="Torque (Nm)",
                        type=FieldType.NUMBER,
                        required=True,
                        min_value="1.5",
                        max_value=20,
                    ),
                    StepField(label="Finish", type=FieldType.SELECT, options=["Matte", "Gloss"]),
                    StepField(
                        label="Defects", type=FieldType.MULTISELECT, options=["Scratch", "Dent", "None"]
                    ),
                    StepField(label="Torqued at", type=FieldType.DATETIME),
                ],
            ),
            ("Photograph", "Both sides.", [StepField(label="Photo", type=FieldType.FILE, required=True)]),
            ("Inspect", "Sign when done.", [StepField(label="Inspector", type=FieldType.SIGNOFF)]),
            ("Tidy the bench", "No fields here.", []),
        ],
    )
    valve = released_procedure(
        org,
        [serial],
        "Valve test",
        [("Leak check", "Helium, 2 bar.", [StepField(label="Leak rate", type=FieldType.NUMBER)])],
    )
    unit = factories.PartInventoryFactory(part=serial, organisation=org)
    return create_runs(
        user=planner,
        requests=[
            RunRequest(part_id=serial.pk, procedure_version_id=bracket.pk),
            RunRequest(part_id=lot.pk, procedure_version_id=bracket.pk, quantity=40),
            RunRequest(part_id=bulk.pk, procedure_version_id=bracket.pk, quantity=250),
            RunRequest(
                part_id=serial.pk,
                procedure_version_id=bracket.pk,
                source=RunSource.ATTACH,
                inventory_id=unit.pk,
            ),
            RunRequest(part_id=serial.pk, procedure_version_id=valve.pk),
            RunRequest(part_id=serial.pk),
            RunRequest(part_id=serial.pk, procedure_version_id=bracket.pk),
        ],
    )


def assert_copied_from_their_procedures(runs: list[Run]) -> None:
    """Each run has a copy of its own version's steps and fields, and nothing else."""
    for run in runs:
        steps = list(run.steps.order_by("position"))
        sources = list(run.procedure_version.steps.order_by("position")) if run.procedure_version else []
        assert [(s.position, s.title, s.instructions, s.status) for s in steps] == [
            (s.position, s.title, s.instructions, StepStatus.TODO) for s in sources
        ], run
        for copy, source in zip(steps, sources, strict=True):
            assert [
                [getattr(f, name) for name in FIELD_ATTRIBUTES] for f in copy.fields.order_by("position")
            ] == [
                [getattr(f, name) for name in FIELD_ATTRIBUTES] for f in source.fields.order_by("position")
            ], (run, copy)
    created = [r.pk for r in runs]
    versions = [r.procedure_version for r in runs if r.procedure_version]
    assert RunStep.objects.filter(run__in=created).count() == sum(v.steps.count() for v in versions)
    assert RunStepField.objects.filter(run_step__run__in=created).count() == sum(
        StepField.objects.filter(step__version=v).count() for v in versions
    )


@pytest.mark.django_db
def test_every_kind_of_run_gets_its_own_procedures_steps_and_fields(org, planner):
    runs = every_kind_of_run(org, planner)

    assert [r.tracking_type for r in runs[:3]] == [TrackingType.SERIAL, TrackingType.LOT, TrackingType.NONE]
    assert runs[3].source == RunSource.ATTACH
    assert runs[5].procedure_version is None
    assert_copied_from_their_procedures(runs)
    assert runs[0].steps.get(position=2).fields.get(position=1).min_value == 1.5


@pytest.mark.django_db
def test_the_copies_are_the_runs_own(org, planner):
    first, *_, last = every_kind_of_run(org, planner)
    step = first.procedure_version.steps.get(position=1)
    StepField.objects.filter(step=step).update(label="Changed afterwards")

    assert first.steps.get(position=1).fields.get(position=1).label == "Solvent lot"
    assert set(first.steps.values_list("pk", flat=True)).isdisjoint(last.steps.values_list("pk", flat=True))


def on_sqlite() -> None:
    """Run in a subprocess whose DATABASE_URL is an SQLite file: migrate, create, compare."""
    from django.core.management import call_command
    from django.db import connection

    from ion_runs.accounts.models import Counter

    assert connection.vendor == "sqlite"
    call_command("migrate", verbosity=0)
    org = factories.OrganisationFactory(name="SQLite Rockets")
    planner = factories.PlannerFactory(organisation=org, export_cleared=True)
    runs = every_kind_of_run(org, planner)
    assert_copied_from_their_procedures(runs)
    assert [r.number for r in runs] == list(range(1, 8))
    assert dict(Counter.objects.values_list("key", "value")) == {"run": 7, "serial": 4, "lot": 1}


def test_sqlite_makes_the_same_copies(tmp_path):
    environment = os.environ | {
        "DJANGO_SETTINGS_MODULE": "ion_runs.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
    }
    script = "import django; django.setup(); from tests.runs.test_step_copies import on_sqlite; on_sqlite()"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
