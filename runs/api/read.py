"""Reading runs and batches over the JSON API (SPEC §8), through the Runs page's filters."""

from django.db.models import Prefetch
from django.http import HttpRequest
from ninja import Query

from ion_runs.accounts.models import Team, User
from ion_runs.api import ERRORS, USE_API, ApiError, invalid, require
from ion_runs.api_paging import keyset_page
from runs.access import hide_hidden_batches, visible_runs
from runs.api import batches_router, router
from runs.api.schemas import (
    BatchPage,
    BatchQuery,
    RunDetail,
    RunFilters,
    RunLinks,
    RunPage,
    run_out,
    step_out,
    steps_with_people,
)
from runs.models import RunBatch
from runs.run_filters import ME, NOBODY, RunFilterForm

# API name → RunFilterForm field name
FORM_FIELDS = {"due_after": "due_from", "due_before": "due_to", "export_controlled": "export"}
API_FIELDS = {form: name for name, form in FORM_FIELDS.items()}


def _ids_for_names(user, data: dict) -> dict:
    """The Runs page's form takes ids; the API's answers name people and teams: take both."""
    ids = {}
    org = user.organisation_id
    assignee = data.get("assignee", "")
    if assignee and assignee not in (ME, NOBODY) and not assignee.isdigit():
        found = User.objects.filter(organisation_id=org, username=assignee).values_list("pk", flat=True)
        ids["assignee"] = str(found.first() or assignee)
    team = data.get("team", "")
    if team and not team.isdigit():
        found = Team.objects.filter(organisation_id=org, name=team).values_list("pk", flat=True)
        ids["team"] = str(found.first() or team)
    return ids


@router.get("", response={200: RunPage, **ERRORS}, url_name="runs", summary="List runs")
def list_runs(request: HttpRequest, filters: Query[RunFilters]):
    """Runs you may see, newest first, filtered as on the Runs page; follow `next` for more."""
    user = require(request, USE_API)
    data = {
        FORM_FIELDS.get(name, name): value
        for name, value in filters.dict(exclude={"limit", "cursor"}).items()
        if value is not None
    }
    if "export" in data:
        data["export"] = "yes" if data["export"] else "no"
    data |= _ids_for_names(user, data)
    form = RunFilterForm(data | {"sort": "-created"}, user=user)
    if not form.is_valid():
        raise invalid(
            [
                {"row": None, "field": API_FIELDS.get(name, name), "message": message}
                for name, messages in form.errors.items()
                for message in messages
            ]
        )
    runs = form.apply(visible_runs(user))
    if filters.export_controlled and not user.export_cleared:
        # The Runs page offers the uncleared no such filter; here it must not answer every run.
        runs = runs.none()
    runs = runs.select_related(
        "part", "procedure_version", "part_inventory", "assigned_user", "assigned_team", "batch"
    )
    # Newest first on the (organisation, created_at, number) index, as the Runs page's default.
    page, following = keyset_page(request, runs, filters, keys=("created_at", "number"), descending=True)
    hide_hidden_batches(user, page)
    links = RunLinks()
    return {"runs": [run_out(run, links) for run in page], "next": following}


@router.get("/{number}", response={200: RunDetail, **ERRORS}, url_name="run", summary="One run")
def get_run(request: HttpRequest, number: int):
    """A run you may see, with its steps, their fields and values, and who worked them; 404 otherwise."""
    return run_detail(require(request, USE_API), number)


def run_detail(user: User, number: int) -> dict:
    """The run with this number as `GET /runs/{number}` answers it, if `user` may see it; else a 404.

    The endpoints that change a run answer with it this way too.
    """
    run = (
        visible_runs(user)
        .select_related(
            "part", "procedure_version", "part_inventory", "assigned_user", "assigned_team", "batch"
        )
        .prefetch_related(Prefetch("steps", queryset=steps_with_people()))
        .filter(number=number)
        .first()
    )
    if run is None:
        raise ApiError(404, "No run with this number is visible to you.")
    hide_hidden_batches(user, [run])
    return run_out(run, RunLinks()) | {
        "started_at": run.started_at,
        "completed_at": run.completed_at,
        "steps": [step_out(step) for step in run.steps.all()],
    }


@batches_router.get("", response={200: BatchPage, **ERRORS}, url_name="batches", summary="Batches")
def list_batches(request: HttpRequest, query: Query[BatchQuery]):
    """Batches you may see (none holding a run hidden from you), newest first; follow `next` for more."""
    user = require(request, USE_API)
    batches = RunBatch.objects.visible_to(user)
    if query.q:
        batches = batches.filter(name__icontains=query.q)
    # Newest first by id, the order they were made in: the primary key's index serves every page.
    page, following = keyset_page(request, batches, query, keys=("pk",), descending=True)
    return {"batches": page, "next": following}
