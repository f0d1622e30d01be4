"""Picking a run up from the unassigned pool.

The lists that lead here live in runs/work_pages.py and runs/schedule.py; the run's own page
and a planner's changes to it in runs/run_actions.py.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from runs.access import get_run_for_user
from runs.models import Run
from runs.paging import wants_partial
from runs.services import pick_up_run
from runs.work_pages import pool_count


@login_required
@permission_required("runs.pick_up_run", raise_exception=True)
@require_POST
def pick_up(request, number):
    run = get_run_for_user(request, number)
    won = pick_up_run(actor=request.user, run=run)
    run = get_run_for_user(request, number)
    refusal = "" if won else pick_up_refusal(run, request.user)
    if wants_partial(request):
        context = {"run": run, "just_picked": won, "refusal": refusal, "swap": True}
        context["pool_count"] = pool_count(request.user)
        # The count rides in a <template>: beside a <tr>, a bare <p> would not survive parsing.
        row = render_to_string("runs/pool.html#pool-row", context, request)
        count = render_to_string("runs/pool.html#pool-count", context, request)
        return HttpResponse(f"{row}<template>{count}</template>")
    if won:
        messages.success(request, f"You picked up run {run.number}. It is in My work.")
    else:
        messages.warning(request, refusal)
    back = request.POST.get("next", "")
    # Only a path on this site: redirect() would take other text for a view name.
    if not back.startswith("/") or not url_has_allowed_host_and_scheme(
        back, {request.get_host()}, request.is_secure()
    ):
        back = reverse("runs:pool")
    return HttpResponseRedirect(back)


def pick_up_refusal(run: Run, user) -> str:
    if run.assigned_user_id == user.pk:
        return f"Run {run.number} is already yours."
    if run.assigned_user_id:
        return f"Already picked up by {run.assigned_user}."
    if run.assigned_team_id:
        return f"Already assigned to team {run.assigned_team}."
    return f"Run {run.number} is {run.get_status_display().lower()}; it can no longer be picked up."
