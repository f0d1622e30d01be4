"""Travelers (SPEC §14), read back from the PDF: the run, its steps and fields, the marking, the QR."""

import pytest
from django.urls import reverse

from runs.services import complete_step, start_step
from tests.travelers.pdfs import fonts_used, page_codes, page_texts

pytestmark = pytest.mark.django_db

TORQUE, INSPECTOR, FINISH, VISUAL, FIXTURE = 1, 2, 3, 4, 5


def traveler(client, run):
    response = client.get(reverse("runs:run-traveler", args=[run.number]))
    assert response.status_code == 200
    return response


def test_it_prints_the_run_and_every_step_with_its_fields(planner_client, planner, make_runs):
    (run,) = make_runs(assigned_user_id=planner.pk, batch_name="Order 4711")
    response = traveler(planner_client, run)

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="run-{run.number}-traveler.pdf"'
    content = b"".join(response.streaming_content)
    text = "\n".join(page_texts(content))
    for fact in (
        run.name,
        f"Run #{run.number}",
        "BRKT-ASSY-001 rev A",
        f"Serial number {run.part_inventory.serial_number}",
        "Bracket build · v1",
        "24 Dec 2026",
        str(planner),
        "Order 4711",
    ):
        assert fact in text
    # Every step in order, with its instructions and fields: type, rule and room to write.
    positions = [text.index(f"{n}.  Step {n}") for n in (1, 2, 3)]
    assert positions == sorted(positions)
    for words in (
        "Do step 1.",
        "Torque (Nm) *",
        "A number from 1 to 20",
        "Sign-off",
        "Your sign-off, with the time",
        "One of: Matte, Gloss",
        "☐ Matte",
        "☐ Yes",
        "Text, matching [A-Z]{2}-\\d{4}",
    ):
        assert words in text
    assert text.count("Step done by") == 3
    assert "EXPORT CONTROLLED" not in text
    assert page_codes(content)[0] == [f"http://testserver/runs/{run.number}/"]


def test_a_controlled_run_is_marked_on_every_page_and_pages_count_within_the_run(
    planner_client, org, part, make_runs
):
    from tests import factories

    long = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=14)
    (run,) = make_runs(export_controlled=True, procedure_version_id=long.pk)
    content = b"".join(traveler(planner_client, run).streaming_content)

    pages = page_texts(content)
    assert len(pages) > 1
    for number, text in enumerate(pages, start=1):
        assert "EXPORT CONTROLLED" in text
        assert f"Page {number} of {len(pages)}" in text
        assert f"Run #{run.number}" in text
    assert "Share it only with export-cleared people" in " ".join(pages[0].split())


def test_an_executed_run_prints_what_was_recorded_instead_of_blanks(planner_client, planner, make_runs):
    (run,) = make_runs(assigned_user_id=planner.pk)
    step = run.steps.get(position=1)
    start_step(actor=planner, step=step)
    values = {TORQUE: "12.5", INSPECTOR: True, FINISH: "Gloss", VISUAL: True, FIXTURE: "AB-1234"}
    complete_step(actor=planner, step=run.steps.get(position=1), values=values)

    text = "\n".join(page_texts(b"".join(traveler(planner_client, run).streaming_content)))

    for recorded in ("12.5", f"Signed by {planner}", "Gloss", "AB-1234", f"Completed by {planner}"):
        assert recorded in text
    assert "☐ Matte" not in text
    # Steps 2 and 3 are still to do: their blanks and sign-off lines stay.
    assert text.count("Step done by") == 2


def test_a_name_in_cyrillic_and_greek_prints_in_the_shipped_font(planner_client, make_runs):
    (run,) = make_runs(name="Кронштейн Ω-7 · Δοκιμή")
    content = b"".join(traveler(planner_client, run).streaming_content)

    assert "Кронштейн Ω-7 · Δοκιμή" in page_texts(content)[0]
    assert fonts_used(content) == {"DejaVuSans", "DejaVuSans-Bold"}


def test_a_run_without_a_procedure_says_so(planner_client, make_runs):
    (run,) = make_runs(procedure_version_id=None)
    text = page_texts(b"".join(traveler(planner_client, run).streaming_content))[0]
    assert "No procedure yet" in text


def test_the_created_page_prints_every_run_just_made_in_one_pdf(planner_client, make_runs):
    runs = make_runs(3)
    response = planner_client.get(reverse("runs:created-travelers", args=[runs[0].creation_token]))

    assert response.status_code == 200
    first, last = runs[0].number, runs[-1].number
    assert response["Content-Disposition"] == f'attachment; filename="runs-{first}-{last}-travelers.pdf"'
    content = b"".join(response.streaming_content)
    pages = page_texts(content)
    # Each run starts a page of its own, with its own QR code.
    starts = [n for n, text in enumerate(pages) if "Page 1 of" in text]
    assert len(starts) == 3
    codes = page_codes(content)
    assert [codes[n] for n in starts] == [[f"http://testserver/runs/{run.number}/"] for run in runs]
    for n, run in zip(starts, runs, strict=True):
        assert run.name in pages[n]


def test_the_batch_page_prints_all_its_runs(planner_client, make_runs):
    runs = make_runs(2, batch_name="Order 4711")
    response = planner_client.get(reverse("runs:batch-travelers", args=[runs[0].batch_id]))

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="batch-{runs[0].batch_id}-travelers.pdf"'
    codes = [code for page in page_codes(b"".join(response.streaming_content)) for code in page]
    assert codes == [f"http://testserver/runs/{run.number}/" for run in runs]


def test_the_run_batch_and_created_pages_offer_the_downloads(planner_client, make_runs):
    run, _ = make_runs(2, batch_name="Order 4711")
    token, number, batch = run.creation_token, run.number, run.batch_id
    pages = [
        ("runs:created", token, "runs:created-travelers", "runs:created-labels"),
        ("runs:detail", number, "runs:run-traveler", "runs:run-labels"),
        ("runs:batch", batch, "runs:batch-travelers", "runs:batch-labels"),
    ]
    for page, key, travelers, labels in pages:
        html = planner_client.get(reverse(page, args=[key])).content.decode()
        assert f'href="{reverse(travelers, args=[key])}"' in html
        assert f'action="{reverse(labels, args=[key])}"' in html
        assert '<select name="layout"' in html
