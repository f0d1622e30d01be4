"""The Runs page's search, filters and sort: one GET form that validates and applies them."""

import functools

from django import forms
from django.db import connection
from django.db.models import F, Func, OrderBy, Q
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from inventory.models import Part, PartInventory
from ion_runs.accounts.models import Team, User
from ion_runs.search import SEARCH_LENGTH
from procedures.models import ProcedureVersion
from runs.models import RunBatch, RunStatus

OPEN = "open"
NOBODY = "none"
ME = "me"
NO_PROCEDURE = "none"


class QuickSelect(forms.Select):
    """A select drawn in Python.

    The stock widget renders every option through a template; with a few hundred
    procedures and people that alone took ~30 ms of the Runs page.
    """

    def render(self, name, value, attrs=None, renderer=None):
        selected = set(self.format_value(value))

        def options(choices):
            return format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                (
                    (key, mark_safe(" selected") if str(key) in selected else "", label)
                    for key, label in choices
                ),
            )

        parts = [
            format_html('<optgroup label="{}">{}</optgroup>', key, options(label))
            if isinstance(label, list | tuple)
            else options([(key, label)])
            for key, label in self.choices
        ]
        attrs = flatatt(self.build_attrs(self.attrs, attrs))
        return format_html('<select name="{}"{}>{}</select>', name, attrs, mark_safe("".join(parts)))


DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

# Each sort ends on the run number, so pages never shuffle rows that tie.
SORTS = {
    "-created": ("Newest first", [F("created_at").desc(), F("number").desc()]),
    "created": ("Oldest first", [F("created_at").asc(), F("number").asc()]),
    "due": ("Due soonest", [F("due_date").asc(nulls_last=True), F("number").asc()]),
    "-due": ("Due latest", [F("due_date").desc(nulls_last=True), F("number").desc()]),
    "name": ("Name A–Z", [F("name").asc(), F("number").asc()]),
    "-name": ("Name Z–A", [F("name").desc(), F("number").desc()]),
}
DEFAULT_SORT = "-created"


class RunFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=SEARCH_LENGTH,
        label="Search",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Name, run number, serial, lot or part number"}
        ),
    )
    status = forms.ChoiceField(
        required=False,
        widget=QuickSelect,
        choices=[("", "Any"), (OPEN, "Open (to do, in progress, on hold, failed)"), *RunStatus.choices],
    )
    part = forms.CharField(
        required=False,
        max_length=100,
        label="Part number",
        widget=forms.TextInput(attrs={"placeholder": "Starts with…"}),
    )
    procedure = forms.ChoiceField(required=False, widget=QuickSelect)
    assignee = forms.ChoiceField(required=False, widget=QuickSelect)
    team = forms.ChoiceField(required=False, widget=QuickSelect)
    batch = forms.CharField(
        required=False, max_length=200, widget=forms.TextInput(attrs={"list": "batch-names"})
    )
    due_from = forms.DateField(required=False, label="Due from", widget=DATE_INPUT)
    due_to = forms.DateField(required=False, label="Due to", widget=DATE_INPUT)
    export = forms.ChoiceField(
        required=False,
        label="Export controlled",
        widget=QuickSelect,
        choices=[("", "Any"), ("yes", "Export controlled"), ("no", "Not export controlled")],
    )
    sort = forms.ChoiceField(
        required=False, widget=QuickSelect, choices=[(key, label) for key, (label, _) in SORTS.items()]
    )

    # The bar shows these; the rest sit under "More filters", open when one of them is used.
    MAIN_FIELDS = ("q", "status", "assignee", "team", "sort")

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("label_suffix", "")  # A bar of labels reads better without colons.
        super().__init__(*args, **kwargs)
        self.user = user
        org = user.organisation_id
        if not user.export_cleared:
            # Not cleared: the flag is neither shown nor usable to probe for hidden runs.
            del self.fields["export"]
        # Lazy: the queries run only when the form is drawn or a value is checked (then
        # once), so an htmx page turn does not fetch every person, team and procedure.
        self.fields["procedure"].choices = functools.cache(
            lambda: [
                ("", "Any"),
                (NO_PROCEDURE, "No procedure"),
                *procedure_choices(user),
            ]
        )
        self.fields["assignee"].choices = functools.cache(
            lambda: [
                ("", "Anyone"),
                (ME, "Me"),
                (NOBODY, "Nobody (unassigned pool)"),
                ("People", people_choices(org)),
            ]
        )
        self.fields["team"].choices = functools.cache(
            lambda: [
                ("", "Any"),
                *((str(t.pk), t.name) for t in Team.objects.filter(organisation_id=org)),
            ]
        )
        self.recent_batches = RunBatch.objects.visible_to(user).values_list("name", flat=True)[:100]

    def apply(self, runs):
        """Narrow and order `runs` (already visible to the user) by the valid filters."""
        data = self.cleaned_data if self.is_bound else {}
        user = self.user
        if query := data.get("q"):
            runs = runs.filter(search_condition(user, query))
        match data.get("status") or "":
            case "":
                pass
            case "open":
                runs = runs.filter(status__in=RunStatus.open())
            case status:
                runs = runs.filter(status=status)
        if part := data.get("part"):
            parts = Part.objects.visible_to(user).filter(number__istartswith=part)
            runs = runs.filter(part__in=parts.values("pk"))
        procedure = data.get("procedure") or ""
        if procedure == NO_PROCEDURE:
            runs = runs.filter(procedure_version__isnull=True)
        elif procedure.startswith("v"):
            runs = runs.filter(procedure_version_id=int(procedure[1:]))
        elif procedure.startswith("f"):
            runs = runs.filter(procedure_version__procedure_id=int(procedure[1:]))
        match data.get("assignee") or "":
            case "":
                pass
            case "me":
                runs = runs.filter(assigned_user=user)
            case "none":
                runs = runs.unassigned()
            case pk:
                runs = runs.filter(assigned_user_id=int(pk))
        if team := data.get("team"):
            runs = runs.filter(assigned_team_id=int(team))
        if batch := data.get("batch"):
            # A hidden batch's name finds nothing, as an unknown one does: its visible runs
            # would otherwise confirm that it exists.
            batches = RunBatch.objects.visible_to(user).filter(name__iexact=batch)
            runs = runs.filter(batch__in=batches.values("pk"))
        if due_from := data.get("due_from"):
            runs = runs.filter(due_date__gte=due_from)
        if due_to := data.get("due_to"):
            runs = runs.filter(due_date__lte=due_to)
        if data.get("export") == "yes":
            runs = runs.filter(export_controlled=True)
        elif data.get("export") == "no":
            runs = runs.filter(export_controlled=False)
        ordering = SORTS[self.sort_key][1]
        if data.get("q") and connection.vendor == "postgresql":
            ordering = [unindexed(order) for order in ordering]
        return runs.order_by(*ordering)

    @property
    def sort_key(self) -> str:
        sort = self.cleaned_data.get("sort") if self.is_bound and hasattr(self, "cleaned_data") else ""
        return sort or DEFAULT_SORT

    def main_fields(self):
        return [field for field in self if field.name in self.MAIN_FIELDS]

    def more_fields(self):
        return [field for field in self if field.name not in self.MAIN_FIELDS]

    @property
    def shows_more(self) -> bool:
        """Open "More filters" when one of them holds a value or an error."""
        return any(field.errors or field.value() not in (None, "") for field in self.more_fields())

    @property
    def is_filtered(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return any(value not in (None, "") for name, value in data.items() if name != "sort")

    def clean(self):
        cleaned = super().clean()
        due_from, due_to = cleaned.get("due_from"), cleaned.get("due_to")
        if due_from and due_to and due_from > due_to:
            self.add_error("due_to", "“Due to” is before “Due from”.")
        return cleaned


def people_choices(org: int) -> list:
    people = User.objects.filter(organisation_id=org, is_active=True)
    return [(str(u.pk), str(u)) for u in people.order_by("first_name", "last_name", "username")]


def procedure_choices(user) -> list:
    """Each procedure family ("any version"), then its versions, newest first."""
    versions = (
        ProcedureVersion.objects.visible_to(user)
        .order_by("procedure_id", "-number")
        .values_list("pk", "procedure_id", "title", "number")
    )
    families: dict[int, list] = {}
    for pk, family, title, number in versions:
        group = families.setdefault(family, [(f"f{family}", f"{title} — any version")])
        group.append((f"v{pk}", f"{title} v{number}"))
    return sorted(
        ((group[0][1].removesuffix(" — any version"), group) for group in families.values()),
        key=lambda pair: pair[0].lower(),
    )


SEARCH_IDS = 1000


def unindexed(order: OrderBy) -> OrderBy:
    """The same ordering, written so that no index matches it.

    A search's matches come from a BitmapOr of the name's trigram index and the foreign-key
    indexes, then get sorted: ~5 ms at 100,000 runs. Left to match the sort index, PostgreSQL
    walks every run in order and filters them (~110 ms), because it expects the LIMIT to
    stop it early, which the page's window count never lets happen.
    """
    return OrderBy(
        Func(order.expression, function="COALESCE"),
        descending=order.descending,
        nulls_first=order.nulls_first,
        nulls_last=order.nulls_last,
    )


def search_condition(user, query: str) -> Q:
    """Any part of the name or part number, the run number, or an exact serial or lot.

    Units and parts are looked up in their own tables first, so the runs table is
    filtered by id lists rather than joined three ways. Serials and lots match whole
    values (as typed, or upper-cased: scanners and people both type them) through their
    indexes, because a substring search of every unit is a full scan of the inventory;
    auto-generated run names carry the serial, so a fragment still finds those runs.
    """
    condition = Q(name__icontains=query)
    if query.isascii() and query.isdigit():  # isdigit() alone takes "²", which int() refuses
        condition |= Q(number=int(query))
    spellings = {query, query.upper()}
    units = PartInventory.objects.filter(organisation_id=user.organisation_id).filter(
        Q(serial_number__in=spellings) | Q(lot_number__in=spellings)
    )
    parts = Part.objects.visible_to(user).filter(number__icontains=query)
    # Resolved to id lists here, so PostgreSQL can OR three index scans (the name's
    # trigram index and the two foreign-key indexes) instead of filtering every run.
    condition |= Q(part_inventory__in=list(units.values_list("pk", flat=True)[:SEARCH_IDS]))
    condition |= Q(part__in=list(parts.values_list("pk", flat=True)[:SEARCH_IDS]))
    return condition
