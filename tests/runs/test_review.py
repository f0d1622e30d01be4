import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import TrackingType
from runs.models import Run, RunBatch, RunDraft
from runs.review import UNDO_GRACE_SECONDS, UNDO_SECONDS
from tests import factories
from tests.runs.wizard_steps import WizardDriver

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def part(org):
    return factories.PartFactory(organisation=org, number="BRKT-ASSY-001")


@pytest.fixture
def version(org, part):
    return factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], steps=2)


@pytest.fixture
def wizard(planner_client, part, version):
    driver = WizardDriver(planner_client)
    driver.author(
        part=part, procedure=version, identify={"serial_number": "SN-0007"}, details={"name": "Bracket build"}
    )
    return driver


def row_url(wizard, draft, **query):
    params = "&".join(f"{k}={v}" for k, v in ({"wizard": wizard.wizard_id} | query).items())
    return reverse("runs:draft-row", args=[draft.pk]) + "?" + params


def serials():
    return [d.data["serial_number"] for d in RunDraft.objects.order_by("position")]


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_duplicate_increments_a_typed_serial_and_suffixes_a_typed_name(planner_client, wizard, headers):
    draft = RunDraft.objects.get()
    response = planner_client.post(row_url(wizard, draft), {"action": "duplicate", "copies": 3}, **headers)
    assert serials() == ["SN-0007", "SN-0008", "SN-0009", "SN-0010"]
    names = [d.data["name"] for d in RunDraft.objects.order_by("position")]
    assert names == ["Bracket build", "Bracket build (2)", "Bracket build (3)", "Bracket build (4)"]
    if headers:
        body = response.content.decode()
        assert body.count('class="review-row"') == 4 and "<html" not in body
        assert "Create 4 runs" in body and 'hx-swap-oob="true"' in body
    else:
        assert response.url == wizard.url("review")


def test_duplicate_skips_serials_already_used(planner_client, wizard, part):
    factories.PartInventoryFactory(part=part, serial_number="SN-0008")
    planner_client.post(row_url(wizard, RunDraft.objects.get()), {"action": "duplicate", "copies": 2})
    assert serials() == ["SN-0007", "SN-0009", "SN-0010"]


def test_duplicate_keeps_auto_values_auto_and_a_typed_lot(planner_client, org):
    lot_part = factories.PartFactory(organisation=org, tracking_type=TrackingType.LOT)
    driver = WizardDriver(planner_client)
    driver.author(part=lot_part, identify={"lot_number": "LOT-A", "quantity": 4})
    planner_client.post(row_url(driver, RunDraft.objects.get()), {"action": "duplicate", "copies": 2})
    rows = [d.data for d in RunDraft.objects.order_by("position")]
    assert [r["lot_number"] for r in rows] == ["LOT-A"] * 3
    assert [r["name"] for r in rows] == ["", "", ""]


def test_copies_appear_right_after_the_row(planner_client, wizard, part, version):
    second = WizardDriver(planner_client)
    second.author(part=part, procedure=version, identify={"serial_number": "SN-0500"})
    first = RunDraft.objects.order_by("position").first()
    planner_client.post(row_url(wizard, first), {"action": "duplicate", "copies": 2})
    assert serials() == ["SN-0007", "SN-0008", "SN-0009", "SN-0500"]


@pytest.mark.parametrize("copies", [0, 501, "many"])
def test_duplicate_refuses_out_of_range_copies(planner_client, wizard, copies):
    planner_client.post(row_url(wizard, RunDraft.objects.get()), {"action": "duplicate", "copies": copies})
    assert RunDraft.objects.count() == 1


def test_edit_shows_the_row_as_an_inline_form(planner_client, wizard):
    draft = RunDraft.objects.get()
    body = planner_client.get(row_url(wizard, draft, mode="edit"), **HTMX).content.decode()
    assert 'aria-label="Edit run"' in body and 'value="SN-0007"' in body and "<html" not in body


def test_opening_edit_keeps_the_rows_problem_in_sight(planner_client, wizard, part):
    factories.PartInventoryFactory(part=part, serial_number="SN-0007")  # taken since authored
    draft = RunDraft.objects.get()
    refused = wizard.create()
    assert "Serial number SN-0007 is already used in inventory." in refused.content.decode()
    body = planner_client.get(row_url(wizard, draft, mode="edit"), **HTMX).content.decode()
    assert 'aria-label="Edit run"' in body
    assert "Serial number SN-0007 is already used in inventory." in body


def test_the_editors_typed_values_and_auto_boxes_are_paired(planner_client, wizard):
    body = planner_client.get(row_url(wizard, RunDraft.objects.get(), mode="edit"), **HTMX).content.decode()
    # ion-runs.js unticks Auto-generated as a value is typed, and clears it when ticked.
    pairs = re.findall(r'<div class="typed-or-auto">.*?name="(\S+)".*?name="(\S+)"', body)
    assert pairs == [
        ("identify-serial_number", "identify-serial_auto"),
        ("identify-lot_number", "identify-lot_auto"),
        ("details-name", "details-name_auto"),
    ]


def test_two_open_editors_share_no_ids(planner_client, wizard):
    planner_client.post(row_url(wizard, RunDraft.objects.get()), {"action": "duplicate", "copies": 1})
    first, second = RunDraft.objects.order_by("position")
    bodies = [
        planner_client.get(row_url(wizard, d, mode="edit"), **HTMX).content.decode() for d in (first, second)
    ]
    editors = [re.search(r'aria-label="Edit run">.*?</form>', body, re.S)[0] for body in bodies]
    ids = [re.findall(r'\bid="([^"]+)"', editor) for editor in editors]
    assert ids[0] and ids[1]
    assert not set(ids[0]) & set(ids[1])
    # Each label still names its own field.
    assert f'for="row-{second.pk}-identify-serial_number"' in bodies[1]


def test_rows_left_from_before_this_sign_in_are_pointed_out(planner_client, planner, wizard, part, version):
    assert "From earlier" not in wizard.get("review").content.decode()
    left = RunDraft.objects.get()
    planner.refresh_from_db()
    RunDraft.objects.filter(pk=left.pk).update(created_at=planner.last_login - datetime.timedelta(minutes=5))
    WizardDriver(planner_client).author(part=part, procedure=version, identify={"serial_number": "SN-0100"})
    page = wizard.get("review").content.decode()
    when = timezone.localtime(planner.last_login - datetime.timedelta(minutes=5)).strftime("%-d %b %Y")
    assert (
        f"1 row was left on Review from earlier (the oldest from {when}), marked “From earlier”. "
        "Check or remove them before creating."
    ) in page
    rows = re.findall(r'<tbody id="row-[^"]+" class="review-row">.*?</tbody>', page, re.S)
    assert ["From earlier" in row for row in rows] == [True, False]
    # The mark stays on the row when htmx swaps it back after an edit is canceled.
    assert "From earlier" in planner_client.get(row_url(wizard, left), **HTMX).content.decode()


def test_a_row_from_an_earlier_day_is_pointed_out_within_one_sign_in(planner_client, wizard):
    RunDraft.objects.update(created_at=timezone.now() - datetime.timedelta(days=2))
    assert "1 row was left on Review from earlier" in wizard.get("review").content.decode()


def test_edit_without_javascript_is_a_page(planner_client, wizard):
    response = planner_client.get(row_url(wizard, RunDraft.objects.get(), mode="edit"))
    assert response.status_code == 200 and "<html" in response.content.decode()


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_edit_saves_valid_changes(planner_client, wizard, org, headers):
    team = factories.TeamFactory(organisation=org, name="Final Assembly")
    draft = RunDraft.objects.get()
    response = planner_client.post(
        row_url(wizard, draft),
        {
            "action": "save",
            "procedure-procedure": draft.data["procedure"],
            "identify-tracking_type": "serial",
            "identify-serial_number": "SN-0900",
            "details-name": "Renamed",
            "details-due_date": "2026-12-01",
            "details-assigned_to": f"team:{team.pk}",
        },
        **headers,
    )
    draft.refresh_from_db()
    assert draft.data["serial_number"] == "SN-0900" and draft.data["name"] == "Renamed"
    assert draft.data["assigned_team"] == team.pk and draft.data["due_date"] == "2026-12-01"
    if headers:
        assert "Final Assembly" in response.content.decode()


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_edit_shows_errors_inside_the_row(planner_client, wizard, part, headers):
    factories.PartInventoryFactory(part=part, serial_number="SN-TAKEN")
    draft = RunDraft.objects.get()
    response = planner_client.post(
        row_url(wizard, draft),
        {
            "action": "save",
            "identify-tracking_type": "serial",
            "identify-serial_number": "SN-TAKEN",
            "details-name_auto": "on",
        },
        **headers,
    )
    assert response.status_code == 200
    assert "Serial number SN-TAKEN is already used" in response.content.decode()
    draft.refresh_from_db()
    assert draft.data["serial_number"] == "SN-0007"


def test_edit_can_change_the_procedure_only_to_a_runnable_one(planner_client, wizard, org, part):
    draft_version = factories.ProcedureVersionFactory(procedure__organisation=org, parts=[part])
    response = planner_client.post(
        row_url(wizard, RunDraft.objects.get()),
        {
            "action": "save",
            "procedure-procedure": draft_version.pk,
            "identify-serial_auto": "on",
            "details-name_auto": "on",
        },
        **HTMX,
    )
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_remove_can_be_undone(planner_client, wizard, headers):
    draft = RunDraft.objects.get()
    response = planner_client.post(row_url(wizard, draft), {"action": "remove"}, **headers)
    assert wizard.get("review").context["rows"] == []
    if headers:
        assert "Undo" in response.content.decode()
    planner_client.post(row_url(wizard, draft), {"action": "restore"}, **headers)
    assert len(wizard.get("review").context["rows"]) == 1


def test_remove_two_rows_then_undo_the_first(planner_client, wizard, part, version):
    WizardDriver(planner_client).author(part=part, procedure=version)
    first, second = RunDraft.objects.order_by("position")
    planner_client.post(row_url(wizard, first), {"action": "remove"}, **HTMX)
    planner_client.post(row_url(wizard, second), {"action": "remove"}, **HTMX)

    response = planner_client.post(row_url(wizard, first), {"action": "restore"}, **HTMX)

    assert response.status_code == 200
    assert [row.draft.pk for row in wizard.get("review").context["rows"]] == [first.pk]
    assert [undo.draft.pk for undo in wizard.get("review").context["removed"]] == [second.pk]


def test_a_removed_row_keeps_its_undo_through_other_actions(planner_client, wizard, part, version):
    WizardDriver(planner_client).author(part=part, procedure=version)
    first, second = RunDraft.objects.order_by("position")
    planner_client.post(row_url(wizard, first), {"action": "remove"}, **HTMX)
    planner_client.post(row_url(wizard, second), {"action": "duplicate", "copies": 1}, **HTMX)
    planner_client.post(row_url(wizard, first), {"action": "restore"}, **HTMX)
    assert RunDraft.objects.get(pk=first.pk).removed_at is None


def test_an_expired_undo_disappears_and_the_row_is_discarded_later(planner_client, wizard):
    draft = RunDraft.objects.get()
    planner_client.post(row_url(wizard, draft), {"action": "remove"}, **HTMX)
    expired = timezone.now() - datetime.timedelta(seconds=UNDO_SECONDS + 1)
    RunDraft.objects.filter(pk=draft.pk).update(removed_at=expired)

    assert planner_client.post(row_url(wizard, draft), {"action": "gone"}, **HTMX).content == b""
    assert wizard.get("review").context["removed"] == []
    # Within the grace period a last-second Undo from another tab still works…
    planner_client.post(row_url(wizard, draft), {"action": "restore"}, **HTMX)
    assert RunDraft.objects.get(pk=draft.pk).removed_at is None
    # …after it, the row is discarded and Undo says so instead of failing.
    long_ago = timezone.now() - datetime.timedelta(seconds=UNDO_SECONDS + UNDO_GRACE_SECONDS + 1)
    RunDraft.objects.filter(pk=draft.pk).update(removed_at=long_ago)
    wizard.get("review")
    assert not RunDraft.objects.filter(pk=draft.pk).exists()
    response = planner_client.post(row_url(wizard, draft), {"action": "restore"}, **HTMX)
    assert response.status_code == 200
    assert "Too late to undo" in response.content.decode()
    assert planner_client.post(row_url(wizard, draft), {"action": "gone"}, **HTMX).status_code == 200


def test_review_with_no_rows_shows_a_way_to_author_one(planner_client, wizard):
    draft = RunDraft.objects.get()
    planner_client.post(row_url(wizard, draft), {"action": "remove"}, **HTMX)
    RunDraft.objects.all().delete()
    response = wizard.get("review")
    assert response.status_code == 200
    assert "No runs to review yet." in response.content.decode()


def test_other_planners_rows_are_not_reachable(client, wizard, org):
    client.force_login(factories.PlannerFactory(organisation=org))
    response = client.post(row_url(wizard, RunDraft.objects.get()), {"action": "remove"})
    assert response.status_code == 404


def test_add_another_run_keeps_the_rows(planner_client, wizard, part, version):
    another = WizardDriver(planner_client)
    assert another.get("source").status_code == 200
    another.author(part=part, procedure=version)
    assert len(another.get("review").context["rows"]) == 2


@pytest.mark.parametrize(
    ("rows", "batched", "label"),
    [(1, False, "Create run"), (3, False, "Create 3 runs"), (3, True, "Create batched run")],
)
def test_the_button_label_follows_the_rows(planner_client, wizard, rows, batched, label):
    if rows > 1:
        planner_client.post(
            row_url(wizard, RunDraft.objects.get()), {"action": "duplicate", "copies": rows - 1}
        )
    query = {"button": "1"} | ({"review-batch": "on"} if batched else {})
    body = planner_client.get(wizard.url("review"), query, **HTMX).content.decode()
    assert label in body


def test_batching_creates_one_batch_of_all_rows(planner_client, wizard):
    planner_client.post(row_url(wizard, RunDraft.objects.get()), {"action": "duplicate", "copies": 4})
    response = wizard.create(batch_name="Lot 42 brackets")
    batch = RunBatch.objects.get(name="Lot 42 brackets")
    assert batch.runs.count() == 5
    assert sorted(r.part_inventory.serial_number for r in batch.runs.all()) == [
        "SN-0007",
        "SN-0008",
        "SN-0009",
        "SN-0010",
        "SN-0011",
    ]
    assert "Lot 42 brackets" in planner_client.get(response.url).content.decode()


def test_batching_names_the_rows_with_other_procedure_versions(planner_client, wizard, org, part):
    other = factories.ReleasedVersionFactory(procedure__organisation=org, parts=[part], title="Paint")
    WizardDriver(planner_client).author(part=part, procedure=other)
    review = wizard.get("review")
    assert "row 1 uses" in review.context["batch_conflict"]
    response = wizard.create(batch_name="Mixed")
    assert response.status_code == 200
    assert "row 2 uses Paint v1" in " ".join(response.context["batch_problems"])
    assert not Run.objects.exists()


def test_batch_name_is_required_and_unique(planner_client, wizard, org):
    factories.RunBatchFactory(organisation=org, name="Taken")
    response = wizard.post(
        "review",
        {
            "token": wizard.get("review").context["wizard"]["form"]["token"].value(),
            "batch": "on",
            "batch_name": "",
        },
    )
    assert response.context["wizard"]["form"].errors["batch_name"] == [
        "Name the batch, or uncheck Batch runs."
    ]
    response = wizard.create(batch_name="taken")
    assert response.context["wizard"]["form"].errors["batch_name"] == [
        "A batch named “taken” already exists."
    ]


def test_a_revised_procedure_is_announced_on_the_row(planner_client, wizard, version):
    newer = version.revise()
    newer.release()
    review = wizard.get("review")
    assert "it will be created on v2" in review.content.decode()
    wizard.create()
    assert Run.objects.get().procedure_version == newer


def test_row_actions_cost_a_bounded_number_of_queries(planner_client, wizard, django_assert_max_num_queries):
    draft = RunDraft.objects.get()
    with django_assert_max_num_queries(20):
        planner_client.post(row_url(wizard, draft), {"action": "duplicate", "copies": 200}, **HTMX)
    # Opening the editor also checks the row by create_runs' rules, to show what it would refuse.
    with django_assert_max_num_queries(30):
        planner_client.get(row_url(wizard, draft, mode="edit"), **HTMX)
    with django_assert_max_num_queries(20):
        planner_client.post(row_url(wizard, draft), {"action": "remove"}, **HTMX)


def test_the_review_page_query_count_does_not_grow_with_rows(
    planner_client, wizard, django_assert_max_num_queries
):
    planner_client.post(row_url(wizard, RunDraft.objects.get()), {"action": "duplicate", "copies": 100})
    with django_assert_max_num_queries(25):
        assert wizard.get("review").status_code == 200


def test_rows_show_attributes_dates_and_teams_the_way_the_rest_of_the_app_does(planner_client, org, wizard):
    factories.RunAttributeDefinitionFactory(organisation=org, key="customer_po", label="Customer PO")
    team = factories.TeamFactory(organisation=org, name="Final Assembly")
    RunDraft.objects.update(
        data={
            **RunDraft.objects.get().data,
            "due_date": "2026-12-04",
            "assigned_team": team.pk,
            "attributes": {"customer_po": "PO-4512"},
        }
    )
    body = wizard.get("review").content.decode()
    assert "Customer PO: PO-4512" in body
    assert "4 Dec 2026" in body
    assert 'Final Assembly <span class="muted">(team)</span>' in body


def test_discard_all_rows_empties_review_in_one_go(planner_client, wizard, part, version):
    WizardDriver(planner_client).author(part=part, procedure=version)
    review = wizard.get("review")
    response = wizard.client.post(
        wizard.url("review"),
        {
            f"{wizard.prefix}-current_step": "review",
            "review-token": review.context["wizard"]["form"]["token"].value(),
            "discard_rows": "1",
        },
        follow=True,
    )
    assert "Discarded 2 rows." in response.content.decode()
    assert "No runs to review yet." in response.content.decode()
    assert not RunDraft.objects.exists()
    assert not Run.objects.exists()


def test_discard_all_never_creates_even_from_a_page_whose_wizard_was_reset(
    planner_client, wizard, part, version
):
    stale = wizard.get("review").context
    wizard.create()
    WizardDriver(planner_client).author(part=part, procedure=version)
    shown = ",".join(str(pk) for pk in RunDraft.objects.values_list("pk", flat=True))
    wizard.client.post(
        wizard.url("review"),
        {
            f"{wizard.prefix}-current_step": "review",
            "review-token": stale["wizard"]["form"]["token"].value(),
            "review-shown_rows": shown,
            "discard_rows": "1",
        },
    )
    assert Run.objects.count() == 1
    assert not RunDraft.objects.exists()


def test_the_created_page_marks_teams_as_teams(planner_client, org, wizard):
    team = factories.TeamFactory(organisation=org, name="Final Assembly")
    RunDraft.objects.update(data={**RunDraft.objects.get().data, "assigned_team": team.pk})
    created = planner_client.get(wizard.create().url)
    assert 'Final Assembly <span class="muted">(team)</span>' in created.content.decode()


def test_an_empty_review_points_htmx_at_no_missing_button(planner_client):
    """htmx logs an error for an indicator it cannot find: an empty Review has no Create button."""
    body = WizardDriver(planner_client).get("review").content.decode()
    assert "No runs to review yet." in body
    assert 'id="create-button"' not in body and "#create-button" not in body
