"""Request hygiene that every view, form and filter relies on."""

from django.conf import settings
from django.http import QueryDict

NUL = "\x00"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def has_nul(query: QueryDict) -> bool:
    return any(NUL in key or NUL in value for key, values in query.lists() for value in values)


def without_nul(query: QueryDict) -> QueryDict:
    clean = QueryDict(mutable=True)
    for key, values in query.lists():
        clean.setlist(key.replace(NUL, ""), [value.replace(NUL, "") for value in values])
    clean._mutable = False
    return clean


class StripNulCharactersMiddleware:
    """Drop NUL characters from query strings and posted forms.

    Nobody types one, and PostgreSQL refuses them in text: a NUL in any search box or
    field would otherwise reach a query as a server error. Stripping them here covers
    every form and filter at once.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "%00" in request.META.get("QUERY_STRING", ""):
            request.GET = without_nul(request.GET)
        if request.method == "POST" and request.content_type in FORM_TYPES and has_nul(request.POST):
            request.POST = without_nul(request.POST)
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Send the Permissions-Policy header on every response, static files and errors included.

    The app uses none of `settings.PERMISSIONS_POLICY_DENIED`, so no page (nor anything
    injected into one, nor a frame inside one) may ask the browser for them.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = ", ".join(f"{feature}=()" for feature in settings.PERMISSIONS_POLICY_DENIED)

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy:
            response.headers.setdefault("Permissions-Policy", self.policy)
        return response
