"""Batches after creation (SPEC §9): the list, a batch's page, renaming, adding runs, taking them out."""

import dataclasses
import re

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from runs.models import Run, RunBatch, RunEvent, RunEventKind, RunStatus
from runs.services import (
    RunChangeError,
    RunRequest,
    add_runs_to_batch,
    create_batch,
    create_runs,
    remove_run_from_batch,
)
from runs.services.batches import record_renamed
from tests import factories

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def part(org):
    return factories.PartFactory(organisation=org, number="BRKT-ASSY-001")


@pytest.fixture
def v1(org, part):
    return factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], title="Bracket build", steps=1
    )


@pytest.fixture
def v2(org, part, v1):
    return factories.ReleasedVersionFactory(
        procedure__organisation=org, parts=[part], title="Bracket build", number=2, steps=1
    )


@pytest.fixture
def make_runs(planner, part):
    def make(version, count=1, **kwargs) -> list[Run]:
        request = RunRequest(part_id=part.pk, procedure_version_id=version.pk if version else None, **kwargs)
        return create_runs(user=planner, requests=[request] * count)

    return make


@pytest.fixture
def batch(planner, make_runs, v1):
    batch = create_batch(actor=planner, name="Week 12")
    add_runs_to_batch(actor=planner, batch=batch, runs=make_runs(v1, 2))
    return batch


def page_url(batch) -> str:
    return reverse("runs:batch", args=[batch.pk])


def members(batch) -> set[int]:
    return set(Run.objects.filter(batch=batch).values_list("number", flat=True))


def numbers(runs) -> list[int]:
    return sorted(run.number for run in runs)


# The list ---------------------------------------------------------------------------------


def test_the_list_shows_each_batch_with_its_runs_version_and_maker(planner_client, batch, planner):
    empty = create_batch(actor=planner, name="Still empty")
    html = planner_client.get(reverse("runs:batches")).content.decode()
    assert f'<a href="{page_url(batch)}">Week 12</a>' in html
    assert f'<a href="{page_url(empty)}">Still empty</a>' in html
    row = html[html.index("Week 12</a>") :]
    assert '<td class="num">2</td>' in row[:200]
    assert 'Bracket build <span class="muted">v1</span>' in row
    assert str(planner) in row
    assert "no runs yet" in html


def test_the_list_is_searchable_and_htmx_gets_the_table_only(planner_client, batch, planner):
    create_batch(actor=planner, name="Order 4711")
    response = planner_client.get(reverse("runs:batches"), {"q": "4711"}, **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="batch-table">')
    assert "Order 4711" in html
    assert "Week 12" not in html
    assert "1 batch matching “4711”" in html


def test_the_list_pages_by_fifty(planner_client, planner):
    for i in range(51):
        create_batch(actor=planner, name=f"Batch {i:02}")
    first = planner_client.get(reverse("runs:batches")).content.decode()
    second = planner_client.get(reverse("runs:batches"), {"page": 2}).content.decode()
    assert len(re.findall(r'href="/runs/batches/\d+/"', first)) == 50
    assert len(re.findall(r'href="/runs/batches/\d+/"', second)) == 1
    assert "Page 2 of 2" in second


def test_the_list_takes_a_fixed_number_of_queries(
    planner_client, planner, make_runs, v1, django_assert_max_num_queries
):
    for i in range(30):
        batch = create_batch(actor=planner, name=f"Batch {i}")
        add_runs_to_batch(actor=planner, batch=batch, runs=make_runs(v1, 2))
    with django_assert_max_num_queries(9):
        planner_client.get(reverse("runs:batches"))


def test_the_list_hides_other_organisations_and_batches_holding_hidden_runs(
    client, uncleared_planner, planner, batch, make_runs, v1, other_org, outsider
):
    secret = create_batch(actor=planner, name="Secret batch")
    add_runs_to_batch(actor=planner, batch=secret, runs=make_runs(v1, export_controlled=True))
    factories.RunBatchFactory(organisation=other_org, name="Globex batch")
    client.force_login(uncleared_planner)
    html = client.get(reverse("runs:batches")).content.decode()
    assert "Week 12" in html
    assert "Secret batch" not in html
    assert "Globex batch" not in html
    assert "1 batch." in html


def test_a_planner_makes_an_empty_batch(planner_client):
    response = planner_client.post(reverse("runs:batch-new"), {"name": "  Rush   order "})
    batch = RunBatch.objects.get()
    assert response.status_code == 302
    assert response.url == page_url(batch)
    assert batch.name == "Rush order"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Week 12", "A batch named “Week 12” already exists."),
        ("WEEK 12", "A batch named “WEEK 12” already exists."),
        ("   ", "This field is required."),
        ("x" * 201, "at most 200"),
    ],
)
def test_a_new_batch_needs_a_free_name(planner_client, batch, name, message):
    response = planner_client.post(reverse("runs:batch-new"), {"name": name})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert RunBatch.objects.count() == 1


def test_operators_see_batches_but_change_nothing(client, operator, batch):
    client.force_login(operator)
    assert client.get(reverse("runs:batches")).status_code == 200
    html = client.get(page_url(batch)).content.decode()
    assert "Add runs" not in html
    assert "Rename" not in html
    assert client.post(reverse("runs:batch-new"), {"name": "Mine"}).status_code == 403
    assert client.post(reverse("runs:batch-rename", args=[batch.pk]), {"name": "Mine"}).status_code == 403
    assert RunBatch.objects.get().name == "Week 12"


# The batch page ---------------------------------------------------------------------------


def test_the_page_lists_its_runs_with_status_identity_assignee_and_due(planner_client, batch, org):
    run = Run.objects.filter(batch=batch).first()
    run.assigned_team = factories.TeamFactory(organisation=org, name="Cell 7")
    run.save()
    html = planner_client.get(page_url(batch)).content.decode()
    for member in Run.objects.filter(batch=batch).select_related("part_inventory"):
        assert f'id="batch-run-{member.number}"' in html
        assert member.part_inventory.identity in html
    assert "Cell 7" in html
    assert "To do" in html
    assert 'Bracket build</a> <span class="muted">v1</span>' in html


def test_the_page_shows_its_history(planner_client, planner, batch):
    run = Run.objects.filter(batch=batch).first()
    planner_client.post(reverse("runs:batch-remove", args=[batch.pk, run.number]))
    html = planner_client.get(page_url(batch)).content.decode()
    history = html[html.index('id="batch-history-heading"') :]
    assert history.index("Removed") < history.index("Added") < history.index("Created")
    assert f"run {run.number}</a>" in history


def test_the_page_takes_a_fixed_number_of_queries(
    planner_client, batch, make_runs, v1, planner, django_assert_max_num_queries
):
    add_runs_to_batch(actor=planner, batch=batch, runs=make_runs(v1, 30))
    make_runs(v1, 10)  # candidates for the picker
    # The steps across the batch add one query (and one for the next step to work, when any).
    with django_assert_max_num_queries(18):
        planner_client.get(page_url(batch))


@pytest.mark.parametrize("who", ["outsider", "uncleared_planner"])
def test_a_foreign_or_hidden_batch_is_404_everywhere(client, request, batch, planner, make_runs, v1, who):
    if who == "uncleared_planner":
        add_runs_to_batch(actor=planner, batch=batch, runs=make_runs(v1, export_controlled=True))
    client.force_login(request.getfixturevalue(who))
    run = Run.objects.filter(batch=batch).first()
    before = members(batch)
    assert client.get(page_url(batch)).status_code == 404
    assert client.post(reverse("runs:batch-rename", args=[batch.pk]), {"name": "Mine"}).status_code == 404
    assert client.post(reverse("runs:batch-add", args=[batch.pk]), {"runs": [run.number]}).status_code == 404
    assert client.post(reverse("runs:batch-remove", args=[batch.pk, run.number])).status_code == 404
    assert RunBatch.objects.get(pk=batch.pk).name == "Week 12"
    assert members(batch) == before


# Rename -----------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_rename(planner_client, batch, htmx):
    response = planner_client.post(
        reverse("runs:batch-rename", args=[batch.pk]),
        {"name": "Week 13", "seen": "Week 12"},
        **(HTMX if htmx else {}),
    )
    if htmx:
        assert response.content.decode().lstrip().startswith('<div id="batch-body">')
        assert "The batch is now called “Week 13”." in response.content.decode()
    else:
        assert response.status_code == 302
    assert RunBatch.objects.get().name == "Week 13"


def test_a_rename_is_in_the_batchs_history_once_and_in_each_runs(planner_client, planner, batch):
    planner_client.post(reverse("runs:batch-rename", args=[batch.pk]), {"name": "Week 13", "seen": "Week 12"})
    html = planner_client.get(page_url(batch)).content.decode()
    history = html[html.index('id="batch-history-heading"') :]
    assert history.count("<strong>Renamed</strong>") == 1
    assert '“Week 12” <span aria-label="to">→</span> “Week 13”' in history
    assert history.index("Renamed") < history.index("Added") < history.index("Created")
    for run in Run.objects.filter(batch=batch):
        run_page = planner_client.get(reverse("runs:detail", args=[run.number])).content.decode()
        assert "<strong>Batch renamed</strong>" in run_page
        assert 'Week 12 <span aria-label="to">→</span> Week 13' in run_page


def history_of(client, batch) -> str:
    html = client.get(page_url(batch)).content.decode()
    return html[html.index('id="batch-history-heading"') :]


def test_a_rename_of_a_batch_holding_no_run_is_in_its_history(planner_client, planner, make_runs, v1):
    batch = create_batch(actor=planner, name="Week 12")
    planner_client.post(reverse("runs:batch-rename", args=[batch.pk]), {"name": "Week 13", "seen": "Week 12"})
    assert '“Week 12” <span aria-label="to">→</span> “Week 13”' in history_of(planner_client, batch)

    # Runs joining later do not repeat it, and only the runs that were in it say they were renamed.
    add_runs_to_batch(actor=planner, batch=batch, runs=make_runs(v1, 2))
    history = history_of(planner_client, batch)
    assert history.count("<strong>Renamed</strong>") == 1
    assert history.index("Added") < history.index("Renamed") < history.index("Created")
    assert not RunEvent.objects.filter(kind=RunEventKind.BATCH_RENAMED, run__isnull=False).exists()


def test_a_batch_emptied_of_hidden_runs_shows_its_rename_only_to_those_who_saw_them(
    client, planner_client, planner, uncleared_planner, make_runs, v1
):
    batch = create_batch(actor=planner, name="Falcon ITAR")
    [secret] = make_runs(v1, export_controlled=True)
    add_runs_to_batch(actor=planner, batch=batch, runs=[secret])
    remove_run_from_batch(actor=planner, batch=batch, run=secret)
    planner_client.post(
        reverse("runs:batch-rename", args=[batch.pk]), {"name": "Week 13", "seen": "Falcon ITAR"}
    )
    assert '“Falcon ITAR” <span aria-label="to">→</span> “Week 13”' in history_of(planner_client, batch)

    client.force_login(uncleared_planner)
    history = history_of(client, batch)
    assert "Falcon ITAR" not in history
    assert "<strong>Renamed</strong>" not in history


def test_a_batch_takes_its_own_history_with_it_and_only_a_rename_may_have_no_run(planner, batch):
    batch.runs.update(batch=None)
    batch.name = "Week 13"
    batch.save()
    record_renamed(actor=planner, batch=batch, before="Week 12")
    assert RunEvent.objects.filter(batch=batch, run__isnull=True).count() == 1

    with pytest.raises(IntegrityError), transaction.atomic():
        RunEvent.objects.create(run=None, batch=batch, kind=RunEventKind.BATCHED, actor=planner)
    with pytest.raises(IntegrityError), transaction.atomic():
        RunEvent.objects.create(run=None, batch=None, kind=RunEventKind.BATCH_RENAMED, actor=planner)

    # However it is deleted (here as an organisation's deletion would), the runs keep theirs.
    runs_events = RunEvent.objects.filter(batch=batch, run__isnull=False).count()
    RunBatch.objects.filter(pk=batch.pk).delete()
    assert not RunEvent.objects.filter(run__isnull=True).exists()
    assert RunEvent.objects.filter(batch__isnull=True, kind=RunEventKind.BATCHED).count() == runs_events


def test_an_unchanged_name_writes_no_history(planner_client, batch):
    planner_client.post(reverse("runs:batch-rename", args=[batch.pk]), {"name": "Week 12", "seen": "Week 12"})
    assert not RunEvent.objects.filter(kind=RunEventKind.BATCH_RENAMED).exists()


def test_a_rename_in_the_admin_is_in_the_history_too(admin_client, batch, org):
    url = reverse("admin:runs_runbatch_change", args=[batch.pk])
    response = admin_client.post(url, {"name": "Week 14", "organisation": org.pk})
    assert response.status_code == 302, response.context["adminform"].form.errors
    renames = RunEvent.objects.filter(kind=RunEventKind.BATCH_RENAMED)
    assert sorted(renames.values_list("before", "after")) == [("Week 12", "Week 14")] * 2


def test_a_batch_may_take_its_own_name_in_another_case(planner_client, batch):
    url = reverse("runs:batch-rename", args=[batch.pk])
    assert planner_client.post(url, {"name": "WEEK 12", "seen": "Week 12"}).status_code == 302
    assert RunBatch.objects.get(pk=batch.pk).name == "WEEK 12"


def test_rename_refuses_a_taken_name_and_a_stale_form(planner_client, planner, batch):
    create_batch(actor=planner, name="Taken")
    url = reverse("runs:batch-rename", args=[batch.pk])
    assert (
        "A batch named “Taken” already exists."
        in planner_client.post(url, {"name": "Taken"}).content.decode()
    )
    html = planner_client.post(url, {"name": "Mine", "seen": "What it was called before"}).content.decode()
    assert "The batch was renamed “Week 12” since this page was loaded." in html
    assert RunBatch.objects.get(pk=batch.pk).name == "Week 12"


# Adding runs later ------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_add_two_runs_of_the_batchs_version(planner_client, batch, make_runs, v1, htmx):
    runs = make_runs(v1, 2)
    response = planner_client.post(
        reverse("runs:batch-add", args=[batch.pk]), {"runs": numbers(runs)}, **(HTMX if htmx else {})
    )
    first, second = numbers(runs)
    if htmx:
        html = response.content.decode()
        assert html.lstrip().startswith('<div id="batch-body">')
        assert f"Added runs {first}, {second} to the batch." in html
        assert f'id="batch-run-{first}"' in html
    else:
        assert response.status_code == 302
        assert response.url == page_url(batch)
    assert set(numbers(runs)) <= members(batch)
    events = RunEvent.objects.filter(run__in=runs, kind=RunEventKind.BATCHED)
    assert sorted(e.run.number for e in events) == numbers(runs)


def test_a_run_of_another_version_is_refused_naming_the_runs_and_nothing_is_added(
    planner_client, batch, make_runs, v1, v2
):
    good, bad = make_runs(v1)[0], make_runs(v2)[0]
    before = members(batch)
    response = planner_client.post(
        reverse("runs:batch-add", args=[batch.pk]), {"runs": [good.number, bad.number]}
    )
    html = response.content.decode()
    assert response.status_code == 200
    existing = ", ".join(map(str, sorted(before | {good.number})))
    assert (
        f"Runs in a batch share one procedure version, but runs {existing} use Bracket build v1; "
        f"run {bad.number} uses Bracket build v2."
    ) in html
    assert members(batch) == before


def test_an_empty_batch_takes_any_one_version_but_not_two(planner_client, planner, make_runs, v1, v2):
    empty = create_batch(actor=planner, name="Empty")
    mixed = make_runs(v1) + make_runs(v2)
    url = reverse("runs:batch-add", args=[empty.pk])
    assert (
        "share one procedure version" in planner_client.post(url, {"runs": numbers(mixed)}).content.decode()
    )
    assert members(empty) == set()
    planner_client.post(url, {"runs": numbers(mixed[1:])})
    assert members(empty) == {mixed[1].number}


def test_runs_without_a_procedure_batch_together(planner_client, planner, make_runs, v1):
    bare = create_batch(actor=planner, name="No procedure")
    runs = make_runs(None, 2)
    planner_client.post(reverse("runs:batch-add", args=[bare.pk]), {"runs": numbers(runs)})
    assert members(bare) == set(numbers(runs))
    html = planner_client.post(
        reverse("runs:batch-add", args=[bare.pk]), {"runs": numbers(make_runs(v1))}
    ).content.decode()
    assert "use no procedure" in html


@pytest.mark.parametrize("status", [RunStatus.COMPLETE, RunStatus.CANCELED])
def test_closed_runs_cannot_be_added(planner_client, batch, make_runs, v1, status):
    run = make_runs(v1)[0]
    Run.objects.filter(pk=run.pk).update(status=status)
    html = planner_client.post(
        reverse("runs:batch-add", args=[batch.pk]), {"runs": [run.number]}
    ).content.decode()
    assert (
        f"Run {run.number} is {RunStatus(status).label.lower()}; complete and canceled runs cannot be added"
        in html
    )
    assert run.number not in members(batch)


def test_a_run_is_in_one_batch_at_most(planner_client, planner, batch, make_runs, v1):
    elsewhere = create_batch(actor=planner, name="Elsewhere")
    run = make_runs(v1)[0]
    add_runs_to_batch(actor=planner, batch=elsewhere, runs=[run])
    html = planner_client.post(
        reverse("runs:batch-add", args=[batch.pk]), {"runs": [run.number]}
    ).content.decode()
    assert f"Run {run.number} is already in batch “Elsewhere”" in html
    assert Run.objects.get(pk=run.pk).batch == elsewhere


@pytest.mark.parametrize("kind", ["foreign", "hidden", "missing", "junk", "none"])
def test_foreign_hidden_and_junk_runs_are_refused_and_nothing_is_added(
    client, uncleared_planner, planner, batch, make_runs, v1, other_org, kind
):
    good = make_runs(v1)[0]
    sent = {
        "foreign": lambda: [good.number, factories.RunFactory(organisation=other_org, number=99_001).number],
        "hidden": lambda: [good.number, make_runs(v1, export_controlled=True)[0].number],
        "missing": lambda: [good.number, 99_999],
        "junk": lambda: [good.number, "12; DROP TABLE", "-4"],
        "none": lambda: [],
    }[kind]()
    before = members(batch)
    client.force_login(uncleared_planner)
    response = client.post(reverse("runs:batch-add", args=[batch.pk]), {"runs": sent})
    assert response.status_code == 200
    html = response.content.decode()
    assert {
        "foreign": "There is no run 99001.",
        "hidden": f"There is no run {sent[-1] if sent else ''}.",
        "missing": "There is no run 99999.",
        "junk": "Pick the runs from the list.",
        "none": "Tick the runs to add.",
    }[kind] in html
    assert members(batch) == before


# The picker -------------------------------------------------------------------------------


def test_the_picker_offers_open_unbatched_runs_of_the_batchs_version(
    planner_client, planner, batch, make_runs, v1, v2
):
    same = make_runs(v1)[0]
    other = make_runs(v2)[0]
    closed = make_runs(v1)[0]
    Run.objects.filter(pk=closed.pk).update(status=RunStatus.COMPLETE)
    in_a_batch = make_runs(v1)[0]
    add_runs_to_batch(actor=planner, batch=create_batch(actor=planner, name="Other"), runs=[in_a_batch])
    html = planner_client.get(page_url(batch)).content.decode()
    picker = html[html.index('id="picker-results"') :]
    assert f'value="{same.number}"' in picker
    for run in (other, closed, in_a_batch):
        assert f'value="{run.number}"' not in picker


def test_the_picker_searches_and_htmx_gets_its_results_only(planner_client, batch, make_runs, v1):
    wanted = make_runs(v1, name="Nose cone 7")[0]
    unwanted = make_runs(v1, name="Fairing")[0]
    response = planner_client.get(page_url(batch), {"find": "nose"}, HTTP_HX_TARGET="picker-results", **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="picker-results"')
    assert f'value="{wanted.number}"' in html
    assert f'value="{unwanted.number}"' not in html
    by_number = planner_client.get(page_url(batch), {"find": str(unwanted.number)}).content.decode()
    assert f'value="{unwanted.number}"' in by_number


def test_searching_for_a_run_on_another_version_says_why_it_cannot_join(
    planner_client, planner, batch, make_runs, v1, v2
):
    other = make_runs(v2, name="Nose cone 8")[0]
    response = planner_client.get(page_url(batch), {"find": "nose"}, HTTP_HX_TARGET="picker-results", **HTMX)
    html = response.content.decode()
    assert "No open run in no batch matches “nose”." in html
    [why] = re.findall(r'<p class="notice notice-warning">([^<]*)</p>', html)
    assert f"run {other.number}" in why and "Bracket build v2" in why and "Bracket build v1" in why
    # What adding it would answer, in the same words.
    response = planner_client.post(reverse("runs:batch-add", args=[batch.pk]), {"runs": other.number})
    assert why in response.content.decode()


# Taking a run out -------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_remove_a_run(planner_client, batch, htmx):
    run = Run.objects.filter(batch=batch).first()
    response = planner_client.post(
        reverse("runs:batch-remove", args=[batch.pk, run.number]), **(HTMX if htmx else {})
    )
    if htmx:
        assert f"Run {run.number} is no longer in the batch." in response.content.decode()
    else:
        assert response.status_code == 302
    assert run.number not in members(batch)
    assert RunEvent.objects.filter(run=run).first().kind == RunEventKind.UNBATCHED


def test_removing_a_run_not_in_the_batch_changes_nothing(planner_client, batch, make_runs, v1):
    run = make_runs(v1)[0]
    html = planner_client.post(reverse("runs:batch-remove", args=[batch.pk, run.number])).content.decode()
    assert f"Run {run.number} is no longer in batch “Week 12”." in html
    assert not RunEvent.objects.filter(run=run, kind=RunEventKind.UNBATCHED).exists()


def test_a_closed_run_stays_in_its_batch(planner_client, batch):
    run = Run.objects.filter(batch=batch).first()
    Run.objects.filter(pk=run.pk).update(status=RunStatus.COMPLETE)
    html = planner_client.post(reverse("runs:batch-remove", args=[batch.pk, run.number])).content.decode()
    assert "is complete; it can no longer be changed." in html
    assert run.number in members(batch)


# Links ------------------------------------------------------------------------------------


def test_pages_that_name_a_batch_link_to_it(planner_client, batch):
    run = Run.objects.filter(batch=batch).first()
    link = f'href="{page_url(batch)}"'
    assert link in planner_client.get(reverse("runs:list")).content.decode()
    assert link in planner_client.get(reverse("runs:detail", args=[run.number])).content.decode()
    assert link in planner_client.get(reverse("runs:created", args=[run.creation_token])).content.decode()
    assert link in planner_client.get(reverse("runs:batches")).content.decode()


def test_a_hidden_batch_is_neither_named_nor_linked(client, uncleared_planner, planner, batch, make_runs, v1):
    visible = Run.objects.filter(batch=batch).first()
    add_runs_to_batch(actor=planner, batch=batch, runs=make_runs(v1, export_controlled=True))
    client.force_login(uncleared_planner)
    for url in (reverse("runs:list"), reverse("runs:detail", args=[visible.number])):
        html = client.get(url).content.decode()
        assert page_url(batch) not in html
        assert "Week 12" not in html


# A hidden batch is not named, whichever page would name it -------------------------------


@pytest.fixture
def secret(planner, make_runs, v1):
    """Batch "SECRET": a plain run, and an export-controlled run that hides it from the uncleared."""
    secret = create_batch(actor=planner, name="SECRET")
    add_runs_to_batch(actor=planner, batch=secret, runs=make_runs(v1) + make_runs(v1, export_controlled=True))
    return secret


@pytest.mark.parametrize("door", ["batch page", "run page"])
def test_a_run_already_in_a_hidden_batch_is_refused_without_naming_it(
    client, uncleared_planner, batch, secret, door
):
    plain = Run.objects.get(batch=secret, export_controlled=False)
    client.force_login(uncleared_planner)
    if door == "batch page":
        response = client.post(reverse("runs:batch-add", args=[batch.pk]), {"runs": [plain.number]})
    else:
        response = client.post(reverse("runs:run-batch", args=[plain.number]), {"batch-batch": batch.name})
    html = response.content.decode()
    assert f"Run {plain.number} is already in another batch: a run is in one batch at most." in html
    assert "SECRET" not in html
    assert Run.objects.get(pk=plain.pk).batch == secret


def test_a_cleared_planner_is_told_which_batch_holds_the_run(planner_client, batch, secret):
    plain = Run.objects.get(batch=secret, export_controlled=False)
    response = planner_client.post(reverse("runs:batch-add", args=[batch.pk]), {"runs": [plain.number]})
    assert f"Run {plain.number} is already in batch “SECRET”" in response.content.decode()


def test_the_page_counts_only_the_runs_created_in_it_that_the_user_may_see(
    client, planner, uncleared_planner, part, v1
):
    plain = RunRequest(part_id=part.pk, procedure_version_id=v1.pk)
    controlled = RunRequest(part_id=part.pk, procedure_version_id=v1.pk, export_controlled=True)
    runs = create_runs(user=planner, requests=[plain, plain, controlled], batch_name="Launch")
    batch = runs[0].batch
    # Out of the batch again, so the batch itself is visible to the uncleared.
    remove_run_from_batch(actor=planner, batch=batch, run=runs[2])
    for user, count in ((planner, 3), (uncleared_planner, 2)):
        client.force_login(user)
        html = client.get(page_url(batch)).content.decode()
        assert f"<strong>Created</strong> with {count} runs" in html


def test_the_created_page_does_not_name_a_batch_hidden_since(client, planner, uncleared_planner, part, v1):
    request = RunRequest(part_id=part.pk, procedure_version_id=v1.pk)
    mine = create_runs(user=uncleared_planner, requests=[request], batch_name="SECRET-LATER")
    batch = mine[0].batch
    controlled = dataclasses.replace(request, export_controlled=True)
    add_runs_to_batch(actor=planner, batch=batch, runs=create_runs(user=planner, requests=[controlled]))
    client.force_login(uncleared_planner)
    html = client.get(reverse("runs:created", args=[mine[0].creation_token])).content.decode()
    assert f"#{mine[0].number}" in html
    assert "SECRET-LATER" not in html
    assert page_url(batch) not in html


def test_a_batch_hidden_since_the_page_was_loaded_takes_no_runs(uncleared_planner, part, v1, secret):
    # The uncleared planner's page offered the batch before a controlled run joined it:
    # the service checks again under the batch's lock, and names nothing in it.
    request = RunRequest(part_id=part.pk, procedure_version_id=v1.pk)
    mine = create_runs(user=uncleared_planner, requests=[request])
    with pytest.raises(RunChangeError) as refused:
        add_runs_to_batch(actor=uncleared_planner, batch=secret, runs=mine)
    assert refused.value.messages == ["This batch no longer exists or is not visible to you."]
    assert Run.objects.get(pk=mine[0].pk).batch is None


# Coming back to a refused form ------------------------------------------------------------


def ticked_boxes(html: str) -> set[int]:
    """The run numbers whose picker checkbox is ticked."""
    return {int(n) for n in re.findall(r'name="runs" value="(\d+)" checked', html)}


def test_the_new_batch_address_shows_the_form_after_a_refused_name(planner_client, batch):
    url = reverse("runs:batch-new")
    refused = planner_client.post(url, {"name": "Week 12"})
    assert "already exists" in refused.content.decode()
    # Reloading, bookmarking or sharing the address the refusal left is a GET of it.
    response = planner_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<form class="batch-new" method="post" action="{url}">' in html
    assert 'name="name"' in html
    assert "field-error" not in html
    assert f'<a href="{page_url(batch)}">Week 12</a>' in html


def test_operators_may_not_open_the_new_batch_address(client, operator):
    client.force_login(operator)
    assert client.get(reverse("runs:batch-new")).status_code == 403


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_refused_add_keeps_the_ticked_runs_ticked(planner_client, planner, make_runs, v1, v2, htmx):
    empty = create_batch(actor=planner, name="Empty")
    mixed = make_runs(v1) + make_runs(v2)
    unticked = make_runs(v1)[0]
    response = planner_client.post(
        reverse("runs:batch-add", args=[empty.pk]), {"runs": numbers(mixed)}, **(HTMX if htmx else {})
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "share one procedure version" in html
    assert f'value="{unticked.number}"' in html
    assert ticked_boxes(html) == set(numbers(mixed))
    assert members(empty) == set()


def test_ticked_runs_past_the_pickers_cut_are_shown_ticked_after_a_refusal(
    planner_client, planner, make_runs, v1, v2
):
    empty = create_batch(actor=planner, name="Empty")
    # Found by searching, older than the twenty newest the unsearched picker shows.
    old = make_runs(v1) + make_runs(v2)
    make_runs(v1, 20)
    html = planner_client.post(
        reverse("runs:batch-add", args=[empty.pk]), {"runs": numbers(old)}
    ).content.decode()
    assert "share one procedure version" in html
    assert ticked_boxes(html) == set(numbers(old))
    assert "20 of 22 runs" in html


def test_a_refused_add_keeps_the_real_runs_ticked_among_missing_and_junk(
    planner_client, batch, make_runs, v1
):
    good = make_runs(v1)[0]
    sent = [good.number, 99_999, "12; DROP TABLE", "-4", str(2**31)]
    html = planner_client.post(reverse("runs:batch-add", args=[batch.pk]), {"runs": sent}).content.decode()
    assert "Pick the runs from the list." in html
    assert ticked_boxes(html) == {good.number}
    html = planner_client.post(
        reverse("runs:batch-add", args=[batch.pk]), {"runs": [good.number, 99_999]}
    ).content.decode()
    assert "There is no run 99999." in html
    assert ticked_boxes(html) == {good.number}
