"""Downloads of travelers and labels from the run page, the batch page and the created page.

Each view finds its runs through the access helpers, as its page does: a run or batch the
user may not see is a 404 (for the uncleared, a batch holding an export-controlled run is
hidden whole, PDFs included), and the created page's runs are those the user may see.
"""

import io

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, HttpResponseBadRequest
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from ion_runs.jobs.models import JobKind
from ion_runs.jobs.running import start_job
from runs.access import get_batch_for_user, get_run_for_user, hide_hidden_batches
from runs.models import Run
from runs.paper.labels import DEFAULT_LAYOUT, LAYOUTS, labels_pdf
from runs.paper.printing import printable_runs, run_url, travelers_for
from runs.tasks import print_travelers

VIEW_RUNS = "runs.view_run"


@login_required
@permission_required(VIEW_RUNS, raise_exception=True)
@require_GET
def run_traveler(request, number):
    run = get_run_for_user(request, number)
    return travelers(request, [run], f"run-{run.number}-traveler.pdf")


@login_required
@permission_required(VIEW_RUNS, raise_exception=True)
@require_GET
def run_labels(request, number):
    run = get_run_for_user(request, number)
    return labels(request, [run], f"run-{run.number}")


@login_required
@permission_required(VIEW_RUNS, raise_exception=True)
@permission_required("runs.view_runbatch", raise_exception=True)
@require_GET
def batch_travelers(request, pk):
    batch = get_batch_for_user(request, pk)
    return travelers(request, batch_runs(request, batch), f"batch-{batch.pk}-travelers.pdf")


@login_required
@permission_required(VIEW_RUNS, raise_exception=True)
@permission_required("runs.view_runbatch", raise_exception=True)
@require_GET
def batch_labels(request, pk):
    batch = get_batch_for_user(request, pk)
    return labels(request, batch_runs(request, batch), f"batch-{batch.pk}")


@login_required
@permission_required(VIEW_RUNS, raise_exception=True)
@require_GET
def created_travelers(request, token):
    runs = created_runs(request, token)
    return travelers(request, runs, f"runs-{runs[0].number}-{runs[-1].number}-travelers.pdf")


@login_required
@permission_required(VIEW_RUNS, raise_exception=True)
@require_GET
def created_labels(request, token):
    runs = created_runs(request, token)
    return labels(request, runs, f"runs-{runs[0].number}-{runs[-1].number}")


def batch_runs(request, batch) -> list[Run]:
    """The batch's runs as its page lists them: those the user may see, by number."""
    return list(printable_runs(request.user).filter(batch=batch).order_by("number"))


def created_runs(request, token) -> list[Run]:
    """The runs made by one create, as the created page lists them; 404 when there are none to see."""
    runs = list(printable_runs(request.user).filter(creation_token=token).order_by("number"))
    if not runs:
        raise Http404("No runs were created with this link.")
    # The batch may have taken in an export-controlled run since: then it is not named.
    hide_hidden_batches(request.user, runs)
    return runs


def travelers(request, runs: list[Run], filename: str):
    """The travelers PDF at once; for more runs than a request should hold, a job to watch."""
    if len(runs) > settings.TRAVELERS_IN_BACKGROUND_ABOVE:
        return redirect(travelers_job(request, runs, filename))
    pdf = travelers_for(request.user, runs, url_for=run_url(request))
    return FileResponse(
        io.BytesIO(pdf), as_attachment=True, filename=filename, content_type="application/pdf"
    )


def travelers_job(request, runs: list[Run], filename: str):
    return start_job(
        print_travelers,
        owner=request.user,
        kind=JobKind.TRAVELERS,
        title=f"Travelers for {len(runs):,} runs ({filename})",
        params={
            "runs": [run.pk for run in runs],
            "filename": filename,
            # The worker has no request: the QR codes open the run pages on the host asked.
            "site": request.build_absolute_uri("/"),
        },
        total=len(runs),
    )


def labels(request, runs: list[Run], name: str):
    key = request.GET.get("layout") or DEFAULT_LAYOUT
    layout = LAYOUTS.get(key)
    if layout is None:
        return HttpResponseBadRequest(
            f"There is no label layout “{key}”: ask for {', '.join(LAYOUTS)}.",
            content_type="text/plain; charset=utf-8",
        )
    pdf = labels_pdf(runs, url_for=run_url(request), layout=layout)
    return FileResponse(
        io.BytesIO(pdf),
        as_attachment=True,
        filename=f"{name}-labels-{key}.pdf",
        content_type="application/pdf",
    )
