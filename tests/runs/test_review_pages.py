"""Review's cap and pages (issue 22): a planner's Review holds at most REVIEW_MAX_ROWS rows, and
shows them REVIEW_PAGE_ROWS a page, while Create still makes every row, all or none."""

import re

import pytest
from django.urls import reverse

from runs import review
from runs.models import Run, RunDraft
from tests import factories
from tests.runs.spreadsheet_files import csv_file
from tests.runs.wizard_steps import WizardDriver

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def part(org):
    return factories.PartFactory(organisation=org, number="BRKT-100", revision="A")


@pytest.fixture
def version(org, part):
    return factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=2)


@pytest.fixture
def seven_rows(planner_client, part, version, monkeypatch):
    """Seven rows on Review, three a page: pages of rows 1 to 3, 4 to 6 and 7."""
    monkeypatch.setattr(review, "REVIEW_PAGE_ROWS", 3)
    monkeypatch.setattr("runs.wizard.REVIEW_PAGE_ROWS", 3)
    wizard = WizardDriver(planner_client)
    wizard.author(part=part, procedure=version)
    RunDraft.objects.get().duplicate(6)
    return wizard


def shown(response) -> list[str]:
    """The draft ids of the rows the page shows, in order."""
    return re.findall(r'<tbody id="row-([0-9a-f-]{36})" class="review-row">', response.content.decode())


def ordered() -> list[str]:
    return [
        str(pk) for pk in RunDraft.objects.order_by("position", "created_at").values_list("pk", flat=True)
    ]


def test_review_shows_page_one_of_n_with_links(planner_client, seven_rows):
    response = seven_rows.get("review")
    html = response.content.decode()
    assert shown(response) == ordered()[:3]
    assert "Rows 1–3 of 7 · page 1 of 3. Create makes every row, on every page." in html
    assert '<span class="button button-small" aria-current="page">1</span>' in html
    assert 'href="?page=2"' in html and 'href="?page=3"' in html
    assert 'data-first-row="1"' in html
    # Create takes every row, not the page's.
    assert response.context["shown_rows"].split(",") == ordered()
    assert "Create 7 runs" in html


def test_a_later_page_shows_its_rows(planner_client, seven_rows):
    response = planner_client.get(seven_rows.url("review"), {"page": 2})
    assert shown(response) == ordered()[3:6]
    assert 'data-first-row="4"' in response.content.decode()
    assert shown(planner_client.get(seven_rows.url("review"), {"page": 99})) == ordered()[6:]


def test_a_short_review_has_no_pages(planner_client, part, version):
    wizard = WizardDriver(planner_client)
    wizard.author(part=part, procedure=version)
    assert "Review pages" not in wizard.get("review").content.decode()


def row_url(wizard, pk: str, **query) -> str:
    url = reverse("runs:draft-row", args=[pk]) + f"?wizard={wizard.wizard_id}"
    return url + "".join(f"&{key}={value}" for key, value in query.items())


def test_rows_on_a_later_page_link_back_to_it(planner_client, seven_rows):
    response = planner_client.get(seven_rows.url("review"), {"page": 2})
    edit = row_url(seven_rows, ordered()[3], page=2).replace("&", "&amp;") + "&amp;mode=edit"
    assert f'href="{edit}"' in response.content.decode()


def test_editing_a_row_on_page_two_returns_to_page_two(planner_client, seven_rows):
    pk = ordered()[4]
    response = planner_client.post(
        row_url(seven_rows, pk, page=2),
        {
            "action": "save",
            "procedure-procedure": RunDraft.objects.get(pk=pk).data["procedure"],
            "identify-tracking_type": "serial",
            "identify-serial_auto": "on",
            "details-name": "Fifth",
        },
    )
    assert response.status_code == 302
    assert response.url == seven_rows.url("review") + "?page=2"
    assert RunDraft.objects.get(pk=pk).data["name"] == "Fifth"
    assert "Fifth" in planner_client.get(response.url).content.decode()


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_removing_a_row_on_page_two(planner_client, seven_rows, headers):
    pk = ordered()[3]
    response = planner_client.post(row_url(seven_rows, pk, page=2), {"action": "remove"}, **headers)
    if headers:
        html = response.content.decode()
        assert "Create 6 runs" in html
        assert pk not in re.search(r'id="id_review-shown_rows"[^>]*value="([^"]*)"', html)[1]
    else:
        assert response.url == seven_rows.url("review") + "?page=2"
    assert RunDraft.objects.filter(removed_at__isnull=True).count() == 6


def test_create_from_a_later_page_creates_every_row(planner_client, seven_rows):
    pk = ordered()[6]
    planner_client.post(row_url(seven_rows, pk, page=3), {"action": "remove"})
    page = planner_client.get(seven_rows.url("review"), {"page": 3})
    response = planner_client.post(
        seven_rows.url("review") + "?page=3",
        {
            f"{seven_rows.prefix}-current_step": "review",
            "review-token": page.context["wizard"]["form"]["token"].value(),
            "review-shown_rows": page.context["shown_rows"],
        },
    )
    assert response.status_code == 302, response.context["wizard"]["form"].errors
    assert Run.objects.count() == 6
    assert not RunDraft.objects.filter(removed_at__isnull=True).exists()


def test_a_refused_create_opens_the_page_of_the_first_row_to_fix(planner_client, seven_rows, part):
    factories.PartInventoryFactory(part=part, serial_number="SN-TAKEN")
    late = RunDraft.objects.get(pk=ordered()[5])
    late.data |= {"serial_number": "SN-TAKEN"}
    late.save()
    response = seven_rows.create()
    assert response.status_code == 200
    assert response.context["page"].number == 2
    assert str(late.pk) in shown(response)
    assert not Run.objects.exists()


# The cap: every way of adding rows stops at it, saying so where the planner asked, losing nothing.


@pytest.fixture
def cap(settings):
    settings.REVIEW_MAX_ROWS = 3
    return 3


def test_an_import_over_the_cap_is_refused_at_the_file_field(planner_client, part, version, cap):
    wizard = WizardDriver(planner_client)
    wizard.author(part=part, procedure=version)
    row = {"part.number": part.number, "part.revision": part.revision}
    response = planner_client.post(reverse("runs:import"), {"file": csv_file([row] * 3)})
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [
        "runs.csv has 3 rows, but Review holds at most 3 rows and has 1: only 2 more fit. "
        "Create or remove rows on Review first; nothing was added."
    ]
    assert RunDraft.objects.count() == 1
    assert planner_client.post(reverse("runs:import"), {"file": csv_file([row] * 2)}).status_code == 302
    assert RunDraft.objects.count() == 3


def test_a_full_review_says_so_instead_of_add_another_run(planner_client, part, version, cap):
    wizard = WizardDriver(planner_client)
    wizard.author(part=part, procedure=version)
    RunDraft.objects.get().duplicate(2)
    html = wizard.get("review").content.decode()
    assert "Add another run" not in html
    assert "Another run would be a new row, but Review holds at most 3 rows and has 3: no more fit." in html


def test_details_over_the_cap_keeps_what_was_typed(planner_client, part, version, cap):
    WizardDriver(planner_client).author(part=part, procedure=version)
    RunDraft.objects.get().duplicate(2)
    wizard = WizardDriver(planner_client)
    wizard.post("source", {"source": "build"})
    wizard.post("part", {"part": part.pk, "procedure": version.pk})
    wizard.post("identify", {"serial_auto": "on"})
    response = wizard.post("details", {"name": "Nose cone"})
    assert response.status_code == 200
    form = response.context["wizard"]["form"]
    assert form.non_field_errors() == [
        "This run would be a new row on Review, but Review holds at most 3 rows and has 3: no more fit. "
        "Create or remove rows on Review first; nothing was added."
    ]
    assert form["name"].value() == "Nose cone"
    assert RunDraft.objects.count() == 3


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_duplicate_over_the_cap_is_refused_at_copies(planner_client, part, version, cap, headers):
    wizard = WizardDriver(planner_client)
    wizard.author(part=part, procedure=version)
    draft = RunDraft.objects.get()
    response = planner_client.post(
        row_url(wizard, str(draft.pk)), {"action": "duplicate", "copies": 3}, **headers
    )
    message = "3 copies, but Review holds at most 3 rows and has 1: only 2 more fit."
    page = response if headers else planner_client.get(response.url)
    assert message in page.content.decode()
    assert RunDraft.objects.count() == 1
