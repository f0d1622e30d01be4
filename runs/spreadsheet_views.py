"""Import runs from a spreadsheet onto Review; download the import template; export the Runs page."""

import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.files.storage import default_storage
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from ion_runs.jobs.access import get_job_for_user
from ion_runs.jobs.models import Job, JobKind, JobStatus
from ion_runs.jobs.running import start_job
from runs import tasks
from runs.review import WIZARD_ID
from runs.spreadsheets import exporting, template
from runs.spreadsheets.columns import COLUMNS, REQUIRED
from runs.spreadsheets.forms import ImportForm
from runs.spreadsheets.importing import import_runs
from runs.spreadsheets.reading import MAX_ROWS
from runs.wizard import offer_batch

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _wizard_id(request) -> str:
    """The wizard the planner came from (its Review gets the rows), or a new one."""
    wizard_id = request.GET.get("wizard", "")
    return wizard_id if WIZARD_ID.match(wizard_id) else secrets.token_urlsafe(9)


@login_required
@permission_required("runs.add_run", raise_exception=True)
@require_http_methods(["GET", "POST"])
def import_page(request):
    """The upload form; a file that reads is checked and put on Review, a large one by a job."""
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        sheet = form.cleaned_data["file"]
        wizard_id = _wizard_id(request)
        if len(sheet.rows) > settings.IMPORT_IN_BACKGROUND_ABOVE:
            job = _import_job(request, sheet, wizard_id)
            return HttpResponseClientRedirect(job.get_absolute_url()) if request.htmx else redirect(job)
        result = import_runs(user=request.user, sheet=sheet)
        review = _land_on_review(
            request,
            wizard_id,
            imported=len(result.drafts),
            invalid=result.invalid,
            filename=sheet.filename,
            batch_name=result.batch_name,
        )
        return HttpResponseClientRedirect(review) if request.htmx else redirect(review)
    context = {
        "form": form,
        "wizard": request.GET.get("wizard", "") if WIZARD_ID.match(request.GET.get("wizard", "")) else "",
        "columns": COLUMNS,
        "required": REQUIRED,
        "max_rows": MAX_ROWS,
    }
    page = "runs/import.html#import-form" if request.htmx else "runs/import.html"
    return render(request, page, context)


def _import_job(request, sheet, wizard_id: str):
    """The upload, kept where every host's worker can read it, and a job to check its rows."""
    upload = request.FILES["file"]
    upload.seek(0)
    stored = default_storage.save(
        f"jobs/uploads/{secrets.token_hex(8)}.{upload.name.rsplit('.', 1)[-1]}", upload
    )
    count = len(sheet.rows)
    return start_job(
        tasks.import_spreadsheet,
        owner=request.user,
        kind=JobKind.IMPORT,
        title=f"Import {sheet.filename} ({count:,} row{pluralize(count)})",
        params={"upload": stored, "filename": sheet.filename, "wizard": wizard_id},
        total=count,
    )


def _land_on_review(request, wizard_id: str, *, imported: int, invalid: int, filename: str, batch_name: str):
    """Say what the import put on Review (and offer its batch there); Review's address."""
    summary = f"Imported {imported} row{pluralize(imported)} from {filename}."
    if invalid:
        one = invalid == 1
        summary += (
            f" {invalid} {'has' if one else 'have'} problems, shown at the row: "
            f"fix or remove {'it' if one else 'them'} before creating."
        )
    messages.success(request, summary)
    if batch_name:
        offer_batch(request, wizard_id, batch_name)
        messages.info(request, f"The file puts its runs in batch “{batch_name}”, named below.")
    return reverse("runs:wizard-step", kwargs={"wizard_id": wizard_id, "step": "review"})


@login_required
@permission_required("runs.add_run", raise_exception=True)
@require_GET
def import_landed(request, pk: int):
    """From a finished import job to the Review its rows went to (only its owner has that Review)."""
    job = get_job_for_user(request.user, pk)
    if job.owner_id != request.user.pk or job.kind != JobKind.IMPORT or job.status != JobStatus.DONE:
        raise Http404("No import of yours with that number has finished.")
    result = job.result_data
    review = reverse("runs:wizard-step", kwargs={"wizard_id": job.params["wizard"], "step": "review"})
    # Said and offered once: opened again later (from Jobs), the rows may be created already.
    if Job.objects.filter(pk=job.pk, result_data__landed__isnull=True).update(
        result_data={**result, "landed": True}
    ):
        _land_on_review(
            request,
            job.params["wizard"],
            imported=result["imported"],
            invalid=result["invalid"],
            filename=result["filename"],
            batch_name=result["batch_name"],
        )
    return redirect(review)


@login_required
@permission_required("runs.add_run", raise_exception=True)
@require_GET
def import_template(request, fmt):
    if fmt == "csv":
        response = HttpResponse(template.template_csv(request.user), content_type="text/csv; charset=utf-8")
    elif fmt == "xlsx":
        response = HttpResponse(template.template_xlsx(request.user), content_type=XLSX)
    else:
        raise Http404("No such format")
    response["Content-Disposition"] = f'attachment; filename="runs-import-template.{fmt}"'
    return response


@login_required
@permission_required("runs.view_run", raise_exception=True)
@require_GET
def export(request, fmt):
    """The Runs page's runs, as its query string filters and sorts them, every page of them.

    A large export is a job: the planner watches its progress instead of a stalled download.
    """
    if fmt not in ("csv", "xlsx"):
        raise Http404("No such format")
    export = exporting.Export(request.user, request.GET)
    above = settings.EXPORT_IN_BACKGROUND_ABOVE
    if export.runs.order_by()[: above + 1].count() > above:
        return redirect(_export_job(request, fmt))
    return exporting.csv_response(export) if fmt == "csv" else exporting.xlsx_response(export)


def _export_job(request, fmt: str):
    """A job writing the export; the same export asked for again while it runs is that job.

    Pressing Download twice, or reloading, must not start the same 100,000-row export twice.
    """
    params = {"query": request.GET.urlencode(), "format": fmt}
    running = Job.objects.filter(
        owner=request.user,
        kind=JobKind.EXPORT,
        params=params,
        status__in=[JobStatus.QUEUED, JobStatus.RUNNING],
    ).first()
    if running:
        return running
    return start_job(
        tasks.export_runs,
        owner=request.user,
        kind=JobKind.EXPORT,
        title=f"Export runs as {fmt.upper()}",
        params=params,
    )
