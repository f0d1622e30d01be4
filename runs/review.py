from django.http import HttpResponse


def draft_row(request, draft_id):
    return HttpResponse("row")


created = draft_row
