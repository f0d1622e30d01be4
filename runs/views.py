from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def run_list(request):
    return HttpResponse("Runs")


run_detail = my_work = team_queue = unassigned_pool = pick_up = schedule = run_list
