"""Who gets which PDF: exactly who sees the page it is printed from (SPEC §2, §6, §14).

Another organisation's run, batch or created link is a 404. For the uncleared, a controlled
run is a 404, and so is a batch holding one, PDFs included, as on the batch page; the created
page's PDFs hold the runs that page lists to them, the controlled ones left out.
"""

import pytest
from django.urls import reverse

from tests import factories
from tests.travelers.pdfs import page_codes, page_texts

pytestmark = pytest.mark.django_db

RUN_URLS = ("runs:run-traveler", "runs:run-labels")
BATCH_URLS = ("runs:batch-travelers", "runs:batch-labels")
CREATED_URLS = ("runs:created-travelers", "runs:created-labels")


def urls(run) -> list[str]:
    return [
        *(reverse(name, args=[run.number]) for name in RUN_URLS),
        *(reverse(name, args=[run.batch_id]) for name in BATCH_URLS),
        *(reverse(name, args=[run.creation_token]) for name in CREATED_URLS),
    ]


@pytest.fixture
def batched(make_runs):
    return make_runs(2, batch_name="Order 4711")[0]


def test_it_works_for_the_owner_and_an_operator(client, planner, operator, batched):
    for user in (planner, operator):
        client.force_login(user)
        for url in urls(batched):
            response = client.get(url)
            assert response.status_code == 200, url
            assert response["Content-Type"] == "application/pdf"


def test_it_needs_a_login(client, batched):
    for url in urls(batched):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_it_needs_the_permission_to_view_runs(client, org, batched):
    client.force_login(factories.UserFactory(organisation=org, export_cleared=True))
    for url in urls(batched):
        assert client.get(url).status_code == 403, url


def test_it_checks_the_organisation(client, outsider, batched):
    client.force_login(outsider)
    for url in urls(batched):
        assert client.get(url).status_code == 404, url


def test_it_answers_gets_only(planner_client, batched):
    for url in urls(batched):
        assert planner_client.post(url).status_code == 405, url


def test_the_uncleared_never_get_a_controlled_run(client, uncleared_planner, make_runs):
    controlled = make_runs(2, batch_name="Order 4711", export_controlled=True)[0]
    client.force_login(uncleared_planner)
    for url in urls(controlled):
        assert client.get(url).status_code == 404, url


def test_a_batch_holding_a_controlled_run_is_hidden_from_the_uncleared_as_on_its_page(
    client, uncleared_planner, make_runs, planner
):
    from runs.services import add_runs_to_batch

    plain, _ = make_runs(2, batch_name="Order 4711")
    (controlled,) = make_runs(export_controlled=True)
    add_runs_to_batch(actor=planner, batch=plain.batch, runs=[controlled])
    client.force_login(uncleared_planner)

    assert client.get(reverse("runs:batch", args=[plain.batch_id])).status_code == 404
    for name in BATCH_URLS:
        assert client.get(reverse(name, args=[plain.batch_id])).status_code == 404
    # The plain run stays visible on its own, but its traveler does not name the hidden batch.
    text = page_texts(
        b"".join(client.get(reverse("runs:run-traveler", args=[plain.number])).streaming_content)
    )
    assert "Order 4711" not in "\n".join(text)


def test_the_created_pdfs_leave_out_what_the_created_page_leaves_out(
    client, planner, uncleared_planner, part, version
):
    from runs.services import RunRequest, create_runs

    plain = RunRequest(part_id=part.pk, procedure_version_id=version.pk, name="Plain bracket")
    controlled = RunRequest(
        part_id=part.pk, procedure_version_id=version.pk, name="Controlled bracket", export_controlled=True
    )
    runs = create_runs(user=planner, requests=[plain, controlled])
    token = runs[0].creation_token
    client.force_login(uncleared_planner)

    page = client.get(reverse("runs:created", args=[token])).content.decode()
    assert "Plain bracket" in page and "Controlled bracket" not in page
    for name in CREATED_URLS:
        content = b"".join(client.get(reverse(name, args=[token])).streaming_content)
        text = "\n".join(page_texts(content))
        assert "Controlled bracket" not in text
        assert "EXPORT CONTROLLED" not in text
        assert [code for codes in page_codes(content) for code in codes] == [
            f"http://testserver/runs/{runs[0].number}/"
        ]
