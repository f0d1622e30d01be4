import datetime

import pytest

from procedures.models import FieldType, StepField
from runs.services import RunRequest, create_runs
from tests import factories
from tests.browser.conftest import log_in  # noqa: F401  (the browser tests' fixture, for test_browser.py)


@pytest.fixture
def part(org):
    return factories.PartFactory(
        organisation=org, number="BRKT-ASSY-001", description="Engine mount bracket assembly"
    )


@pytest.fixture
def version(org, part):
    """Three steps; step 1 has, besides the factory's torque and inspector, a select, a yes/no and a text."""
    version = factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], title="Bracket build", steps=3
    )
    first = version.steps.get(position=1)
    StepField.objects.bulk_create(
        [
            StepField(
                step=first, position=3, label="Finish", type=FieldType.SELECT, options=["Matte", "Gloss"]
            ),
            StepField(step=first, position=4, label="Visual OK", type=FieldType.BOOLEAN),
            StepField(
                step=first, position=5, label="Fixture", type=FieldType.TEXT, pattern=r"[A-Z]{2}-\d{4}"
            ),
        ]
    )
    return version


@pytest.fixture
def make_runs(planner, part, version):
    """Runs made as the planner makes them, all in one create (one created page)."""

    def make(count=1, *, batch_name="", **kwargs):
        defaults = {
            "part_id": part.pk,
            "procedure_version_id": version.pk,
            "due_date": datetime.date(2026, 12, 24),
        }
        request = RunRequest(**defaults | kwargs)
        return create_runs(user=planner, requests=[request] * count, batch_name=batch_name)

    return make
