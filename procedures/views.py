from django.http import HttpResponse


def placeholder(request, pk=None):
    return HttpResponse("todo")


procedure_list = procedure_detail = inventory_list = inventory_detail = placeholder
