"""GET endpoints: the Runs page's filters, cursor paging, isolation and export control (SPEC §6, §8)."""

import json
import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from tests import factories
from tests.api.conftest import ApiClient, api_client_for

pytestmark = pytest.mark.django_db


def make_runs(org, count, **kwargs):
    part = kwargs.pop("part", None) or factories.PartFactory(organisation=org)
    return [factories.RunFactory(organisation=org, part=part, **kwargs) for _ in range(count)]


def numbers(response):
    assert response.status_code == 200, response.content
    return [run["number"] for run in response.json()["runs"]]


def walk(client, url):
    """Every page from `url` on, following `next`."""
    pages = []
    while url:
        response = client.get(url.removeprefix("http://testserver"))
        pages.append(numbers(response))
        url = response.json()["next"]
    return pages


def test_list_newest_first_with_cursor_paging(api, org):
    same_moment = timezone.now() - timedelta(hours=1)
    runs = make_runs(org, 7, created_at=same_moment) + make_runs(org, 6)
    pages = walk(api, "/api/v1/runs?limit=5")
    assert [len(p) for p in pages] == [5, 5, 3]
    flat = [n for page in pages for n in page]
    assert len(flat) == len(set(flat)) == len(runs)
    expected = sorted(runs, key=lambda r: (r.created_at, r.number), reverse=True)
    assert flat == [r.number for r in expected]


def test_paging_is_stable_across_inserts(api, org):
    old = make_runs(org, 10, created_at=timezone.now() - timedelta(days=1))
    first = api.get("/api/v1/runs", {"limit": 4})
    seen = numbers(first)
    make_runs(org, 3)  # newer runs arrive while the client pages
    seen += [n for page in walk(api, first.json()["next"]) for n in page]
    assert sorted(seen) == sorted(r.number for r in old)
    assert len(seen) == len(set(seen))


def test_a_bad_cursor_or_limit_is_422(api):
    for query, field in [
        ({"cursor": "garbage!"}, "cursor"),
        ({"limit": 501}, "limit"),
        ({"limit": 0}, "limit"),
    ]:
        response = api.get("/api/v1/runs", query)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == field


def test_filters_are_the_runs_pages(api, org, planner):
    team = factories.TeamFactory(organisation=org)
    mine = factories.RunFactory(organisation=org, assigned_user=planner, due_date=date(2030, 1, 10))
    theirs = factories.RunFactory(organisation=org, assigned_team=team, status="complete", name="Nose cone")
    batch = factories.RunBatchFactory(organisation=org, name="Week 1")
    batched = factories.RunFactory(organisation=org, batch=batch, export_controlled=True)
    assert numbers(api.get("/api/v1/runs", {"assignee": "me"})) == [mine.number]
    assert numbers(api.get("/api/v1/runs", {"team": team.pk})) == [theirs.number]
    # People and teams by the names the answers give, too.
    assert numbers(api.get("/api/v1/runs", {"assignee": planner.username})) == [mine.number]
    assert numbers(api.get("/api/v1/runs", {"team": team.name})) == [theirs.number]
    assert numbers(api.get("/api/v1/runs", {"status": "complete"})) == [theirs.number]
    assert set(numbers(api.get("/api/v1/runs", {"status": "open"}))) == {mine.number, batched.number}
    assert numbers(api.get("/api/v1/runs", {"batch": "week 1"})) == [batched.number]
    assert numbers(api.get("/api/v1/runs", {"due_after": "2030-01-01", "due_before": "2030-01-31"})) == [
        mine.number
    ]
    assert numbers(api.get("/api/v1/runs", {"export_controlled": "true"})) == [batched.number]
    assert numbers(api.get("/api/v1/runs", {"q": "nose"})) == [theirs.number]
    assert numbers(api.get("/api/v1/runs", {"part": mine.part.number})) == [mine.number]


def test_a_person_or_team_not_of_the_organisation_is_422_at_the_filter(api, other_org):
    stranger = factories.PlannerFactory(organisation=other_org, username="stranger")
    foreign_team = factories.TeamFactory(organisation=other_org, name="Elsewhere")
    for field, value in (("assignee", stranger.username), ("team", foreign_team.name), ("team", "Ghosts")):
        response = api.get("/api/v1/runs", {field: value})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == field


def test_invalid_filters_name_the_field(api):
    response = api.get("/api/v1/runs", {"status": "sideways"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "status"
    response = api.get("/api/v1/runs", {"due_after": "2030-02-01", "due_before": "2030-01-01"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "due_before"
    response = api.get("/api/v1/runs", {"due_after": "someday"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "due_after"


@pytest.mark.parametrize("url", ["/api/v1/runs", "/api/v1/parts", "/api/v1/inventory", "/api/v1/batches"])
def test_a_search_longer_than_the_search_box_is_422_at_q(api, url):
    assert api.get(url, {"q": "x" * 100}).status_code == 200
    response = api.get(url, {"q": "x" * 101})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "q"


def test_other_organisations_runs_are_never_listed_and_404(api, org, other_org):
    ours = make_runs(org, 2)
    theirs = make_runs(other_org, 2)
    assert set(numbers(api.get("/api/v1/runs"))) == {r.number for r in ours}
    assert api.get(f"/api/v1/runs/{theirs[0].number}").status_code == 404


def test_export_control_in_lists_and_detail(org, uncleared_planner):
    visible = factories.RunFactory(organisation=org)
    hidden_part = factories.PartFactory(organisation=org, export_controlled=True)
    hidden = factories.RunFactory(organisation=org, part=hidden_part, export_controlled=True)
    flagged = factories.RunFactory(organisation=org, export_controlled=True)
    client = api_client_for(uncleared_planner)
    assert numbers(client.get("/api/v1/runs")) == [visible.number]
    for run in (hidden, flagged):
        response = client.get(f"/api/v1/runs/{run.number}")
        assert response.status_code == 404
        assert response.json()["detail"]
    # Asking for export-controlled runs finds none, whatever exists: nothing to probe, and
    # the filter never answers every run instead.
    assert numbers(client.get("/api/v1/runs", {"export_controlled": "true"})) == []
    assert numbers(client.get("/api/v1/runs", {"export_controlled": "false"})) == [visible.number]
    assert hidden_part.pk not in {p["id"] for p in client.get("/api/v1/parts").json()["parts"]}
    assert client.get(f"/api/v1/parts/{hidden_part.pk}/procedures").status_code == 404


def test_a_batch_holding_a_hidden_run_is_hidden(org, uncleared_planner):
    batch = factories.RunBatchFactory(organisation=org, name="Mixed")
    shown = factories.RunFactory(organisation=org, batch=batch)
    factories.RunFactory(organisation=org, batch=batch, export_controlled=True)
    client = api_client_for(uncleared_planner)
    assert client.get("/api/v1/batches").json() == {"batches": [], "next": None}
    assert client.get("/api/v1/runs").json()["runs"][0]["batch"] is None
    assert client.get(f"/api/v1/runs/{shown.number}").json()["batch"] is None


def test_run_detail_has_steps_and_fields(api, org, part, version):
    created = api.post("/api/v1/runs", {"runs": [{"part": part.pk, "procedure": version.pk}]}).json()
    number = created["runs"][0]["number"]
    run = api.get(f"/api/v1/runs/{number}").json()
    assert [s["position"] for s in run["steps"]] == [1, 2, 3]
    assert [f["label"] for f in run["steps"][0]["fields"]] == ["Torque (Nm)", "Inspector"]
    assert run["procedure_version"]["id"] == version.pk


def test_list_query_count_is_fixed(api, org, planner, django_assert_max_num_queries):
    team = factories.TeamFactory(organisation=org)
    batch = factories.RunBatchFactory(organisation=org)
    make_runs(org, 30, assigned_team=team, batch=batch)
    make_runs(org, 30, assigned_user=planner)
    api.get("/api/v1/runs")  # records last use, loads nothing else
    with django_assert_max_num_queries(6):
        response = api.get("/api/v1/runs", {"limit": 50})
    assert len(response.json()["runs"]) == 50


def test_parts_procedures_inventory_batches(api, org, other_org, part, version):
    draft = factories.ProcedureVersionFactory(procedure__organisation=org, parts=[part])
    unit = factories.PartInventoryFactory(part=part, serial_number="SN-77")
    foreign_part = factories.PartFactory(organisation=other_org)
    factories.PartInventoryFactory(part=foreign_part, serial_number="SN-78")
    factories.RunBatchFactory(organisation=org, name="Week 9")
    factories.RunBatchFactory(organisation=other_org, name="Week 9b")

    parts = api.get("/api/v1/parts", {"q": "BRKT"}).json()["parts"]
    assert [(p["number"], p["revision"]) for p in parts] == [("BRKT-ASSY-001", "B")]
    assert foreign_part.pk not in {p["id"] for p in api.get("/api/v1/parts").json()["parts"]}
    versions = api.get(f"/api/v1/parts/{part.pk}/procedures").json()
    assert [v["id"] for v in versions] == [version.pk]
    assert draft.pk not in {v["id"] for v in versions}
    assert api.get(f"/api/v1/parts/{foreign_part.pk}/procedures").status_code == 404
    units = api.get("/api/v1/inventory", {"part": part.pk, "q": "SN-7"}).json()["inventory"]
    assert [u["id"] for u in units] == [unit.pk]
    assert [u["serial_number"] for u in api.get("/api/v1/inventory").json()["inventory"]] == ["SN-77"]
    assert [b["name"] for b in api.get("/api/v1/batches", {"q": "week"}).json()["batches"]] == ["Week 9"]


def test_openapi_schema_is_served_and_valid_json():
    response = ApiClient(None).get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/runs", "/api/v1/runs/{number}", "/api/v1/parts", "/api/v1/batches"} <= set(
        schema["paths"]
    )
    create = schema["paths"]["/api/v1/runs"]["post"]
    assert {"201", "401", "403", "409", "422"} <= set(create["responses"])
    assert any(
        "Bearer" in str(s) or "bearer" in str(s) for s in schema["components"]["securitySchemes"].values()
    )


def test_docs_page_loads_nothing_from_elsewhere():
    response = ApiClient(None).get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html)
    assert "cdn" not in html.lower()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    # No inline script: the settings are a JSON data block, so the CSP (script-src 'self') holds.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert all("src=" in attrs or 'type="application/json"' in attrs for attrs, _ in scripts)
    assert "script-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/runs/99999999999999999999",
        "/api/v1/parts/99999999999999999999/procedures",
        "/api/v1/inventory?part=99999999999999999999",
        "/api/v1/inventory?part=abc",
        "/api/v1/runs?team=99999999999999999999",
        "/api/v1/runs?procedure=v99999999999999999999",
        "/api/v1/runs?cursor=WyJ4IiwgMV0",
        "/api/v1/runs?cursor=WyIyMDI2LTAxLTAxIiwgOTk5OTk5OTk5OTk5OTk5OTk5XQ",
        "/api/v1/batches?limit=-1",
    ],
)
def test_odd_queries_are_never_500(api, url):
    response = api.get(url)
    assert response.status_code in (200, 404, 422), response.content
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_docs_static_files_are_the_apps_own():
    """The docs page's files come from django-ninja's static folder, through the app's staticfiles."""
    from django.contrib.staticfiles import finders

    for name in ("ninja/swagger-ui.css", "ninja/swagger-ui-bundle.js", "ninja/swagger-ui-init.js"):
        assert finders.find(name), name
