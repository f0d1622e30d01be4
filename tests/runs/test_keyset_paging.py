"""The Runs page, newest first, pages by cursor: deep pages cost what page 1 does."""

import datetime
import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from runs import paging
from runs.models import Run, RunStatus
from tests import factories

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
START = timezone.now() - datetime.timedelta(days=30)


def make_runs(org, count: int, *, per_instant: int = 7, start=START, **fields) -> list[Run]:
    """`count` runs, `per_instant` at a time sharing one created_at (imports make such ties)."""
    part = factories.PartFactory(organisation=org)
    return [
        factories.RunFactory(
            organisation=org,
            part=part,
            created_at=start + datetime.timedelta(minutes=i // per_instant),
            **fields,
        )
        for i in range(count)
    ]


def newest_first(runs) -> list[int]:
    return [run.number for run in sorted(runs, key=lambda r: (r.created_at, r.number), reverse=True)]


def link(response, label: str) -> str | None:
    """The href of the page's Previous or Next link, unescaped, or None."""
    found = re.search(rf'href="(\?[^"]*)"[^>]*>{label}', response.content.decode())
    return html.unescape(found[1]) if found else None


def numbers(response) -> list[int]:
    return [run.number for run in response.context["page"]]


def walk(client, url: str, label: str) -> list[list[int]]:
    pages = []
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200
        pages.append(numbers(response))
        assert len(pages) < 20, "the links go round in circles"
        following = link(response, label)
        url = reverse("runs:list") + following if following else None
    return pages


def test_it_pages_through_ties_without_duplicates_or_gaps(planner_client, org):
    runs = make_runs(org, 123)
    forward = walk(planner_client, reverse("runs:list"), "Next →")
    assert [len(page) for page in forward] == [50, 50, 23]
    assert [number for page in forward for number in page] == newest_first(runs)

    last = reverse("runs:list") + link(planner_client.get(reverse("runs:list")), "Next →")
    last = reverse("runs:list") + link(planner_client.get(last), "Next →")
    backward = walk(planner_client, last, "← Previous")
    assert backward == forward[::-1]


def test_the_first_page_has_no_cursor_and_next_uses_one(planner_client, org):
    make_runs(org, 51)
    response = planner_client.get(reverse("runs:list"))
    assert link(response, "← Previous") is None
    assert link(response, "Next →").startswith("?after=")
    second = planner_client.get(reverse("runs:list") + link(response, "Next →"))
    assert link(second, "Next →") is None
    back = planner_client.get(reverse("runs:list") + link(second, "← Previous"))
    assert numbers(back) == numbers(response) and link(back, "← Previous") is None


def test_runs_created_meanwhile_neither_repeat_nor_shift_the_next_page(planner_client, org):
    runs = make_runs(org, 100)
    following = link(planner_client.get(reverse("runs:list")), "Next →")
    make_runs(org, 10, per_instant=1, start=timezone.now())  # newer than all of them
    response = planner_client.get(reverse("runs:list") + following)
    assert numbers(response) == newest_first(runs)[50:]


def test_a_stale_cursor_continues_from_its_place(planner_client, org):
    runs = make_runs(org, 60)
    following = link(planner_client.get(reverse("runs:list")), "Next →")
    order = newest_first(runs)
    Run.objects.filter(number__in=order[49:51]).delete()  # the cursor's run and the next one
    response = planner_client.get(reverse("runs:list") + following)
    assert response.status_code == 200
    assert numbers(response) == order[51:]


def test_a_cursor_past_the_last_run_shows_nothing_and_leads_back(planner_client, org):
    runs = make_runs(org, 60)
    oldest = min(runs, key=lambda r: (r.created_at, r.number))
    response = planner_client.get(reverse("runs:list"), {"after": paging.Cursor.of(oldest)})
    assert response.status_code == 200 and numbers(response) == []
    assert link(response, "Next →") is None
    back = planner_client.get(reverse("runs:list") + link(response, "← Previous"))
    assert numbers(back) == newest_first(runs)[-51:-1]  # the 50 before it


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "junk",
        ",",
        "2026-13-01T00:00:00+00:00,5",
        "2026-01-01T00:00:00+00:00,-5",
        "2026-01-01T00:00:00+00:00,0",
        "2026-01-01T00:00:00+00:00,99999999999999999999",
        "2026-01-01T00:00:00+00:00,five",
        "0001-01-01T00:00:00+00:00,1",
        "9999-12-31T23:59:59+00:00,1",
        "2026-01-01T00:00:00+99:00,1",
        "\x00,1",
        "1" * 5000,
    ],
)
@pytest.mark.parametrize("direction", ["after", "before"])
def test_a_junk_cursor_gives_the_first_page(planner_client, org, cursor, direction):
    runs = make_runs(org, 55, per_instant=1)
    response = planner_client.get(reverse("runs:list"), {direction: cursor})
    assert response.status_code == 200
    assert numbers(response) == newest_first(runs)[:50]


def test_a_naive_cursor_is_read_as_utc(planner_client, org):
    runs = make_runs(org, 60, per_instant=1)
    order = sorted(runs, key=lambda r: (r.created_at, r.number), reverse=True)
    cursor = order[49].created_at.astimezone(datetime.UTC).replace(tzinfo=None).isoformat()
    response = planner_client.get(reverse("runs:list"), {"after": f"{cursor},{order[49].number}"})
    assert numbers(response) == [run.number for run in order[50:]]


@pytest.mark.parametrize("hours", [20, -20, 23])
def test_a_cursor_with_any_offset_python_reads_is_the_same_instant(planner_client, org, hours):
    # PostgreSQL refuses offsets past ±15:59, which Python accepts up to ±23:59.
    runs = make_runs(org, 60, per_instant=1)
    order = sorted(runs, key=lambda r: (r.created_at, r.number), reverse=True)
    offset = datetime.timezone(datetime.timedelta(hours=hours))
    cursor = order[49].created_at.astimezone(offset).isoformat()
    response = planner_client.get(reverse("runs:list"), {"after": f"{cursor},{order[49].number}"})
    assert response.status_code == 200
    assert numbers(response) == [run.number for run in order[50:]]


def test_the_next_link_keeps_the_filters(planner_client, org):
    make_runs(org, 55, status=RunStatus.TODO)
    make_runs(org, 5, status=RunStatus.COMPLETE)
    response = planner_client.get(reverse("runs:list"), {"status": "todo", "part": "", "page": "1"})
    following = link(response, "Next →")
    assert following.startswith("?status=todo&part=&after=") and "page=" not in following
    assert 'hx-get="' + html.escape(following) + '"' in response.content.decode()
    second = planner_client.get(reverse("runs:list") + following, **HTMX)
    assert len(numbers(second)) == 5
    assert all(run.status == RunStatus.TODO for run in second.context["page"])
    assert link(second, "← Previous").startswith("?status=todo&part=&before=")


def test_a_page_number_still_works_and_continues_by_cursor(planner_client, org):
    runs = make_runs(org, 120)
    response = planner_client.get(reverse("runs:list"), {"page": 2})
    assert numbers(response) == newest_first(runs)[50:100]
    assert "Page 2 of 3" in response.content.decode()
    third = planner_client.get(reverse("runs:list") + link(response, "Next →"))
    assert numbers(third) == newest_first(runs)[100:]


def test_other_sorts_page_by_number(planner_client, org):
    make_runs(org, 60)
    response = planner_client.get(reverse("runs:list"), {"sort": "name", "page": 2})
    assert len(numbers(response)) == 10
    assert link(response, "← Previous") == "?sort=name&page=1"
    assert link(planner_client.get(reverse("runs:list"), {"sort": "name"}), "Next →") == "?sort=name&page=2"


def test_a_large_count_is_capped(planner_client, org, monkeypatch):
    monkeypatch.setattr(paging, "COUNT_CAP", 10)
    make_runs(org, 60, per_instant=1)
    response = planner_client.get(reverse("runs:list"))
    assert "More than 10 runs" in response.content.decode()
    assert response.context["page"].paginator.capped
    by_name = planner_client.get(reverse("runs:list"), {"sort": "name"})
    assert "Page 1</span>" in by_name.content.decode() and link(by_name, "Next →") == "?sort=name&page=2"


def test_a_deep_page_takes_no_more_queries_than_the_first(planner_client, org, django_assert_max_num_queries):
    make_runs(org, 60)
    following = link(planner_client.get(reverse("runs:list")), "Next →")
    # session, user, two permission queries, organisation (header), procedures, people, teams,
    # batches (form), the capped count, the page's ids and the page's rows
    with django_assert_max_num_queries(12):
        planner_client.get(reverse("runs:list") + following)
    with django_assert_max_num_queries(7):
        planner_client.get(reverse("runs:list") + following, **HTMX)
