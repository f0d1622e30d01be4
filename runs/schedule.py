"""The Schedule: runs by due date, a week or a month at a time, overdue and undated runs apart."""

import calendar
import datetime

from django.contrib.auth.decorators import login_required, permission_required
from django.db import connection
from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from runs.access import visible_runs
from runs.paging import AtLeast, capped_count, load_rows, numbered_page

CHIPS_PER_DAY = {"week": 12, "month": 4}
OVERDUE_SHOWN = 12
CHIP_RELATED = ("part_inventory", "assigned_user", "assigned_team")
EARLIEST_ANCHOR = datetime.date(1, 2, 1)
LATEST_ANCHOR = datetime.date(9999, 11, 30)


class Grid:
    """The days a week or month view shows, and where Previous and Next lead."""

    def __init__(self, span: str, anchor: datetime.date):
        if span == "week":
            self.first = anchor - datetime.timedelta(days=anchor.weekday())
            self.start, self.end = self.first, self.first + datetime.timedelta(days=6)
            self.previous = self.first - datetime.timedelta(days=7)
            self.next = self.first + datetime.timedelta(days=7)
            self.title = f"Week of {self.first:%-d %B %Y}"
        else:
            self.first = anchor.replace(day=1)
            last = self.first.replace(day=calendar.monthrange(self.first.year, self.first.month)[1])
            self.start = self.first - datetime.timedelta(days=self.first.weekday())
            self.end = last + datetime.timedelta(days=6 - last.weekday())
            self.previous = (self.first - datetime.timedelta(days=1)).replace(day=1)
            self.next = last + datetime.timedelta(days=1)
            self.title = f"{self.first:%B %Y}"

    def days(self):
        day = self.start
        while day <= self.end:
            yield day
            day += datetime.timedelta(days=1)


def first_runs_per_day(in_grid, days, limit: int) -> dict[datetime.date, list]:
    """The first `limit` runs (by number) of each of `days`, in one query, with their unit
    and assignee loaded in a second.

    A short walk of the (organisation, due_date, number) index per day, joined by UNION
    ALL; ranking every run of the grid with a window function took ~190 ms for a month
    at 1,000,000 runs. SQLite (the demo) allows no LIMIT inside a UNION: it ranks.
    """
    if not days:
        return {}
    if connection.features.supports_slicing_ordering_in_compound:
        # A branch's ORDER BY column must be among its selected ones.
        day_runs = in_grid.order_by("number").values_list("pk", "number")
        firsts = [day_runs.filter(due_date=day)[:limit] for day in days]
        rows = firsts[0].union(*firsts[1:], all=True) if len(firsts) > 1 else firsts[0]
        ids = [pk for pk, _ in rows]
    else:
        ranked = in_grid.annotate(
            rank=Window(RowNumber(), partition_by=F("due_date"), order_by=F("number").asc())
        )
        ids = list(ranked.filter(rank__lte=limit).values_list("pk", flat=True))
    by_day: dict[datetime.date, list] = {}
    runs = sorted(load_rows(ids, CHIP_RELATED), key=lambda run: (run.due_date, run.number))
    for run in runs:
        by_day.setdefault(run.due_date, []).append(run)
    return by_day


@login_required
@permission_required("runs.view_run", raise_exception=True)
@require_GET
def schedule(request):
    today = timezone.localdate()
    span = "month" if request.GET.get("span") == "month" else "week"
    try:
        anchor = datetime.date.fromisoformat(request.GET.get("start", ""))
    except ValueError:
        anchor = today
    # The grid and its previous/next links must stay within the calendar's years 1 to 9999.
    grid = Grid(span, min(max(anchor, EARLIEST_ANCHOR), LATEST_ANCHOR))
    include_closed = request.GET.get("closed") == "1"

    runs = visible_runs(request.user)
    if not include_closed:
        runs = runs.open()
    in_grid = runs.filter(due_date__range=(grid.start, grid.end))
    # COUNT(*), not COUNT(id): open runs are then counted from run_open_due_idx alone.
    per_day = dict(in_grid.order_by().values_list("due_date").annotate(n=Count("*")))
    by_day = first_runs_per_day(in_grid, sorted(per_day), CHIPS_PER_DAY[span])
    days = [
        {
            "date": day,
            # Formatted here: Django's |date filter, ~250 times a month, cost ~30 ms.
            "iso": day.isoformat(),
            "label": f"{day:%a} {day.day} {day:%b}",
            "short": f"{day.day} {day:%b %Y}",
            "long": f"{day:%A} {day.day} {day:%B %Y}",
            "runs": by_day.get(day, []),
            "more": per_day.get(day, 0) - len(by_day.get(day, [])),
            "total": per_day.get(day, 0),
            "is_today": day == today,
            "is_past": day < today,
            "outside": span == "month" and day.month != grid.first.month,
        }
        for day in grid.days()
    ]
    context = {
        "span": span,
        "title": grid.title,
        "days": days,
        "today": today,
        "start": grid.first,
        "prev_start": grid.previous,
        "next_start": grid.next,
        "include_closed": include_closed,
        "page": numbered_page(request, runs.filter(due_date__isnull=True).order_by("-number")),
    }
    if span == "week":
        context |= overdue_lane(request.user, before=min(grid.start, today))
    return render(request, "runs/schedule.html", context)


def overdue_lane(user, *, before: datetime.date) -> dict:
    """Open runs due before the week shown (and before today): late work the grid misses.

    Looking at this week, the past days are in the grid; runs due earlier are listed here,
    most overdue first, so the week view never hides late work.
    """
    late = visible_runs(user).open().filter(due_date__lt=before)
    ids = list(late.order_by("due_date", "number").values_list("pk", flat=True)[:OVERDUE_SHOWN])
    count = capped_count(late)
    more = count - len(ids)
    return {
        "overdue": load_rows(ids, CHIP_RELATED),
        "overdue_count": count,
        "overdue_more": AtLeast(more) if isinstance(count, AtLeast) else more,
        "overdue_before": before,
        "overdue_through": before - datetime.timedelta(days=1),  # The Runs page's "Due to" is inclusive.
    }
