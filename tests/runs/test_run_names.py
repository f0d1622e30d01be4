"""A run is called by its stored name on every page, as the export and the API call it."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from runs.services import RunRequest, create_runs
from tests import factories

pytestmark = pytest.mark.django_db


def test_every_page_calls_a_run_by_the_same_name(client, org, planner):
    part = factories.PartFactory(organisation=org, number="BRKT-ASSY-001")
    due = timezone.localdate() + datetime.timedelta(days=1)
    [run] = create_runs(
        user=planner, requests=[RunRequest(part_id=part.pk, due_date=due)], batch_name="Brackets, week 48"
    )
    assert run.name == f"Run {run.number}: BRKT-ASSY-001 · SN-00001"
    client.force_login(planner)
    pages = {
        "run": reverse("runs:detail", args=[run.number]),
        "runs": reverse("runs:list"),
        "pool": reverse("runs:pool"),
        "schedule": reverse("runs:schedule"),
        "batch": reverse("runs:batch", args=[run.batch_id]),
        "inventory": reverse("inventory:detail", args=[run.part_inventory_id]),
    }
    for page, url in pages.items():
        shown = re.sub(r"<[^>]*>", "", client.get(url).content.decode())  # the text, not a title
        assert run.name in shown, page
