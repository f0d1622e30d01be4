"""Finding the work: the Runs page, a run, My work, team queues, the pool and the schedule."""

import calendar
import datetime
from types import SimpleNamespace
from typing import NamedTuple

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Prefetch, Q, Window
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from ion_runs.accounts.models import Team
from runs.access import (
    assigned_to_me_or_my_teams,
    get_run_for_user,
    hide_hidden_batches,
    my_team_ids,
    visible_runs,
)
from runs.models import Run, RunAttributeDefinition, RunStatus, RunStepField, display_value
from runs.run_filters import DEFAULT_SORT, SORTS, RunFilterForm

PAGE_SIZE = 50
BATCH_SIBLINGS_SHOWN = 50
SOONEST_DUE = (F("due_date").asc(nulls_last=True), F("number").asc())
# The columns every run table shows, fetched with the run instead of one query per row.
ROW_RELATED = ("part", "procedure_version", "part_inventory", "assigned_user", "assigned_team")


def paginate(request, runs, related=ROW_RELATED, *, count: int | None = None, one_scan: bool = False):
    """One page of `runs`, with the related rows each table shows.

    The page's ids come first, from the filtered and ordered runs alone (index-backed, no
    joins), then those 50 runs are loaded with their part, procedure, unit and assignee.
    Joining before paging would join every row skipped by OFFSET: page 1,000 of the Runs
    page took ~400 ms that way at 100,000 runs.

    `one_scan` is for filters no index can answer (a search of names): the total comes
    with the page's ids from a window count, so the runs are scanned once, not twice.
    """
    paginator = Paginator(runs.values_list("pk", flat=True), PAGE_SIZE)
    if count is not None:
        paginator.count = count  # Counted already; saves a second COUNT.
    page = None
    if one_scan:
        number = requested_page(request)
        window = runs.annotate(total=Window(Count("pk"))).values_list("pk", "total")
        rows = list(window[(number - 1) * PAGE_SIZE : number * PAGE_SIZE])
        if rows or number == 1:
            paginator.count = rows[0][1] if rows else 0
            page = Page([pk for pk, _ in rows], number, paginator)
    if page is None:
        page = paginator.get_page(request.GET.get("page"))
    page.object_list = load_rows(list(page.object_list), related)
    return page


def load_rows(ids: list[int], related) -> list[Run]:
    loaded = Run.objects.select_related(*related).in_bulk(ids)
    return [loaded[pk] for pk in ids]


# Counting a million runs takes longer than the rest of the page: beyond this many, the
# Runs page says "more than 10,000" (counting stops at the 10,001st row).
COUNT_CAP = 10_000


class Cursor(NamedTuple):
    """A place in the newest-first order: the (created_at, number) of a run."""

    created_at: datetime.datetime
    number: int

    @classmethod
    def parse(cls, text: str | None) -> "Cursor | None":
        """`2026-11-23T14:00:00.123456+00:00,1234`, or None for anything else (a junk URL)."""
        when, _, number = (text or "").rpartition(",")
        try:
            created_at = datetime.datetime.fromisoformat(when)
            number = int(number)
        except ValueError:
            return None
        if not 0 < number < 2**31 or created_at.year < 2 or created_at.year > 9998:
            return None
        if timezone.is_naive(created_at):
            created_at = timezone.make_aware(created_at, datetime.UTC)
        return cls(created_at, number)

    @classmethod
    def of(cls, run: Run) -> str:
        return f"{run.created_at.astimezone(datetime.UTC).isoformat()},{run.number}"


class RunPage:
    """A page of the Runs page: by keyset (newest first) or by number (other sorts).

    Prev/Next are links made of query parameters; a value of None removes the parameter,
    so the links keep the filters and drop the other way of paging.
    """

    def __init__(self, runs, *, count, capped, number=None, previous=None, next=None):
        self.object_list = runs
        self.paginator = SimpleNamespace(count=count, capped=capped)
        self.number = number
        self.previous = previous
        self.next = next
        if number is not None and not capped:
            self.paginator.num_pages = max(1, -(-count // PAGE_SIZE))

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)

    def has_previous(self) -> bool:
        return self.previous is not None

    def has_next(self) -> bool:
        return self.next is not None


FIRST_PAGE = {"page": None, "after": None, "before": None}


def capped_count(runs) -> tuple[int, bool]:
    count = runs.order_by()[: COUNT_CAP + 1].count()
    return min(count, COUNT_CAP), count > COUNT_CAP


def page_of_runs(request, runs, related, *, newest_first: bool) -> RunPage:
    """The Runs page's page, without OFFSET for the default sort.

    Newest first, a page is the 50 runs after (or before) a cursor, found by the
    (organisation, created_at, number) index however deep: page 1,000 costs what page 1
    does, and runs created meanwhile neither repeat nor skip rows. `page=` still works (for
    the other sorts, and for links made before); its Next link continues by cursor.
    """
    count, capped = capped_count(runs)
    after, before = Cursor.parse(request.GET.get("after")), Cursor.parse(request.GET.get("before"))
    if newest_first and (after or before):
        if before:
            older = runs.filter(created_at__gte=before.created_at).exclude(
                created_at=before.created_at, number__lte=before.number
            )
            ids = list(older.reverse().values_list("pk", flat=True)[: PAGE_SIZE + 1])
            if len(ids) > PAGE_SIZE:
                rows = load_rows(ids[:PAGE_SIZE][::-1], related)
                return RunPage(
                    rows,
                    count=count,
                    capped=capped,
                    previous={**FIRST_PAGE, "before": Cursor.of(rows[0])},
                    next={**FIRST_PAGE, "after": Cursor.of(rows[-1])},
                )
            after = None  # Fewer than a page before it: that is the first page.
        else:
            newer = runs.filter(created_at__lte=after.created_at).exclude(
                created_at=after.created_at, number__gte=after.number
            )
            ids = list(newer.values_list("pk", flat=True)[: PAGE_SIZE + 1])
            rows = load_rows(ids[:PAGE_SIZE], related)
            return RunPage(
                rows,
                count=count,
                capped=capped,
                # Past the last run (it was deleted, or the URL is old): Previous still
                # leads back to the runs before that place.
                previous={**FIRST_PAGE, "before": Cursor.of(rows[0]) if rows else request.GET["after"]},
                next={**FIRST_PAGE, "after": Cursor.of(rows[-1])} if len(ids) > PAGE_SIZE else None,
            )
    number = 1 if after or before else requested_page(request)
    if not capped:
        number = min(number, max(1, -(-count // PAGE_SIZE)))
    offset = (number - 1) * PAGE_SIZE
    ids = list(runs.values_list("pk", flat=True)[offset : offset + PAGE_SIZE + 1])
    rows = load_rows(ids[:PAGE_SIZE], related)
    if len(ids) <= PAGE_SIZE:
        following = None
    elif newest_first:
        following = {**FIRST_PAGE, "after": Cursor.of(rows[-1])}
    else:
        following = {**FIRST_PAGE, "page": number + 1}
    return RunPage(
        rows,
        count=count,
        capped=capped,
        number=number,
        previous={**FIRST_PAGE, "page": number - 1} if number > 1 else None,
        next=following,
    )


# Far beyond any real list, and small enough that its OFFSET fits PostgreSQL's bigint.
LAST_PAGE_ASKABLE = 10**9


def requested_page(request) -> int:
    try:
        return min(max(1, int(request.GET.get("page", 1))), LAST_PAGE_ASKABLE)
    except ValueError:
        return 1


def wants_partial(request) -> bool:
    """An htmx swap of a page region (not a history restore, which needs the full page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


@login_required
@permission_required("runs.view_run", raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def run_list(request):
    form = RunFilterForm(request.GET, user=request.user)
    form.is_valid()  # Invalid fields are reported at the field and left out of the filter.
    runs = form.apply(visible_runs(request.user))
    related = (*ROW_RELATED, "batch")
    if form.cleaned_data.get("q"):
        found = paginate(request, runs, related, one_scan=True)
        page = RunPage(
            found.object_list,
            count=found.paginator.count,
            capped=False,
            number=found.number,
            previous={**FIRST_PAGE, "page": found.number - 1} if found.has_previous() else None,
            next={**FIRST_PAGE, "page": found.number + 1} if found.has_next() else None,
        )
    else:
        page = page_of_runs(request, runs, related, newest_first=form.sort_key == DEFAULT_SORT)
    hide_hidden_batches(request.user, page.object_list)
    context = {"form": form, "page": page, "sort": form.sort_key, "sorts": SORTS}
    template = "runs/list.html#run-table" if wants_partial(request) else "runs/list.html"
    return render(request, template, context)


@login_required
@permission_required("runs.view_run", raise_exception=True)
@require_GET
def run_detail(request, number):
    run = get_run_for_user(request, number)
    steps = run.steps.order_by("position").prefetch_related(
        Prefetch("fields", queryset=RunStepField.objects.order_by("position"))
    )
    hide_hidden_batches(request.user, [run])
    batch_runs, batch_more = [], 0
    if run.batch:
        siblings = visible_runs(request.user).filter(batch_id=run.batch_id).exclude(pk=run.pk)
        batch_runs = list(siblings.order_by("number")[: BATCH_SIBLINGS_SHOWN + 1])
        if len(batch_runs) > BATCH_SIBLINGS_SHOWN:
            batch_runs = batch_runs[:BATCH_SIBLINGS_SHOWN]
            batch_more = siblings.count() - BATCH_SIBLINGS_SHOWN
    return render(
        request,
        "runs/detail.html",
        {
            "run": run,
            "steps": steps,
            "attributes": labelled_attributes(run),
            "batch_runs": batch_runs,
            "batch_more": batch_more,
            "open_statuses": RunStatus.open(),
        },
    )


def labelled_attributes(run: Run) -> list[tuple[str, str]]:
    """(label, shown value) per custom attribute, in the organisation's order."""
    values = dict(run.attributes or {})
    if not values:
        return []
    shown = []
    for definition in RunAttributeDefinition.objects.filter(organisation_id=run.organisation_id):
        if definition.key in values:
            shown.append((definition.label, display_value(values.pop(definition.key))))
    # Attributes whose definition was deleted since still belong to the run.
    shown += [(key, display_value(value)) for key, value in values.items()]
    return shown


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
    counts = runs.aggregate(
        total=Count("pk"),
        overdue=Count("pk", filter=Q(due_date__lt=today)),
        this_week=Count("pk", filter=Q(due_date__gte=today, due_date__lte=end_of_week)),
    )
    page = paginate(request, runs.order_by(*SOONEST_DUE), count=counts["total"])
    open_team_runs = Q(runs__status__in=RunStatus.open())
    if not user.export_cleared:
        open_team_runs &= Q(runs__export_controlled=False)
    teams = Team.objects.filter(pk__in=team_ids).annotate(open_runs=Count("runs", filter=open_team_runs))
    context = {
        "page": page,
        "counts": counts,
        "teams": teams,
        "pool_count": visible_runs(user).open().unassigned().count(),
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
    page = paginate(request, runs.order_by(*SOONEST_DUE))
    context = {"team": team, "page": page}
    template = "runs/team_queue.html#work-table" if wants_partial(request) else "runs/team_queue.html"
    return render(request, template, context)


@login_required
@permission_required("runs.view_run", raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def unassigned_pool(request):
    runs = visible_runs(request.user).open().unassigned()
    page = paginate(request, runs.order_by(*SOONEST_DUE), ("part", "procedure_version", "part_inventory"))
    template = "runs/pool.html#pool-table" if wants_partial(request) else "runs/pool.html"
    return render(request, template, {"page": page})


@login_required
@permission_required("runs.pick_up_run", raise_exception=True)
@require_POST
def pick_up(request, number):
    run = get_run_for_user(request, number)
    # Two operators may press Pick up on the same run at once. The condition inside the
    # UPDATE settles it: the row is locked for the first, and the second's condition no
    # longer holds when it gets the row, so it updates nothing instead of overwriting.
    won = Run.objects.filter(
        pk=run.pk,
        assigned_user__isnull=True,
        assigned_team__isnull=True,
        status__in=RunStatus.open(),
    ).update(assigned_user=request.user)
    run = get_run_for_user(request, number)
    refusal = "" if won else pick_up_refusal(run, request.user)
    if wants_partial(request):
        context = {"run": run, "just_picked": won, "refusal": refusal}
        return render(request, "runs/pool.html#pool-row", context)
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


CHIPS_PER_DAY = {"week": 12, "month": 4}
EARLIEST_ANCHOR = datetime.date(1, 2, 1)
LATEST_ANCHOR = datetime.date(9999, 11, 30)


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
    anchor = min(max(anchor, EARLIEST_ANCHOR), LATEST_ANCHOR)
    include_closed = request.GET.get("closed") == "1"
    if span == "week":
        first = anchor - datetime.timedelta(days=anchor.weekday())
        grid_start, grid_end = first, first + datetime.timedelta(days=6)
        prev_start, next_start = first - datetime.timedelta(days=7), first + datetime.timedelta(days=7)
        title = f"Week of {first:%-d %B %Y}"
    else:
        first = anchor.replace(day=1)
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        grid_start = first - datetime.timedelta(days=first.weekday())
        grid_end = last + datetime.timedelta(days=6 - last.weekday())
        prev_start = (first - datetime.timedelta(days=1)).replace(day=1)
        next_start = last + datetime.timedelta(days=1)
        title = f"{first:%B %Y}"

    runs = visible_runs(request.user)
    if not include_closed:
        runs = runs.open()
    in_grid = runs.filter(due_date__range=(grid_start, grid_end))
    per_day = dict(in_grid.order_by().values_list("due_date").annotate(n=Count("pk")))
    # The first few runs of each day that has any, in one query: a short walk of the
    # (organisation, due_date, number) index per day, joined by UNION ALL. Ranking every run
    # of the grid with a window function took ~190 ms for a month at 1,000,000 runs.
    limit = CHIPS_PER_DAY[span]
    firsts = [
        in_grid.filter(due_date=day).only("number", "name", "status", "due_date").order_by("number")[:limit]
        for day in sorted(per_day)
    ]
    if len(firsts) > 1:
        chips = firsts[0].union(*firsts[1:], all=True).order_by("due_date", "number")
    else:
        chips = firsts[0] if firsts else []
    by_day: dict[datetime.date, list[Run]] = {}
    for run in chips:
        by_day.setdefault(run.due_date, []).append(run)
    days = []
    day = grid_start
    while day <= grid_end:
        days.append(
            {
                "date": day,
                "runs": by_day.get(day, []),
                "more": per_day.get(day, 0) - len(by_day.get(day, [])),
                "total": per_day.get(day, 0),
                "is_today": day == today,
                "is_past": day < today,
                "outside": span == "month" and day.month != first.month,
            }
        )
        day += datetime.timedelta(days=1)

    unscheduled_page = paginate(request, runs.filter(due_date__isnull=True).order_by("-number"))
    return render(
        request,
        "runs/schedule.html",
        {
            "span": span,
            "title": title,
            "days": days,
            "today": today,
            "start": first,
            "prev_start": prev_start,
            "next_start": next_start,
            "include_closed": include_closed,
            "page": unscheduled_page,
        },
    )
