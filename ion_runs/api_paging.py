"""Cursor paging for the API's lists (SPEC §8): keyset on the list's order, an opaque cursor, a `next` URL.

A page is the `limit` rows past the last row of the page before, found by a row comparison
on the order's columns, `(created_at, number) < (…, …)`, which PostgreSQL answers from the
index on those columns: page 1,000 costs what page 1 costs, and rows added meanwhile neither
repeat nor skip rows already seen. A list never says how many rows it has, so nothing counts
rows a user may not see.
"""

import base64
import binascii
import datetime
import json
import re
from typing import Annotated, NamedTuple

from django.core.exceptions import ValidationError
from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Schema

from ion_runs.api import invalid

MAX_PAGE = 500
DEFAULT_PAGE = 100

# Far enough from the ends of the calendar that time-zone arithmetic cannot overflow.
EARLIEST = datetime.datetime(2, 1, 1, tzinfo=datetime.UTC)
LATEST = datetime.datetime(9998, 1, 1, tzinfo=datetime.UTC)

# A cursor is unpadded URL-safe base64 (`encode_cursor`), so the OpenAPI document can say its
# shape. The longest a list makes is the parts list's: a 100-character number and a
# 20-character revision, each character at worst 12 bytes of JSON (an escaped UTF-16 pair),
# 1,448 bytes in all, 1,931 characters of base64.
# Its padding, which `encode_cursor` leaves off, may be sent back on.
CURSOR_PATTERN = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")
MAX_CURSOR = 2048
# Declared to clients, not checked by pydantic: `_decode` checks it, so every refused cursor
# gets the one message.
Cursor = Annotated[str, Field(json_schema_extra={"pattern": CURSOR_PATTERN.pattern, "maxLength": MAX_CURSOR})]


class PageQuery(Schema):
    """The paging parameters of every list: extend it with the list's filters.

    An unknown parameter is a 422 (`keyset_page` checks), not ignored: a misspelt filter
    would otherwise answer every row as if it had matched.
    """

    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description="Rows per page.")
    cursor: Cursor | None = Field(
        None,
        description="Opaque: the cursor of this list's `next` link, sent back unchanged. Empty or "
        "omitted is the first page. Any other value, even one of this shape, answers 422 at "
        "`cursor`: only the server can make a cursor.",
    )


class Page(NamedTuple):
    rows: list
    next: str | None


def _not_a_cursor():
    return invalid([{"row": None, "field": "cursor", "message": "Not a cursor this API gave."}])


def encode_cursor(values: list) -> str:
    """The cursor of a place in a list: the values of its order's columns there."""
    plain = [v.isoformat() if isinstance(v, datetime.datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode(queryset: QuerySet, keys: tuple[str, ...], cursor: str) -> list:
    """The cursor's values, each checked and converted by its model field; 422 for anything else."""
    # b64decode would skip characters outside its alphabet, reading a cursor off its shape.
    if len(cursor) > MAX_CURSOR or not CURSOR_PATTERN.fullmatch(cursor):
        raise _not_a_cursor()
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _not_a_cursor() from None
    if not isinstance(values, list) or len(values) != len(keys):
        raise _not_a_cursor()
    meta = queryset.model._meta
    converted = []
    for key, value in zip(keys, values, strict=True):
        field = meta.pk if key == "pk" else meta.get_field(key)
        if not isinstance(value, (str, int)) or isinstance(value, bool) or "\x00" in str(value):
            raise _not_a_cursor()
        try:
            value = field.to_python(value)
            # The database's range for integer columns: a larger number is not a row of ours.
            field.run_validators(value)
        except (ValidationError, ValueError, TypeError, OverflowError):
            raise _not_a_cursor() from None
        if isinstance(value, datetime.datetime):
            if timezone.is_naive(value) or not EARLIEST <= value <= LATEST:
                raise _not_a_cursor()
            # PostgreSQL refuses offsets past ±15:59 that Python accepts: in UTC it is the same instant.
            value = value.astimezone(datetime.UTC)
        converted.append(value)
    return converted


def keyset_page(
    request: HttpRequest, queryset: QuerySet, paging: PageQuery, *, keys: tuple[str, ...], descending: bool
) -> Page:
    """The page of `queryset` ordered by `keys` (all one way) after `paging.cursor`.

    `keys` must identify a row within `queryset` (end them with "pk" if they may not), and
    an index on them (after the organisation) is what makes deep pages as cheap as the first.
    """
    unknown = sorted(set(request.GET) - set(type(paging).model_fields))
    if unknown:
        raise invalid(
            [{"row": None, "field": name, "message": "Not a parameter of this list."} for name in unknown]
        )
    ordered = queryset.order_by(*(f"-{key}" if descending else key for key in keys))
    if paging.cursor:
        after = TupleLessThan if descending else TupleGreaterThan
        place = _decode(queryset, keys, paging.cursor)
        ordered = ordered.filter(after(Tuple(*(F(key) for key in keys)), tuple(place)))
    rows = list(ordered[: paging.limit + 1])
    if len(rows) <= paging.limit:
        return Page(rows, None)
    rows = rows[: paging.limit]
    query = request.GET.copy()
    query["cursor"] = encode_cursor([getattr(rows[-1], key) for key in keys])
    return Page(rows, request.build_absolute_uri(f"{request.path}?{query.urlencode()}"))
