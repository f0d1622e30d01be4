"""Pages of runs for the work pages: capped counts, page numbers, and the Runs page's cursor.

At a million runs an exact COUNT(*) of a large set costs more than the rest of a page, so
counts stop one past a cap and show as "1,000+". A page fetches its 50 ids first from the
filtered, ordered runs alone (index-backed, no joins), then loads those 50 with the related
rows each table shows.
"""

import datetime
from typing import NamedTuple

from django.db.models import Count, Window
from django.utils import timezone

from runs.models import Run

PAGE_SIZE = 50
# The columns every run table shows (one line per run: the procedure is on the run page),
# fetched with the run instead of one query per row.
ROW_RELATED = ("part", "part_inventory", "assigned_user", "assigned_team")
# Counting stops at the 10,001st run on the Runs page and at the 1,001st elsewhere.
COUNT_CAP = 10_000
WORK_COUNT_CAP = 1_000
# Far beyond any real list, and small enough that its OFFSET fits PostgreSQL's bigint.
LAST_PAGE_ASKABLE = 10**9


class AtLeast(int):
    """A count that stopped at its cap: `1,000+` on a page, the cap in arithmetic."""

    capped = True

    def __str__(self) -> str:
        return f"{int(self):,}+"


def capped_count(runs, cap: int | None = None) -> int:
    """How many `runs`, or AtLeast(cap) when there are more: reads at most cap + 1 rows."""
    cap = WORK_COUNT_CAP if cap is None else cap
    count = runs.order_by()[: cap + 1].count()
    return AtLeast(cap) if count > cap else count


def load_rows(ids: list[int], related=ROW_RELATED) -> list[Run]:
    loaded = Run.objects.select_related(*related).in_bulk(ids)
    return [loaded[pk] for pk in ids if pk in loaded]


def wants_partial(request) -> bool:
    """An htmx swap of a page region (not a history restore, which needs the full page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def requested_page(request) -> int:
    try:
        return min(max(1, int(request.GET.get("page", 1))), LAST_PAGE_ASKABLE)
    except ValueError:
        return 1


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
        # PostgreSQL refuses offsets past ±15:59 that Python accepts (up to ±23:59); in UTC
        # any offset is the same instant, and the year check above keeps it in the calendar.
        return cls(created_at.astimezone(datetime.UTC), number)

    @classmethod
    def of(cls, run: Run) -> str:
        return f"{run.created_at.astimezone(datetime.UTC).isoformat()},{run.number}"


class Paginator(NamedTuple):
    count: int
    num_pages: int | None

    @property
    def capped(self) -> bool:
        return isinstance(self.count, AtLeast)


class RunPage:
    """A page of runs, by keyset (the Runs page, newest first) or by number.

    Prev/Next are links made of query parameters; a value of None removes the parameter,
    so the links keep the filters and drop the other way of paging. Page-number pages also
    answer Django's Page methods, so `pagination.html` draws their links.
    """

    def __init__(self, runs, *, count, number=None, previous=None, next=None):
        self.object_list = runs
        self.number = number
        self.previous = previous
        self.next = next
        known = number is not None and not isinstance(count, AtLeast)
        self.paginator = Paginator(count, max(1, -(-count // PAGE_SIZE)) if known else None)

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)

    def has_previous(self) -> bool:
        return self.previous is not None

    def has_next(self) -> bool:
        return self.next is not None

    def previous_page_number(self) -> int:
        return self.number - 1

    def next_page_number(self) -> int:
        return self.number + 1


FIRST_PAGE = {"page": None, "after": None, "before": None}


def numbered_page(
    request, runs, related=ROW_RELATED, *, count=None, cap: int | None = None, number=None
) -> RunPage:
    """Page `?page=N` (or `number`) of `runs` (ordered), by OFFSET, with a capped count.

    Past the last page shows the last page when the count is exact; beyond a capped count
    the page may be empty, with Previous leading back.
    """
    if count is None:
        count = capped_count(runs, cap)
    if number is None:
        number = requested_page(request)
    if not isinstance(count, AtLeast):
        number = min(number, max(1, -(-count // PAGE_SIZE)))
    offset = (number - 1) * PAGE_SIZE
    ids = list(runs.values_list("pk", flat=True)[offset : offset + PAGE_SIZE + 1])
    return RunPage(
        load_rows(ids[:PAGE_SIZE], related),
        count=count,
        number=number,
        previous={**FIRST_PAGE, "page": number - 1} if number > 1 else None,
        next={**FIRST_PAGE, "page": number + 1} if len(ids) > PAGE_SIZE else None,
    )


def searched_page(request, runs, related) -> RunPage:
    """A page of a search no index orders: the total comes with the page's ids from a
    window count, so the matching runs are scanned once, not twice."""
    number = requested_page(request)
    window = runs.annotate(total=Window(Count("pk"))).values_list("pk", "total")
    rows = list(window[(number - 1) * PAGE_SIZE : number * PAGE_SIZE])
    if not rows and number > 1:
        # Past the end: count, and show the last page.
        count = runs.count()
        number = max(1, -(-count // PAGE_SIZE))
        rows = list(window[(number - 1) * PAGE_SIZE : number * PAGE_SIZE])
    count = rows[0][1] if rows else 0
    return RunPage(
        load_rows([pk for pk, _ in rows], related),
        count=count,
        number=number,
        previous={**FIRST_PAGE, "page": number - 1} if number > 1 else None,
        next={**FIRST_PAGE, "page": number + 1} if number * PAGE_SIZE < count else None,
    )


def keyset_page(request, runs, related) -> RunPage | None:
    """The newest-first page after (or before) the cursor in the URL; None without one.

    A page is the 50 runs past that place on the (organisation, created_at, number) index,
    however deep: page 1,000 costs what page 1 does, and runs created meanwhile neither
    repeat nor skip rows.
    """
    after, before = Cursor.parse(request.GET.get("after")), Cursor.parse(request.GET.get("before"))
    if before:
        older = runs.filter(created_at__gte=before.created_at).exclude(
            created_at=before.created_at, number__lte=before.number
        )
        ids = list(older.reverse().values_list("pk", flat=True)[: PAGE_SIZE + 1])
        if len(ids) <= PAGE_SIZE:
            return None  # Fewer than a page before it: that is the first page.
        rows = load_rows(ids[:PAGE_SIZE][::-1], related)
        return RunPage(
            rows,
            count=capped_count(runs, COUNT_CAP),
            previous={**FIRST_PAGE, "before": Cursor.of(rows[0])},
            next={**FIRST_PAGE, "after": Cursor.of(rows[-1])},
        )
    if after:
        newer = runs.filter(created_at__lte=after.created_at).exclude(
            created_at=after.created_at, number__gte=after.number
        )
        ids = list(newer.values_list("pk", flat=True)[: PAGE_SIZE + 1])
        rows = load_rows(ids[:PAGE_SIZE], related)
        return RunPage(
            rows,
            count=capped_count(runs, COUNT_CAP),
            # Past the last run (it was deleted, or the URL is old): Previous still leads
            # back to the runs before that place.
            previous={**FIRST_PAGE, "before": Cursor.of(rows[0]) if rows else request.GET["after"]},
            next={**FIRST_PAGE, "after": Cursor.of(rows[-1])} if len(ids) > PAGE_SIZE else None,
        )
    return None


def page_of_runs(request, runs, related, *, newest_first: bool) -> RunPage:
    """The Runs page's page, without OFFSET for the default sort.

    `page=` still works (for the other sorts, and for links made before); newest first, its
    Next link continues by cursor.
    """
    if newest_first and (page := keyset_page(request, runs, related)) is not None:
        return page
    # A cursor that leads back to the start shows page 1, whatever `page=` says.
    at_start = newest_first and bool(request.GET.get("after") or request.GET.get("before"))
    page = numbered_page(request, runs, related, cap=COUNT_CAP, number=1 if at_start else None)
    if newest_first and page.next:
        page.next = {**FIRST_PAGE, "after": Cursor.of(page.object_list[-1])}
    return page
