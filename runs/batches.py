"""Batches after creation (SPEC §9): the Batches list, a batch's page, and what a planner
changes there: the name, and which runs are in it.

The batch page is one template; its body (facts, runs, the picker of runs to add, the
history) is the region htmx swaps after a change, the picker's results the region a search
swaps. Without JavaScript every form posts and redirects back. Batches a user may not see
(another organisation's, or holding an export-controlled run for the uncleared) are 404.
"""

from collections import defaultdict

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Case, Count, Min, Q, When
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from ion_runs.search import search_text
from procedures.models import ProcedureVersion
from runs.access import PLANNER_PERMISSION, get_batch_for_user, get_run_for_user, visible_runs
from runs.execution.batch_progress import step_progress
from runs.forms import picker_results
from runs.models import Run, RunBatch, RunEvent, RunEventKind
from runs.paging import PAGE_SIZE, numbered_page, requested_page, wants_partial
from runs.run_actions import Notice
from runs.run_filters import search_condition
from runs.services import (
    UNSEEN,
    RunChangeError,
    StaleChange,
    add_runs_to_batch,
    create_batch,
    remove_run_from_batch,
    rename_batch,
)

LIST_TEMPLATE = "runs/batches/list.html"
PAGE_TEMPLATE = "runs/batches/detail.html"
HISTORY_SHOWN = 50
BATCH_RELATED = ("part", "part_inventory", "assigned_user", "assigned_team")
NAME_LENGTH = RunBatch._meta.get_field("name").max_length


class BatchNameForm(forms.Form):
    name = forms.CharField(max_length=NAME_LENGTH, label="Batch name")
    seen = forms.CharField(required=False, widget=forms.HiddenInput, strip=False)


class RunNumbersField(forms.Field):
    """Run numbers, as the picker's checkboxes send them (`runs=12&runs=13`)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"required": "Tick the runs to add.", "invalid": "Pick the runs from the list."}

    def to_python(self, value) -> list[int]:
        try:
            numbers = sorted({int(v) for v in value or ()})
        except (TypeError, ValueError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if any(not 0 < n < 2**31 for n in numbers):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return numbers


class AddRunsForm(forms.Form):
    runs = RunNumbersField(label="Runs to add")

    def __init__(self, data, *, user):
        super().__init__(data)
        self.user = user

    def clean_runs(self) -> list[Run]:
        """The runs, each one the user can see; a number they cannot is answered as missing."""
        numbers = self.cleaned_data["runs"]
        runs = list(visible_runs(self.user).filter(number__in=numbers))
        if missing := sorted(set(numbers) - {run.number for run in runs}):
            raise forms.ValidationError(f"There is no run {', '.join(map(str, missing))}.")
        return runs

    def ticked(self) -> set[int]:
        """The run numbers sent, junk left out, so a refused add shows those runs ticked again."""
        values = self.data.getlist(self.add_prefix("runs"))
        return {int(v) for v in values if v.isascii() and v.isdigit() and 0 < int(v) < 2**31}


@login_required
@permission_required("runs.view_runbatch", raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def batch_list(request):
    return render_batch_list(request, BatchNameForm())


def render_batch_list(request, form):
    """The Batches list (the `q` searched names, newest first), or with htmx its table only."""
    query = search_text(request)
    batches = RunBatch.objects.visible_to(request.user).select_related("created_by")
    if query:
        batches = batches.filter(name__icontains=query)
    page = Paginator(batches.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(requested_page(request))
    describe(page.object_list)
    context = {"page": page, "query": query, "form": form}
    template = f"{LIST_TEMPLATE}#batch-table" if wants_partial(request) else LIST_TEMPLATE
    return render(request, template, context)


def describe(batches) -> None:
    """Give each batch its `run_count` and `version` (one, None, or "mixed"), in two queries."""
    counts, versions = defaultdict(int), defaultdict(set)
    rows = (
        Run.objects.filter(batch__in=batches)
        .order_by()
        .values_list("batch_id", "procedure_version_id")
        .annotate(n=Count("pk"))
    )
    for batch_id, version_id, n in rows:
        counts[batch_id] += n
        versions[batch_id].add(version_id)
    loaded = ProcedureVersion.objects.in_bulk({v for vs in versions.values() for v in vs} - {None})
    for batch in batches:
        batch.run_count = counts[batch.pk]
        ids = versions[batch.pk]
        batch.version = loaded.get(next(iter(ids))) if len(ids) == 1 else ("mixed" if ids else None)
        batch.no_procedure = ids == {None}


@login_required
@permission_required(PLANNER_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def batch_new(request):
    # A refused name leaves this address in the browser: a reload or a link shows the list's form.
    if request.method == "GET":
        return render_batch_list(request, BatchNameForm())
    form = BatchNameForm(request.POST)
    if form.is_valid():
        try:
            batch = create_batch(actor=request.user, name=form.cleaned_data["name"])
        except RunChangeError as error:
            form.add_error("name", error.messages)
        else:
            messages.success(request, f"Batch “{batch}” is made: add runs to it below.")
            return redirect("runs:batch", pk=batch.pk)
    return render_batch_list(request, form)


@login_required
@permission_required("runs.view_runbatch", raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def batch_detail(request, pk):
    batch = get_batch_for_user(request, pk)
    if wants_partial(request) and request.htmx.target == "picker-results":
        describe([batch])
        return render(request, f"{PAGE_TEMPLATE}#picker-results", picker_context(request, batch))
    return render_batch_page(request, batch)


def render_batch_page(request, batch, *, rename_form=None, add_form=None, notice=None):
    """The batch page, or with htmx its body only: after a change, everything in it may differ."""
    user = request.user
    runs = visible_runs(user).filter(batch=batch).order_by("number")
    describe([batch])
    progress, next_step = step_progress(user, batch)
    context = {
        "batch": batch,
        "progress": progress,
        "next_step": next_step,
        "page": numbered_page(request, runs, BATCH_RELATED),
        "rename_form": rename_form or BatchNameForm(initial={"name": batch.name, "seen": batch.name}),
        "add_form": add_form,
        "notice": notice,
        "events": batch_history(user, batch),
        "created_with": RunEvent.objects.filter(
            batch=batch, kind=RunEventKind.CREATED, run__in=visible_runs(user)
        ).count(),
        **(
            picker_context(request, batch, ticked=add_form.ticked() if add_form else frozenset())
            if user.has_perm(PLANNER_PERMISSION)
            else {}
        ),
    }
    if wants_partial(request):
        return render(request, f"{PAGE_TEMPLATE}#batch-body", context)
    return render(request, PAGE_TEMPLATE, context)


def batch_history(user, batch) -> list[RunEvent]:
    """The newest of the batch's events: runs joining and leaving it, and its renames.

    A rename is written on each of its runs at one moment (record_renamed), or on no run
    when it held none: the page shows it once, by the first of those events.

    A rename on no run is shown only to those who may see every run the batch ever held: a
    planner who empties a batch of export-controlled runs and renames it must not leave its
    earlier name in view of the uncleared.
    """
    visible = visible_runs(user)
    held_hidden = RunEvent.objects.filter(batch=batch, run__isnull=False).exclude(run__in=visible).exists()
    seen = Q(run__in=visible) if held_hidden else Q(run__in=visible) | Q(run__isnull=True)
    renames = (
        RunEvent.objects.filter(seen, batch=batch, kind=RunEventKind.BATCH_RENAMED)
        .order_by()
        .values("at", "before", "after")
        .annotate(first=Min("pk"))
        .values("first")
    )
    batching = Q(batch=batch, kind__in=RunEventKind.batching(), run__in=visible)
    return list(
        RunEvent.objects.filter(batching | Q(pk__in=renames)).select_related("run", "actor")[:HISTORY_SHOWN]
    )


def picker_context(request, batch, *, ticked=frozenset()) -> dict:
    """Open runs in no batch that could join this one (described): on its version, when it has runs.

    `ticked` are the run numbers of a refused add: those runs come first, still ticked, so the
    planner can untick the wrong one without finding the others again past the list's cut.
    """
    query = search_text(request, "find")
    candidates = visible_runs(request.user).open().filter(batch__isnull=True)
    if batch.version == "mixed":
        candidates = candidates.none()  # Made before the rule: no version would do.
    elif batch.version is not None:
        candidates = candidates.filter(procedure_version=batch.version)
    elif batch.no_procedure:
        candidates = candidates.filter(procedure_version__isnull=True)
    matching = candidates.filter(search_condition(request.user, query)) if query else candidates
    order = ["-number"]
    if ticked:
        order.insert(0, Case(When(number__in=ticked, then=0), default=1))
    matching = matching.select_related("part", "part_inventory", "procedure_version").order_by(*order)
    results = picker_results(candidates, matching)
    return {
        "batch": batch,
        "find": query,
        "ticked": ticked,
        "candidates": results,
        "refusals": [] if results.choices or not query else refusals(request.user, batch, query),
    }


def refusals(user, batch, query: str) -> list[str]:
    """Why the open runs the planner searched for cannot join the batch (another procedure
    version, another batch), in the words adding them would be refused with, as on the run page."""
    searched = (
        visible_runs(user)
        .open()
        .filter(search_condition(user, query))
        .exclude(batch=batch)
        .select_related("batch", "procedure_version")
        .order_by("-number")[:3]
    )
    return [problem for run in searched for problem in batch.problems_adding([run], user=user)]


@login_required
@permission_required(PLANNER_PERMISSION, raise_exception=True)
@require_POST
def batch_rename(request, pk):
    batch = get_batch_for_user(request, pk)
    form = BatchNameForm(request.POST)
    if not form.is_valid():
        return render_batch_page(request, batch, rename_form=form)
    try:
        # A client that sent no `seen` showed no name: nothing to be stale against.
        seen = form.cleaned_data["seen"] if "seen" in request.POST else UNSEEN
        rename_batch(actor=request.user, batch=batch, name=form.cleaned_data["name"], seen=seen)
    except StaleChange as stale:
        return render_batch_page(
            request, get_batch_for_user(request, pk), notice=Notice(" ".join(stale.messages), "warning")
        )
    except RunChangeError as error:
        form.add_error("name", error.messages)
        return render_batch_page(request, batch, rename_form=form)
    if not wants_partial(request):
        messages.success(request, f"The batch is now called “{form.cleaned_data['name']}”.")
        return redirect("runs:batch", pk=pk)
    batch = get_batch_for_user(request, pk)
    return render_batch_page(
        request, batch, notice=Notice(f"The batch is now called “{batch.name}”.", "success")
    )


@login_required
@permission_required(PLANNER_PERMISSION, raise_exception=True)
@require_POST
def batch_add(request, pk):
    batch = get_batch_for_user(request, pk)
    form = AddRunsForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            joined = add_runs_to_batch(actor=request.user, batch=batch, runs=form.cleaned_data["runs"])
        except RunChangeError as error:
            form.add_error("runs", error.messages)
        else:
            numbers = ", ".join(str(run.number) for run in sorted(joined, key=lambda run: run.number))
            done = (
                f"Added run{'s' if len(joined) != 1 else ''} {numbers} to the batch."
                if joined
                else "Those runs are in the batch already."
            )
            if not wants_partial(request):
                messages.success(request, done)
                return redirect("runs:batch", pk=pk)
            return render_batch_page(request, get_batch_for_user(request, pk), notice=Notice(done, "success"))
    return render_batch_page(request, batch, add_form=form)


@login_required
@permission_required(PLANNER_PERMISSION, raise_exception=True)
@require_POST
def batch_remove(request, pk, number):
    batch = get_batch_for_user(request, pk)
    run = get_run_for_user(request, number)
    try:
        remove_run_from_batch(actor=request.user, batch=batch, run=run)
    except RunChangeError as error:
        notice = Notice(" ".join(error.messages), "warning")
    else:
        done = f"Run {run.number} is no longer in the batch."
        if not wants_partial(request):
            messages.success(request, done)
            return redirect("runs:batch", pk=pk)
        notice = Notice(done, "success")
    return render_batch_page(request, get_batch_for_user(request, pk), notice=notice)
