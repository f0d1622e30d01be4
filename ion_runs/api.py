"""The JSON API at /api/v1/ (SPEC §8): auth, error bodies, docs, and one router per app.

Every endpoint starts from `request.auth` (the token's user) and uses the same access
helpers as the views. Errors, whatever raised them, answer with one body shape, built in
`error_response()`: `{"detail": …, "errors": [{"row", "field", "message"}], "batch_errors": […]}`.

This module imports none of the feature apps (runs, procedures, inventory): their routers
import their helpers from it, and `ion_runs/urls.py`, where the URLs are assembled, mounts them on `api`.
"""

import json
import re
import unicodedata
from datetime import date
from typing import Annotated

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.signals import got_request_exception
from django.http import Http404, HttpRequest, HttpResponse, RawPostDataException
from django.template import RequestContext, Template
from django.utils.log import log_response
from django.views.decorators.csrf import csrf_exempt
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import Swagger
from ninja.parser import Parser
from ninja.security import HttpBearer
from pydantic import BeforeValidator, StringConstraints

from ion_runs.accounts.models import ApiToken, User
from ion_runs.search import SEARCH_LENGTH


class TokenAuth(HttpBearer):
    """`Authorization: Bearer ion_…`: the token's user, or None (401). No session, no CSRF."""

    openapi_description = "A personal API token (`manage.py create_api_token USERNAME --name NAME`)."

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = ApiToken.authenticate(token)
        if user is not None:
            # The access helpers and the filter form read request.user, as in the views.
            request.user = user
        return user


class ErrorItem(Schema):
    row: int | None = None
    field: str | None = None
    message: str


class ErrorOut(Schema):
    detail: str
    errors: list[ErrorItem] = []
    batch_errors: list[str] = []


# Reading runs is what every integration starts from: the "API tokens" page asks for it too,
# since a token of a user without it could do next to nothing.
USE_API = "runs.view_run"


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value):
    """Dates as the OpenAPI document says, `YYYY-MM-DD`: pydantic alone would also read a
    number as a Unix time, so `due_date: 0` would mean 1 January 1970."""
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        return value
    if value is None or isinstance(value, date):
        return value
    raise ValueError("Give a date as YYYY-MM-DD.")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]

SearchText = Annotated[str, Field(max_length=SEARCH_LENGTH)]


def plain_text(value: str, allowed: str = "") -> str:
    """`value`, if it holds nothing a database refuses.

    JSON can carry what no keyboard types: a NUL (PostgreSQL refuses it in text), other
    control characters, and half a UTF-16 pair (no database encoding can store it).
    `allowed` lists control characters that may stay (a note's line breaks).
    """
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in allowed for c in value):
        raise ValueError("Control characters and unpaired surrogates are not allowed.")
    return value


def _control_class(allowed: str) -> str:
    """The control characters (Unicode's Cc) but `allowed`, as ranges of a regex character class."""
    refused = [c for c in range(0x00, 0xA0) if unicodedata.category(chr(c)) == "Cc" and chr(c) not in allowed]
    ranges, start = [], refused[0]
    for previous, current in zip(refused, [*refused[1:], None], strict=True):
        if current != previous + 1:
            ranges.append(f"\\u{start:04x}" + (f"-\\u{previous:04x}" if previous != start else ""))
            start = current
    return "".join(ranges)


# What a barcode scanner, a station's line-based protocol or a pasted cell adds at the ends
# of a text: trimmed, never refused. Any other control character is refused wherever it is.
TRIMMED_ENDS = " \t\n\r"


def plain_text_pattern(allowed: str = "", *, not_blank: bool = False) -> str:
    """What `text_up_to` accepts (and, with `not_blank`, not only white space), for the OpenAPI
    document: a client generated from it knows the rule; `plain_text` still checks it, saying
    so in words rather than in a regex. Unpaired surrogates, which no pattern can name, are
    refused too."""
    control = _control_class(allowed)
    text = f"[^{control}]*[^\\s{control}][^{control}]*" if not_blank else f"[^{control}]*"
    return f"^[ \\t\\n\\r]*{text}[ \\t\\n\\r]*$"


def text_up_to(max_length: int, *, allowed: str = "", not_blank: bool = False):
    """The type of a text field of at most `max_length` characters, trimmed as a form would.

    Control characters are checked once the line breaks and tabs at the ends are trimmed, so
    none other is trimmed away unseen: the document's pattern calls `"SN-1\\u001f"` invalid, and
    the API agrees, and both take `"SN-1\\r\\n"` as `"SN-1"`.
    """
    return Annotated[
        str,
        # Listed before the validator, so pydantic trims and measures in its own string check.
        StringConstraints(strip_whitespace=True, max_length=max_length),
        BeforeValidator(
            lambda value: plain_text(value.strip(TRIMMED_ENDS), allowed) if isinstance(value, str) else value
        ),
        Field(json_schema_extra={"pattern": plain_text_pattern(allowed, not_blank=not_blank)}),
    ]


def json_integer(value):
    """A JSON integer, which JSON Schema says `3.0` is too; never `true`, `"3"` or `3.5`."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("Input should be a valid integer")
    return value


# The ids the database can hold: a larger one is a 422 at its field, not an overflow.
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]

# What every authenticated endpoint may answer besides its success.
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class ApiError(Exception):
    """An error answer: raise it from an endpoint, `error_response()` shapes it."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: list[dict] | None = None,
        batch_errors: list[str] | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.batch_errors = batch_errors or []


NOTHING_CREATED = "The request is not valid; nothing was created."


def invalid(
    errors: list[dict], batch_errors: list[str] | None = None, detail: str = "The request is not valid."
) -> ApiError:
    """A 422 naming rows and fields: `errors` of {"row", "field", "message"}."""
    return ApiError(422, detail, errors, batch_errors)


def require(request: HttpRequest, permission: str) -> User:
    """The request's user, if they hold `permission`; otherwise a 403."""
    user = request.auth
    if not user.has_perm(permission):
        raise ApiError(403, f"Your account lacks the permission this needs ({permission}).")
    return user


def error_body(error: ApiError) -> dict:
    """The one shape every error answers with (also kept by a job for its API client)."""
    return {"detail": error.detail, "errors": error.errors, "batch_errors": error.batch_errors}


def error_response(request: HttpRequest, error: ApiError) -> HttpResponse:
    response = api.create_response(request, error_body(error), status=error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = "Bearer"
    return response


def _validation_errors(errors: list[dict]) -> list[dict]:
    """Pydantic's errors as rows and fields: ("body", "payload", "runs", 3, "part", …) → row 3, "part"."""
    items = []
    for error in errors:
        location = [part for part in error.get("loc", ()) if part not in ("body", "payload", "query", "path")]
        row = None
        if len(location) > 1 and location[0] == "runs" and isinstance(location[1], int):
            row, location = location[1], location[2:]
        names = [str(part) for part in location if not isinstance(part, int)]
        field = names[0] if row is not None and names else ".".join(names) or None
        # Our validators raise ValueError; pydantic prefixes its message with "Value error, ".
        message = error.get("msg", "Invalid value.").removeprefix("Value error, ")
        items.append({"row": row, "field": field, "message": message})
    return items


SWAGGER_PAGE = Template(
    """{% load static %}<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{{ title }}</title>
  <link rel="stylesheet" href="{% static 'ninja/swagger-ui.css' %}">
</head>
<body data-csrf-token="" data-api-csrf="">
  <script type="application/json" id="swagger-settings">{{ swagger_settings|safe }}</script>
  <div id="swagger-ui"></div>
  <script src="{% static 'ninja/swagger-ui-bundle.js' %}"></script>
  <script src="{% static 'ninja/swagger-ui-init.js' %}"></script>
</body>
</html>"""
)


class LocalSwagger(Swagger):
    """Swagger UI from django-ninja's own static files, never its CDN page.

    django-ninja falls back to a CDN template unless "ninja" is an installed app; this
    page is always the local one. It needs no CSP exemption: the settings are a JSON data
    block (not executed), read by django-ninja's `swagger-ui-init.js`; there is no inline
    script. The static files are found once "ninja" is in INSTALLED_APPS.
    """

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs) -> HttpResponse:
        settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        # `</` cannot end the data block early.
        data = json.dumps(settings).replace("</", "<\\/")
        context = RequestContext(request, {"title": api.title, "swagger_settings": data})
        return HttpResponse(SWAGGER_PAGE.render(context))


def not_json() -> ApiError:
    # A new error each time: one shared exception would keep every raise's frames alive.
    return ApiError(415, "Send the body as JSON, with Content-Type: application/json.")


class JsonBodies(Parser):
    """Bodies are JSON, as the OpenAPI document says; anything else is a 415, never guessed at.

    django-ninja wraps what this raises in a 400 HttpError; `_http_error` unwraps it.
    """

    def parse_body(self, request: HttpRequest):
        if request.content_type != "application/json":
            raise not_json()
        return super().parse_body(request)


class Api(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        """`<app>_api_<function>`, whichever module of the app's API holds the function, so
        splitting a module never renames an operation that clients were generated from."""
        view = operation.view_func
        return f"{view.__module__.split('.')[0]}_api_{view.__name__}"


api = Api(
    title="ion-runs API",
    version="1",
    description=(
        "Create and read production runs (SPEC §8). Send `Authorization: Bearer <token>`. "
        "Errors answer `{detail, errors: [{row, field, message}], batch_errors}`."
    ),
    auth=TokenAuth(),
    parser=JsonBodies(),
    urls_namespace="api",
    docs=LocalSwagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    return error_response(request, exc)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return error_response(request, ApiError(401, "Send a valid API token: Authorization: Bearer <token>."))


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if isinstance(exc.__cause__, ApiError):
        return error_response(request, exc.__cause__)
    return error_response(request, ApiError(exc.status_code, str(exc)))


@api.exception_handler(RawPostDataException)
def _form_body(request, exc):
    # A multipart body was read as a form (by StripNulCharactersMiddleware) before the parser.
    return error_response(request, not_json())


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 2**20
    return error_response(
        request,
        ApiError(
            413,
            f"The request body is over the {limit:.1f} MiB this server accepts; send fewer runs at a time.",
        ),
    )


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(request, ApiError(404, "Not found."))


@api.exception_handler(Exception)
def _server_error(request, exc: Exception):
    """A bug or an outage: JSON in the API's error shape, never Django's HTML error page.

    Everything else Django does with an unhandled error still happens: the signal (error
    trackers listen to it; the test client re-raises from it) and the traceback in the
    `django.request` log, which goes to stderr and to ADMINS.
    """
    got_request_exception.send(sender=None, request=request)
    response = error_response(
        request,
        ApiError(500, "The server failed to answer this request; the error was logged. Try again later."),
    )
    log_response("Internal Server Error: %s", request.path, response=response, request=request, exception=exc)
    return response


@csrf_exempt  # The API's own addresses take no CSRF token either; a wrong POST must get this 404.
def unknown_path(request: HttpRequest, path: str) -> HttpResponse:
    """Any other address under /api/v1/ answers in the API's error shape, not an HTML page."""
    return error_response(request, ApiError(404, "No such API address; see /api/v1/docs."))


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    # Only a POST could have changed anything; it is all or none, so say so there.
    detail = NOTHING_CREATED if request.method == "POST" else "The request is not valid."
    return error_response(request, invalid(_validation_errors(exc.errors), detail=detail))
