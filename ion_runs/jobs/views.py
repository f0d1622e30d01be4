"""The Jobs list and a job's page, whose progress htmx polls until the job finishes (SPEC §13)."""

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_htmx.http import HTMX_STOP_POLLING, HttpResponseClientRedirect

from ion_runs.jobs.access import get_job_for_user
from ion_runs.jobs.models import Job

PAGE_SIZE = 50


@login_required
@require_GET
def job_list(request):
    jobs = Job.objects.visible_to(request.user).select_related("owner")
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    for job in page.object_list:
        job.result_visible = job.result_visible_to(request.user)
    return render(request, "jobs/list.html", {"page": page, "jobs": page.object_list})


@never_cache
@require_GET
def job_detail(request, pk: int):
    """The job's page; polled by htmx for its progress region, which stops the polling
    (HTTP 286) once the job has finished, or has gone (expired, or the session ended)."""
    polled = request.htmx and not request.htmx.history_restore_request
    if not request.user.is_authenticated:
        login = redirect_to_login(request.get_full_path())
        # Not the login page swapped into the progress bar: the whole page goes there.
        return HttpResponseClientRedirect(login["Location"]) if polled else login
    try:
        job = get_job_for_user(request.user, pk)
    except Http404:
        if not polled:
            raise
        return render(request, "jobs/detail.html#gone", status=HTMX_STOP_POLLING)
    context = {"job": job, "result_visible": job.result_visible_to(request.user)}
    if polled:
        status = HTMX_STOP_POLLING if job.finished else 200
        return render(request, "jobs/detail.html#progress", context, status=status)
    return render(request, "jobs/detail.html", context)


@login_required
@require_GET
def job_download(request, pk: int):
    job = get_job_for_user(request.user, pk)
    if not job.result_file or not job.result_visible_to(request.user):
        raise Http404("This job has no file for you to download (it may have expired).")
    try:
        content = job.result_file.open("rb")
    except FileNotFoundError:
        raise Http404("This job's file has expired.") from None
    return FileResponse(content, as_attachment=True, filename=job.result_name)
