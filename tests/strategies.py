"""Hypothesis strategies for what a hostile or careless client may send.

A form or query is drawn as `{name: [value, ...]}`: an empty list leaves the field out, two
or more values repeat it (the test client sends lists as repeated fields, the way a
`QueryDict` holds them). Values mix the ones a page offers with junk: any text, NUL bytes,
a 100,000-character string, numbers far out of range and dates that do not exist.
"""

import datetime
import re
import string

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

NUL = "\x00"


class _Long(str):
    """A 100,000-character value that reports itself briefly in a falsifying example."""

    def __repr__(self) -> str:
        return f"'x' * {len(self):_}"


LONG = _Long("x" * 100_000)

# Every property test runs the same examples every time (CI must be deterministic) and
# keeps no example database; each example is a request or two, so no deadline either.
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

NUMBERS = [0, 1, -1, 10**12, -(10**12), 2**31, 2**63, 10**30, -(10**30), 10**100]
TRICKY_TEXT = [
    "",
    " ",
    NUL,
    f"SN{NUL}1",
    "%",
    "_",
    "\\",
    "'",
    '"',
    "<script>alert(1)</script>",
    "{{ 7|add:1 }}",
    "../../etc/passwd",
    "NaN",
    "inf",
    "-0",
    "1e400",
    "0x10",
    "١٢",  # Arabic-Indic digits: int() accepts them
    "１２",  # full-width digits
    "\u200b",
    "\ufeff",
    "😀",
    "null",
    "None",
    "true",
    "[]",
    "{}",
]
BAD_DATES = [
    "0001-01-01",
    "9999-12-31",
    "2026-02-30",
    "2026-02-29",
    "2026-13-01",
    "0000-00-00",
    "10000-01-01",
    "-2026-01-01",
    "20260101",
    "31/12/2026",
    "2026-1-1",
    "2026-06-01T25:00",
    "junk",
]


def texts() -> st.SearchStrategy[str]:
    """Any text a browser could send (Hypothesis leaves out lone surrogates), and worse."""
    return st.one_of(
        st.sampled_from(TRICKY_TEXT),
        st.text(max_size=30),
        st.builds(lambda a, b: a + NUL + b, st.text(max_size=6), st.text(max_size=6)),
        st.just(LONG),
        st.integers(min_value=99, max_value=250).map(lambda n: "N" * n),  # around max_length
    )


def numbers() -> st.SearchStrategy[str]:
    """Numbers as a form carries them: huge, negative, fractional or not quite numbers."""
    return st.one_of(
        st.sampled_from(NUMBERS).map(str),
        st.integers().map(str),
        st.integers(min_value=-3, max_value=600).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(str),
        st.decimals(allow_nan=True).map(str),
    )


def dates() -> st.SearchStrategy[str]:
    """Dates as a form carries them, valid or not."""
    return st.one_of(
        st.sampled_from(BAD_DATES),
        st.dates().map(datetime.date.isoformat),
        st.dates(datetime.date(2020, 1, 1), datetime.date(2030, 12, 31)).map(datetime.date.isoformat),
    )


def date_field() -> st.SearchStrategy[list[str]]:
    """A date field: often a date at the ends of the calendar or one that does not exist."""
    return occurrences("0001-01-01", "9999-12-31", "2026-02-30", "2026-06-01", "junk")


def search_field(*likely, min_size: int = 0) -> st.SearchStrategy[list[str]]:
    """A search box: `likely` finds something; a NUL byte is what PostgreSQL refuses in text."""
    return occurrences(*likely, NUL, f"{likely[0]}{NUL}", LONG, min_size=min_size, max_size=2)


def junk() -> st.SearchStrategy[str]:
    return st.one_of(texts(), numbers(), dates())


def values(*offered) -> st.SearchStrategy[str]:
    """A field's value: one the page offers (ids are sent as text), or junk."""
    if not offered:
        return junk()
    # Half offered, half junk. (`st.one_of` would flatten the junk's many branches next to the
    # offered values' one, and pick an offered value only about one time in ten.)
    offered_values = st.sampled_from([str(value) for value in offered])
    return st.booleans().flatmap(lambda junky: junk() if junky else offered_values)


def occurrences(*offered, min_size: int = 0, max_size: int = 3) -> st.SearchStrategy[list[str]]:
    """A field left out (`[]`), sent once, or repeated."""
    return st.lists(values(*offered), min_size=min_size, max_size=max_size)


FIELD_NAME = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=12)


def form_data(
    fields: dict[str, st.SearchStrategy[list[str]]],
    required: dict[str, st.SearchStrategy[list[str]]] | None = None,
) -> st.SearchStrategy[dict[str, list[str]]]:
    """Some of `fields` (all of `required`), each left out, sent once or repeated, plus a
    field nobody asked for."""
    known = st.fixed_dictionaries(required or {}, optional=fields)
    unknown = st.dictionaries(FIELD_NAME, occurrences(), max_size=1)
    return st.builds(merged, unknown, known)


def merged(unknown: dict, known: dict) -> dict:
    return unknown | known


def shorten(text: str) -> str:
    """`text` with long runs of one character cut, for readable failure messages."""
    return re.sub(r"(.)\1{99,}", lambda run: f"{run[1] * 10}…[{len(run[0]):_} × {run[1]!r}]", text)


def last(data: dict[str, list[str]], name: str, default: str = "") -> str:
    """The value a view reads with `request.POST.get(name)`: the last one sent, NULs dropped."""
    sent = data.get(name) or [default]
    return sent[-1].replace(NUL, "")


def flags() -> st.SearchStrategy[list[str]]:
    """A checkbox: absent, checked, or junk."""
    return occurrences("on", "1", "true", "off", "")


# -- The JSON API: bodies as an integration might send them, and worse ------------------------

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(NUMBERS),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(TRICKY_TEXT + BAD_DATES),
    st.text(max_size=20),
)


def json_values() -> st.SearchStrategy:
    """Any JSON value: scalars, lists and objects nested a little."""
    return st.recursive(
        JSON_SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=6,
    )


def either(plausible: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly a value the field takes, sometimes any JSON value in its place (a wrong type)."""
    return st.one_of(plausible, plausible, json_values())


def api_run(*, parts, versions, units, usernames, teams, attributes) -> st.SearchStrategy[dict]:
    """One `RunIn` object: some of its fields, each plausible or junk, sometimes a field it lacks.

    The arguments are what the organisation has: ids, numbers and names a valid row names.
    """
    part_refs = st.one_of(
        st.sampled_from(parts),
        st.builds(dict, number=st.sampled_from(["BRKT-ASSY-001", "NOPE"]), revision=st.sampled_from("AB")),
    )
    fields = {
        "procedure": either(st.sampled_from([*versions, None])),
        "source": either(st.sampled_from(["build", "attach"])),
        "inventory": either(st.sampled_from([*units, "SN-API-1", None])),
        "tracking_type": either(st.sampled_from(["serial", "lot", "none", None])),
        "serial_number": either(st.one_of(st.none(), texts())),
        "lot_number": either(st.one_of(st.none(), texts())),
        "quantity": either(st.sampled_from([1, 0, -1, 5, 2**31, 10**30])),
        "name": either(st.one_of(st.none(), texts())),
        "due_date": either(st.one_of(st.none(), dates(), st.sampled_from([0, 20260101, 1.5]))),
        "export_controlled": either(st.booleans()),
        "assignee": either(
            st.one_of(
                st.none(),
                st.builds(dict, user=st.sampled_from([*usernames, "ghost"])),
                st.builds(dict, team=st.sampled_from([*teams, "Ghosts"])),
                st.builds(dict, user=st.sampled_from(usernames), team=st.sampled_from(teams)),
            )
        ),
        "attributes": either(
            st.dictionaries(st.sampled_from([*attributes, "unknown"]), json_values(), max_size=2)
        ),
    }
    known = st.fixed_dictionaries({"part": either(part_refs)}, optional=fields)
    unknown = st.dictionaries(FIELD_NAME, json_values(), max_size=1)
    return st.builds(merged, unknown, known)


def api_create_bodies(run: st.SearchStrategy[dict]) -> st.SearchStrategy:
    """A `POST /api/v1/runs` body: mostly `{"runs": [...], "batch_name": …}`, sometimes anything,
    sometimes a list of 5,001 small runs (one more than allowed)."""
    shaped = st.fixed_dictionaries(
        {"runs": st.lists(run, max_size=3)},
        optional={"batch_name": either(st.one_of(st.none(), texts()))},
    )
    small = st.sampled_from([{"part": 1}, {"part": 1, "quantity": "x"}])
    oversize = small.map(lambda one: {"runs": [one] * 5_001})
    return st.one_of(shaped, shaped, shaped, json_values(), oversize)


# -- Step field values: what a test station (or anything else) may PUT ------------------------

ZONES = [
    datetime.UTC,
    datetime.timezone(datetime.timedelta(hours=14)),
    datetime.timezone(datetime.timedelta(hours=-12)),
]
# Moments at the calendar's ends, which no other time zone can show.
EDGE_MOMENTS = ["0001-01-01T00:00+05:00", "9999-12-31T23:59-05:00", "0001-01-01", "9999-12-31T23:59:59"]


def step_field_values(kind: str | None, options: list[str]) -> st.SearchStrategy:
    """A `PUT …/fields/{position}` value for a field of type `kind`: mostly one of the kind it takes
    (a number in or out of range or its decimal text, text, an option or a list of them, a
    date-time, true/false), else one another field takes, or any JSON."""
    moments = st.datetimes(timezones=st.one_of(st.none(), st.sampled_from(ZONES)))
    by_kind = {
        "number": st.one_of(st.integers(min_value=-5, max_value=30), st.floats(), numbers()),
        "text": texts(),
        "select": st.sampled_from([*options, "Nope"]),
        "multiselect": st.lists(st.sampled_from([*options, "Nope"]), max_size=3),
        "boolean": st.booleans(),
        "datetime": st.one_of(moments.map(datetime.datetime.isoformat), st.sampled_from(EDGE_MOMENTS)),
    }
    # Half of the kind the field takes: picked first, as `st.one_of` would flatten the branches.
    branches = [by_kind.get(kind, json_values()), st.one_of(*by_kind.values()), json_values()]
    return st.sampled_from([0, 0, 1, 2]).flatmap(lambda branch: branches[branch])
