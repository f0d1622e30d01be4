"""Cursor paging of parts, inventory and batches (SPEC §8), as for runs: hidden rows never on a page."""

import base64
import datetime
import json

import pytest

from tests import factories
from tests.api.conftest import api_client_for

pytestmark = pytest.mark.django_db


def cursor_of(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def walk(client, url, key):
    """The rows of every page from `url` on, page by page, following `next`."""
    pages = []
    while url:
        response = client.get(url.removeprefix("http://testserver"))
        assert response.status_code == 200, response.content
        pages.append(response.json()[key])
        url = response.json()["next"]
    return pages


def test_parts_page_by_number_and_revision(api, org, other_org):
    for number in ("P-3", "P-1", "P-2"):
        for revision in ("B", "A"):
            factories.PartFactory(organisation=org, number=number, revision=revision)
    factories.PartFactory(organisation=other_org, number="P-15")
    pages = walk(api, "/api/v1/parts?limit=4", "parts")
    assert [len(page) for page in pages] == [4, 2]
    assert [(p["number"], p["revision"]) for page in pages for p in page] == [
        (n, r) for n in ("P-1", "P-2", "P-3") for r in ("A", "B")
    ]


def test_parts_paging_keeps_the_search_and_skips_hidden_parts(org, uncleared_planner):
    for i in range(5):
        factories.PartFactory(organisation=org, number=f"BRKT-{i}", export_controlled=i % 2 == 1)
    factories.PartFactory(organisation=org, number="NOSE-1")
    client = api_client_for(uncleared_planner)
    pages = walk(client, "/api/v1/parts?q=brkt&limit=1", "parts")
    assert [p["number"] for page in pages for p in page] == ["BRKT-0", "BRKT-2", "BRKT-4"]
    # A full last page says there is no more, rather than leading to an empty one.
    assert [len(page) for page in pages] == [1, 1, 1]


def test_inventory_pages_oldest_first_and_new_units_join_the_end(api, org, part):
    units = [factories.PartInventoryFactory(part=part, serial_number=f"SN-{i}") for i in range(5)]
    first = api.get("/api/v1/inventory", {"limit": 3}).json()
    assert [u["id"] for u in first["inventory"]] == [u.pk for u in units[:3]]
    later = factories.PartInventoryFactory(part=part, serial_number="SN-late")
    rest = walk(api, first["next"], "inventory")
    assert [u["id"] for page in rest for u in page] == [units[3].pk, units[4].pk, later.pk]


def test_inventory_paging_keeps_the_part_filter(api, org, part):
    mine = [factories.PartInventoryFactory(part=part, serial_number=f"SN-{i}") for i in range(3)]
    factories.PartInventoryFactory(part=factories.PartFactory(organisation=org), serial_number="SN-other")
    pages = walk(api, f"/api/v1/inventory?part={part.pk}&limit=2", "inventory")
    assert [u["id"] for page in pages for u in page] == [u.pk for u in mine]


def test_batches_page_newest_first_without_hidden_ones(org, other_org, uncleared_planner):
    batches = [factories.RunBatchFactory(organisation=org, name=f"Week {i}") for i in range(5)]
    factories.RunFactory(organisation=org, batch=batches[2], export_controlled=True)
    factories.RunBatchFactory(organisation=other_org, name="Week 9")
    client = api_client_for(uncleared_planner)
    pages = walk(client, "/api/v1/batches?q=week&limit=2", "batches")
    assert [b["name"] for page in pages for b in page] == ["Week 4", "Week 3", "Week 1", "Week 0"]
    assert [len(page) for page in pages] == [2, 2]


@pytest.mark.parametrize("url", ["/api/v1/parts", "/api/v1/inventory", "/api/v1/batches", "/api/v1/runs"])
@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "WyJ4Il0",  # ["x"]: the wrong kind of value, or too few
        "WzEsIDIsIDMsIDRd",  # [1, 2, 3, 4]: too many
        "Wzk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5XQ",  # [99999999999999999999999999]
        "WyJcdTAwMDAiLCAxXQ",  # ["\u0000", 1]
        "eyJhIjogMX0",  # {"a": 1}
        "W3RydWVd",  # [true]
    ],
)
def test_a_cursor_this_api_did_not_give_is_422(api, url, cursor):
    response = api.get(url, {"cursor": cursor})
    assert response.status_code == 422, response.content
    assert response.json()["errors"] == [
        {"row": None, "field": "cursor", "message": "Not a cursor this API gave."}
    ]


@pytest.mark.parametrize("hours", [20, -20, 23])
def test_a_runs_cursor_with_any_offset_python_reads_is_the_same_instant(api, org, part, hours):
    # PostgreSQL refuses offsets past ±15:59, which Python accepts up to ±23:59.
    runs = [factories.RunFactory(organisation=org, part=part) for _ in range(3)]
    newest = max(runs, key=lambda r: (r.created_at, r.number))
    offset = datetime.timezone(datetime.timedelta(hours=hours))
    cursor = cursor_of([newest.created_at.astimezone(offset).isoformat(), newest.number])
    response = api.get("/api/v1/runs", {"cursor": cursor})
    assert response.status_code == 200, response.content
    assert sorted(run["number"] for run in response.json()["runs"]) == sorted(
        run.number for run in runs if run != newest
    )


def test_a_cursor_with_an_offset_python_cannot_read_is_422(api):
    response = api.get("/api/v1/runs", {"cursor": cursor_of(["2026-01-01T00:00:00+99:00", 1])})
    assert response.status_code == 422, response.content


def test_list_queries_are_fixed(api, org, part, django_assert_max_num_queries):
    for i in range(30):
        factories.PartFactory(organisation=org, number=f"Q-{i:02}")
        factories.PartInventoryFactory(part=part, serial_number=f"SN-{i}")
        factories.RunBatchFactory(organisation=org, name=f"Batch {i}")
    api.get("/api/v1/parts")  # records the token's last use
    for url, key in [
        ("/api/v1/parts", "parts"),
        ("/api/v1/inventory", "inventory"),
        ("/api/v1/batches", "batches"),
    ]:
        first = api.get(url, {"limit": 10}).json()
        # The token, the permissions (the user's and their groups'), the page.
        with django_assert_max_num_queries(4):
            response = api.get(first["next"].removeprefix("http://testserver"))
        assert len(response.json()[key]) == 10
