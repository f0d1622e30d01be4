"""Labels (SPEC §14): part number, identity and a QR code per run, in each layout."""

import io

import pypdf
import pytest
from django.urls import reverse

from tests.travelers.pdfs import fonts_used, page_codes, page_texts

pytestmark = pytest.mark.django_db


def labels(client, runs, layout=None):
    url = reverse("runs:created-labels", args=[runs[0].creation_token])
    return client.get(url, {"layout": layout} if layout else {})


@pytest.mark.parametrize(
    ("layout", "size", "pages"),
    [("a4", (595, 842), 1), ("letter", (612, 792), 1), ("62x29", (176, 82), 3)],
)
def test_each_layout_holds_a_label_per_run_whose_code_opens_it(
    planner_client, make_runs, layout, size, pages
):
    runs = make_runs(3)
    response = labels(planner_client, runs, layout)

    assert response.status_code == 200
    first, last = runs[0].number, runs[-1].number
    assert (
        response["Content-Disposition"] == f'attachment; filename="runs-{first}-{last}-labels-{layout}.pdf"'
    )
    content = b"".join(response.streaming_content)
    reader = pypdf.PdfReader(io.BytesIO(content))
    assert len(reader.pages) == pages
    assert tuple(round(float(n)) for n in reader.pages[0].mediabox[2:]) == size
    codes = [code for page in page_codes(content) for code in page]
    assert codes == [f"http://testserver/runs/{run.number}/" for run in runs]
    text = "\n".join(page_texts(content))
    assert text.count("BRKT-ASSY-001 rev A") == 3
    for run in runs:
        assert run.part_inventory.serial_number in text
    assert fonts_used(content) == {"DejaVuSans", "DejaVuSans-Bold"}


def test_a4_is_the_default_and_a_full_sheet_goes_on_to_the_next(planner_client, make_runs):
    runs = make_runs(22, procedure_version_id=None)
    content = b"".join(labels(planner_client, runs).streaming_content)
    assert [len(codes) for codes in page_codes(content)] == [21, 1]


def test_a_lot_and_a_controlled_run_say_so(planner_client, org, make_runs):
    from inventory.models import TrackingType
    from tests import factories

    seal = factories.PartFactory(organisation=org, number="SEAL-OR-214", tracking_type=TrackingType.LOT)
    runs = make_runs(
        part_id=seal.pk, procedure_version_id=None, lot_number="LOT-7", quantity=40, export_controlled=True
    )
    text = page_texts(b"".join(labels(planner_client, runs).streaming_content))[0]
    assert "LOT-7 × 40" in text
    assert "EXPORT CONTROLLED" in text


def test_an_unknown_layout_is_refused_in_plain_text(planner_client, make_runs):
    response = labels(planner_client, make_runs(), "<b>a5</b>")
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "a4, letter, 62x29" in response.content.decode()
