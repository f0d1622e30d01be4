"""Import runs from a spreadsheet onto Review; download the import template; export the Runs page."""

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

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
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        sheet = form.cleaned_data["file"]
        result = import_runs(user=request.user, sheet=sheet)
        count = len(result.drafts)
        summary = f"Imported {count} row{pluralize(count)} from {sheet.filename}."
        if result.invalid:
            one = result.invalid == 1
            summary += (
                f" {result.invalid} {'has' if one else 'have'} problems, shown at the row: "
                f"fix or remove {'it' if one else 'them'} before creating."
            )
        messages.success(request, summary)
        wizard_id = _wizard_id(request)
        if result.batch_name:
            offer_batch(request, wizard_id, result.batch_name)
            messages.info(request, f"The file puts its runs in batch “{result.batch_name}”, named below.")
        review = reverse("runs:wizard-step", kwargs={"wizard_id": wizard_id, "step": "review"})
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
    """The Runs page's runs, as its query string filters and sorts them, every page of them."""
    if fmt == "csv":
        return exporting.csv_response(request.user, request.GET)
    if fmt == "xlsx":
        return exporting.xlsx_response(request.user, request.GET)
    raise Http404("No such format")
