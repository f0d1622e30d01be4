from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from inventory.models import InventoryStatus, Part, PartInventory
from ion_runs.search import search_text


def visible_inventory(user):
    return PartInventory.objects.filter(part__in=Part.objects.visible_to(user)).select_related("part")


def get_inventory_for_user(request, pk) -> PartInventory:
    """A unit of the user's organisation whose part they may see, or 404."""
    return get_object_or_404(visible_inventory(request.user), pk=pk)


@login_required
@permission_required("inventory.view_partinventory", raise_exception=True)
@require_GET
def inventory_list(request):
    query = search_text(request)
    status = request.GET.get("status", "")
    units = visible_inventory(request.user).order_by("part__number", "serial_number", "lot_number", "pk")
    if query:
        units = units.filter(
            Q(serial_number__icontains=query)
            | Q(lot_number__icontains=query)
            | Q(part__number__icontains=query)
            | Q(location__icontains=query)
        )
    if status in InventoryStatus.values:
        units = units.filter(status=status)
    page = Paginator(units, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "inventory/list.html",
        {"page": page, "query": query, "status": status, "statuses": InventoryStatus.choices},
    )


@login_required
@permission_required("inventory.view_partinventory", raise_exception=True)
@require_GET
def inventory_detail(request, pk):
    unit = get_inventory_for_user(request, pk)
    runs = unit.runs.visible_to(request.user).select_related("procedure_version").order_by("-number")[:20]
    return render(request, "inventory/detail.html", {"unit": unit, "runs": runs})
