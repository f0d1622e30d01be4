"""Issue 21's "done": from the created page of three new serialized runs, a planner downloads
one PDF with three travelers and a label sheet, and each QR code opens its run.
"""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from runs.models import Run
from tests import factories
from tests.browser.test_review import author_one_run, rows
from tests.travelers.pdfs import page_codes, page_texts

pytestmark = pytest.mark.browser


@pytest.fixture
def planner(org):
    factories.ensure_demo_groups()
    return factories.PlannerFactory(
        organisation=org, username="priya", first_name="Priya", export_cleared=True
    )


@pytest.fixture
def part(org):
    part = factories.PartFactory(organisation=org, number="BRKT-ASSY-001", description="Engine bracket")
    factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], title="Bracket build", steps=3
    )
    return part


def download(page, control) -> tuple[str, bytes]:
    with page.expect_download() as info:
        control.click()
    return info.value.suggested_filename, Path(info.value.path()).read_bytes()


def test_a_planner_prints_the_travelers_and_labels_of_three_new_runs(
    live_server, page, log_in, planner, part
):
    log_in(planner)
    author_one_run(page, live_server, "SN-0300")
    rows(page).first.get_by_label("Copies").fill("2")
    rows(page).first.get_by_role("button", name="Duplicate").click()
    expect(rows(page)).to_have_count(3)
    page.locator("#create-button").click()
    expect(page.get_by_role("heading", name="3 runs created")).to_be_visible()
    runs = list(Run.objects.filter(organisation=planner.organisation).order_by("number"))
    addresses = [f"{live_server.url}/runs/{run.number}/" for run in runs]

    name, travelers = download(page, page.get_by_role("link", name="Download travelers (PDF)"))
    assert name == f"runs-{runs[0].number}-{runs[-1].number}-travelers.pdf"
    texts = page_texts(travelers)
    firsts = [n for n, text in enumerate(texts) if "Page 1 of" in text]
    assert len(firsts) == 3
    for n, run in zip(firsts, runs, strict=True):
        assert run.name in texts[n]
        assert "SN-03" in texts[n]
    codes = page_codes(travelers)
    assert [code for n in firsts for code in codes[n]] == addresses

    page.get_by_label("Labels").select_option("letter")
    name, labels = download(page, page.get_by_role("button", name="Download labels (PDF)"))
    assert name == f"runs-{runs[0].number}-{runs[-1].number}-labels-letter.pdf"
    assert page_codes(labels) == [addresses]

    # Each code opens its run.
    for address, run in zip(addresses, runs, strict=True):
        page.goto(address)
        expect(page.get_by_role("heading", level=1)).to_contain_text(run.name)
