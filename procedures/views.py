from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from ion_runs.search import search_text
from procedures.models import ProcedureStep, ProcedureVersion, StepField, VersionStatus


def get_version_for_user(request, pk) -> ProcedureVersion:
    """A procedure version of the user's organisation they may see, or 404."""
    return get_object_or_404(ProcedureVersion.objects.visible_to(request.user), pk=pk)


@login_required
@permission_required("procedures.view_procedureversion", raise_exception=True)
@require_GET
def procedure_list(request):
    query = search_text(request)
    versions = (
        ProcedureVersion.objects.visible_to(request.user)
        .exclude(status__in=[VersionStatus.SUPERSEDED, VersionStatus.ARCHIVED])
        .prefetch_related("parts")
        .order_by("title", "-number")
    )
    if query:
        versions = versions.filter(Q(title__icontains=query) | Q(parts__number__icontains=query)).distinct()
    page = Paginator(versions, 50).get_page(request.GET.get("page"))
    return render(request, "procedures/list.html", {"page": page, "query": query})


@login_required
@permission_required("procedures.view_procedureversion", raise_exception=True)
@require_GET
def procedure_detail(request, pk):
    version = get_version_for_user(request, pk)
    steps = ProcedureStep.objects.filter(version=version).prefetch_related(
        Prefetch("fields", queryset=StepField.objects.order_by("position"))
    )
    family = ProcedureVersion.objects.visible_to(request.user).filter(procedure_id=version.procedure_id)
    return render(
        request,
        "procedures/detail.html",
        {
            "version": version,
            "steps": steps,
            "family": family.order_by("-number"),
            "parts": version.parts.visible_to(request.user),
            "runnable": version.is_runnable,
        },
    )
