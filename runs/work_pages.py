"""The lists that find the work: the Runs page, My work, team queues and the unassigned pool.

Every count on them is capped (`runs.paging.capped_count`): at a million runs an exact
count of an operator's open runs, or of the pool, cost more than the rest of the page.
"""

import datetime

from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import F
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from ion_runs.accounts.models import Team
from runs.access import assigned_to_me_or_my_teams, hide_hidden_batches, my_team_ids, visible_runs
from runs.paging import ROW_RELATED, capped_count, numbered_page, page_of_runs, searched_page, wants_partial
from runs.run_filters import DEFAULT_SORT, SORTS, RunFilterForm

SOONEST_DUE = (F("due_date").asc(nulls_last=True), F("number").asc())
LIST_RELATED = (*ROW_RELATED, "batch")  # The batch is named in the run link's tooltip.
POOL_RELATED = ("part", "part_inventory")


@login_required
@permission_required("runs.view_run", raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def run_list(request):
    form = RunFilterForm(request.GET, user=request.user)
    form.is_valid()  # Invalid fields are reported at the field and left out of the filter.
    runs = form.apply(visible_runs(request.user))
    if form.cleaned_data.get("q"):
        page = searched_page(request, runs, LIST_RELATED)
    else:
        page = page_of_runs(request, runs, LIST_RELATED, newest_first=form.sort_key == DEFAULT_SORT)
    hide_hidden_batches(request.user, page.object_list)
    context = {"form": form, "page": page, "sort": form.sort_key, "sorts": SORTS}
    template = "runs/list.html#run-table" if wants_partial(request) else "runs/list.html"
    return render(request, template, context)


@login_required
@permission_required("runs.view_run", raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def my_work(request):
    user = request.user
    today = timezone.localdate()
    end_of_week = today + datetime.timedelta(days=6 - today.weekday())
    team_ids = my_team_ids(user)
    runs = assigned_to_me_or_my_teams(user, team_ids).open()
    counts = {
        "total": capped_count(runs),
        "overdue": capped_count(runs.filter(due_date__lt=today)),
        "this_week": capped_count(runs.filter(due_date__gte=today, due_date__lte=end_of_week)),
    }
    page = numbered_page(request, runs.order_by(*SOONEST_DUE), count=counts["total"])
    open_runs = visible_runs(user).open()
    # One capped count per team: a person is in a few teams, and a join of every team's
    # runs with a GROUP BY counted them all.
    teams = [
        (team, capped_count(open_runs.filter(assigned_team=team)))
        for team in Team.objects.filter(pk__in=team_ids).order_by("name")
    ]
    context = {
        "page": page,
        "counts": counts,
        "teams": teams,
        "pool_count": capped_count(open_runs.unassigned()),
    }
    template = "runs/my_work.html#work-table" if wants_partial(request) else "runs/my_work.html"
    return render(request, template, context)


@login_required
@permission_required("runs.view_run", raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def team_queue(request, team_id):
    # Only a team's members see its queue; anyone else gets the same 404 as a missing team.
    team = get_object_or_404(
        Team, pk=team_id, organisation_id=request.user.organisation_id, members=request.user
    )
    runs = visible_runs(request.user).open().filter(assigned_team=team)
    page = numbered_page(request, runs.order_by(*SOONEST_DUE), ROW_RELATED)
    context = {"team": team, "page": page}
    template = "runs/team_queue.html#work-table" if wants_partial(request) else "runs/team_queue.html"
    return render(request, template, context)


@login_required
@permission_required("runs.view_run", raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def unassigned_pool(request):
    runs = visible_runs(request.user).open().unassigned()
    page = numbered_page(request, runs.order_by(*SOONEST_DUE), POOL_RELATED, count=pool_count(request.user))
    template = "runs/pool.html#pool-table" if wants_partial(request) else "runs/pool.html"
    return render(request, template, {"page": page, "pool_count": page.paginator.count})


def pool_count(user) -> int:
    """How many open runs nobody has picked up, as the pool page counts them."""
    return capped_count(visible_runs(user).open().unassigned())
