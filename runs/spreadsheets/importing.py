"""Putting a spreadsheet's rows on the planner's Review, each checked by the wizard's rules.

Every row becomes a RunDraft with the data a wizard-authored row has (see
`runs.forms.draft_data`). A row with problems becomes one too: it keeps them, with its row
number in the file, in `data["import_problems"]`, so Review shows them at the row until the
planner fixes the row (saving a valid edit writes fresh data without them) or removes it;
Create refuses while any row still has them.

References (parts, procedures, units, people, teams) are looked up for all rows at once,
and the rules that need the database are the ones `create_runs` applies, run once over
all rows: importing 5,000 rows takes the same number of queries as importing one.
"""

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django import forms as django_forms
from django.db import transaction
from django.db.models import Max
from django.db.models.functions import Lower

from inventory.models import Part, PartInventory, TrackingType
from ion_runs.accounts.models import Team, User
from procedures.models import ProcedureVersion, VersionStatus
from runs import forms
from runs.models import AttributeType, RunAttributeDefinition, RunDraft, RunSource
from runs.services import RunRequest, problems_with
from runs.spreadsheets.columns import attribute_column
from runs.spreadsheets.reading import Cell, Sheet

TRUE = {"yes", "y", "true", "1", "x", "✓"}
FALSE = {"no", "n", "false", "0", ""}
# The wizard's own fields, for the same limits and messages.
QUANTITY = forms.IdentifyForm.base_fields["quantity"]
NAME = forms.DetailsForm.base_fields["name"]
DUE_DATE = forms.DetailsForm.base_fields["due_date"]


@dataclass
class ImportResult:
    drafts: list[RunDraft]
    invalid: int
    batch_name: str


def _text(value: Cell) -> str:
    return value.isoformat() if not isinstance(value, str) else value


def _plain_number(text: str) -> bool:
    """Whether `text` is ASCII digits: str.isdigit() is also true of "²", which int() refuses."""
    return text.isascii() and text.isdigit()


class _Lookups:
    """Everything the rows refer to, in a fixed number of queries."""

    def __init__(self, user: User, rows: list[dict[str, Cell]]):
        org = user.organisation_id

        def wanted(column: str) -> set[str]:
            return {_text(row[column]) for row in rows if row.get(column, "") != ""}

        numbers = wanted("part.number")
        self.parts = {
            (p.number.lower(), p.revision.lower()): p
            for p in Part.objects.visible_to(user).filter(number__in=numbers | {n.upper() for n in numbers})
        }
        versions = ProcedureVersion.objects.visible_to(user)
        ids = {int(v) for v in wanted("procedure") if _plain_number(v) and int(v) < 2**31}
        self.versions = versions.in_bulk(ids) if ids else {}
        titles = {t.lower() for t in wanted("procedure.title")}
        self.versions_by_title: dict[str, list[ProcedureVersion]] = defaultdict(list)
        if titles:
            for version in versions.annotate(lower_title=Lower("title")).filter(lower_title__in=titles):
                self.versions_by_title[version.lower_title].append(version)
        spelled = wanted("inventory")
        self.units: dict[tuple[int, str], list[PartInventory]] = defaultdict(list)
        if spelled:
            units = PartInventory.objects.filter(
                organisation_id=org, part__in=[p.pk for p in self.parts.values()]
            )
            for unit in units.filter(serial_number__in=spelled) | units.filter(lot_number__in=spelled):
                for value in {unit.serial_number, unit.lot_number} & spelled:
                    self.units[(unit.part_id, value)].append(unit)
        self.definitions = list(RunAttributeDefinition.objects.filter(organisation_id=org))
        # People are looked up in bulk below, so the user field's queryset is never asked.
        self.attribute_fields = {
            d.key: forms.attribute_field(d, User.objects.none()) for d in self.definitions
        }
        usernames = wanted("assignee.user") | {
            _text(row[attribute_column(d.key)])
            for d in self.definitions
            if d.type == AttributeType.USER
            for row in rows
            if row.get(attribute_column(d.key), "") != ""
        }
        # Active or not: an inactive assignee gets create_runs' own message.
        self.users = (
            {u.username: u for u in User.objects.filter(organisation_id=org, username__in=usernames)}
            if usernames
            else {}
        )
        team_names = wanted("assignee.team")
        self.teams = (
            dict(Team.objects.filter(organisation_id=org, name__in=team_names).values_list("name", "pk"))
            if team_names
            else {}
        )
        serials = wanted("serial_number")
        self.serials_on_review = (
            set(
                RunDraft.objects.filter(owner=user, data__serial_number__in=list(serials)).values_list(
                    "data__serial_number", flat=True
                )
            )
            if serials
            else set()
        )


class _Row:
    """One file row made into draft data; `problems` says what is wrong with it."""

    def __init__(self, values: dict[str, Cell], lookups: _Lookups):
        self.values, self.lookups = values, lookups
        self.problems: list[str] = []
        # Beginnings of create_runs' messages that one of the row's own says better.
        self.covered: tuple[str, ...] = ()
        self.part = self._part()
        self.procedure = self._procedure()
        self.source = self._source()
        self.data = {
            "source": self.source,
            "part": self.part.pk if self.part else None,
            "procedure": self.procedure.pk if self.procedure else None,
        }
        self.data |= self._identify() if self.source == RunSource.BUILD else self._attach()
        self.data |= self._details()

    def text(self, column: str) -> str:
        return _text(self.values.get(column, ""))

    def field(self, field: django_forms.Field, label: str, value):
        """`value` cleaned by the wizard's `field`; None, and a problem, if the field refuses it."""
        try:
            return field.clean(value)
        except django_forms.ValidationError as error:
            self.problems.append(f"{label}: {' '.join(error.messages)}")
            return None

    def quantity(self) -> int | None:
        value = self.text("quantity")
        # Most cells hold a plain count, which needs none of the field's locale-aware parsing.
        if _plain_number(value) and 1 <= int(value) <= QUANTITY.max_value:
            return int(value)
        return self.field(QUANTITY, "Quantity", value)

    def date(self, column: str, field: django_forms.Field, label: str) -> datetime.date | None:
        """A date cell as it is; text in ISO form (the template's) directly; else as the field reads it."""
        value = self.values.get(column, "")
        if isinstance(value, datetime.date):
            return value
        try:
            return datetime.date.fromisoformat(value) if value else None
        except ValueError:
            return self.field(field, label, value)

    def _part(self) -> Part | None:
        number, revision = self.text("part.number"), self.text("part.revision")
        if not number or not revision:
            self.problems.append("Give the part number and revision.")
            return None
        part = self.lookups.parts.get((number.lower(), revision.lower()))
        if part is None:
            self.problems.append(f"No part {number} revision {revision} is visible to you.")
        return part

    def _procedure(self) -> ProcedureVersion | None:
        by_id, title, number = (
            self.text("procedure"),
            self.text("procedure.title"),
            self.text("procedure.version"),
        )
        if by_id:
            version = (
                self.lookups.versions.get(int(by_id)) if _plain_number(by_id) and int(by_id) < 2**31 else None
            )
            if version is None:
                self.problems.append(f"No procedure with id {by_id} is visible to you.")
            return version
        if not title:
            if number:
                self.problems.append("A procedure version needs the procedure's title too.")
            return None
        versions = self.lookups.versions_by_title.get(title.lower(), [])
        if number:
            matches = [v for v in versions if str(v.number) == number]
            what = f"procedure “{title}” v{number}"
        else:
            # No version given: the one released now, as the wizard offers.
            matches = [v for v in versions if v.status == VersionStatus.RELEASED]
            what = f"released procedure “{title}”"
        if len(matches) == 1:
            return matches[0]
        if matches:
            self.problems.append(f"{len(matches)} procedures match {what}; give the procedure's id instead.")
        else:
            self.problems.append(f"No {what} is visible to you.")
        return None

    def _source(self) -> str:
        source = self.text("source").lower() or RunSource.BUILD
        if source not in RunSource.values:
            self.problems.append(f"Source must be build or attach, not “{self.text('source')}”.")
            return RunSource.BUILD
        return source

    def _identify(self) -> dict:
        """Build a new item: as the Identify step cleans it."""
        part = self.part
        tracking = self.text("tracking_type").lower()
        if tracking and tracking not in TrackingType.values:
            self.problems.append(
                f"Tracking type must be serial, lot or none, not “{self.text('tracking_type')}”."
            )
            tracking = ""
        tracking = tracking or (part.tracking_type if part else "")
        serial, lot = self.text("serial_number"), self.text("lot_number")
        quantity = self.quantity() or 1
        if self.text("inventory"):
            self.problems.append("Only attached runs take an inventory unit; this one builds a new item.")
        if tracking == TrackingType.SERIAL:
            if quantity != 1:
                self.problems.append("A serialized run makes one unit: leave quantity blank or 1.")
            quantity = 1
            if serial in self.lookups.serials_on_review:
                self.problems.append(f"Serial number {serial} is already on another row in this review.")
        elif serial:
            self.problems.append(
                f"A serial number goes with serial tracking; this run is tracked by {tracking or 'part'}."
            )
        if lot and tracking != TrackingType.LOT:
            self.problems.append(
                f"A lot number goes with lot tracking; this run is tracked by {tracking or 'part'}."
            )
        return {
            "inventory": None,
            "tracking_type": tracking,
            "serial_number": serial if tracking == TrackingType.SERIAL else "",
            "lot_number": lot if tracking == TrackingType.LOT else "",
            "quantity": quantity,
        }

    def _attach(self) -> dict:
        """Use an item already in inventory: the unit by its serial or lot number."""
        spelled, unit = self.text("inventory"), None
        self.covered = ("Pick an inventory unit",)
        if not spelled:
            self.problems.append("Attaching needs the inventory unit's serial or lot number.")
        elif self.part:
            matches = self.lookups.units.get((self.part.pk, spelled), [])
            if len(matches) == 1:
                unit = matches[0]
            elif matches:
                self.problems.append(
                    f"{len(matches)} units of {self.part} are {spelled}: attach them one per row by serial."
                )
            else:
                self.problems.append(f"No unit of {self.part} has serial or lot {spelled}.")
        if unit is not None:
            self.covered = ()
        return {
            "inventory": unit.pk if unit else None,
            "tracking_type": "",
            "serial_number": "",
            "lot_number": "",
            "quantity": unit.quantity if unit else 1,
        }

    def _details(self) -> dict:
        name = self.field(NAME, "Run name", self.text("name")) or ""
        due = self.date("due_date", DUE_DATE, "Due date")
        flag = self.text("export_controlled").lower()
        if flag not in TRUE | FALSE:
            self.problems.append(
                f"Export controlled must be yes or no, not “{self.text('export_controlled')}”."
            )
        user, team = self.text("assignee.user"), self.text("assignee.team")
        assigned_user = assigned_team = None
        if user and team:
            self.problems.append("Assign the run to a user or to a team, not both.")
        elif user:
            found = self.lookups.users.get(user)
            assigned_user = found.pk if found else None
            if found is None:
                self.problems.append(f"{user} is not a user of your organisation.")
        elif team:
            assigned_team = self.lookups.teams.get(team)
            if assigned_team is None:
                self.problems.append(f"There is no team “{team}” in your organisation.")
        return {
            "name": name,
            "due_date": due.isoformat() if due else None,
            "export_controlled": flag in TRUE,
            "assigned_user": assigned_user,
            "assigned_team": assigned_team,
            "attributes": self._attributes(),
        }

    def _attributes(self) -> dict:
        """Custom attributes, each cleaned by the field the Details step shows for it."""
        attributes = {}
        for definition in self.lookups.definitions:
            value = self.values.get(attribute_column(definition.key), "")
            if value == "":
                continue
            label, field = definition.label, self.lookups.attribute_fields[definition.key]
            match definition.type:
                case AttributeType.DATE:
                    date = self.date(attribute_column(definition.key), field, label)
                    if date:
                        attributes[definition.key] = date.isoformat()
                    continue
                case AttributeType.USER:
                    person = self.lookups.users.get(_text(value))
                    if person is None or not person.is_active:
                        self.problems.append(f"{label}: {value} is not an active user of your organisation.")
                        continue
                    attributes[definition.key] = person.username
                    continue
                case AttributeType.BOOLEAN:
                    text = _text(value).lower()
                    if text not in TRUE | FALSE:
                        self.problems.append(f"{label}: give yes or no, not “{value}”.")
                        continue
                    value = text in TRUE
                case AttributeType.MULTISELECT:
                    value = [choice.strip() for choice in _text(value).split(",") if choice.strip()]
            cleaned = self.field(field, label, value)
            if cleaned not in (None, "", []):
                attributes[definition.key] = forms.attribute_value(definition, cleaned)
        # A required attribute whose cell was refused is said once, by that refusal, not again as missing.
        self.covered += tuple(
            f"{d.label} is required."
            for d in self.lookups.definitions
            if d.required and d.key not in attributes and self.values.get(attribute_column(d.key), "") != ""
        )
        return attributes

    def request(self) -> RunRequest | None:
        """What create_runs would be asked for; None when the row names no part of ours."""
        if self.part is None:
            return None
        data = self.data
        return RunRequest(
            part_id=self.part.pk,
            procedure_version_id=data["procedure"],
            source=data["source"],
            inventory_id=data["inventory"],
            tracking_type=data["tracking_type"],
            serial_number=data["serial_number"],
            lot_number=data["lot_number"],
            quantity=data["quantity"],
            name=data["name"],
            export_controlled=data["export_controlled"],
            assigned_user_id=data["assigned_user"],
            assigned_team_id=data["assigned_team"],
            attributes=data["attributes"],
        )


def _batch_name(sheet: Sheet, rows: list[_Row]) -> str:
    """The one batch a file may name; rows naming another get a problem."""
    named = [(number, _text(values.get("batch_name", ""))) for number, values in sheet.rows]
    first = next((name for _, name in named if name), "")
    for row, (_, name) in zip(rows, named, strict=True):
        if name and name != first:
            row.problems.append(
                f"Batch “{name}” differs from “{first}” named above: the runs of one import go in one batch."
            )
    return first


def import_runs(*, user: User, sheet: Sheet, progress: Callable[[Iterable], Iterable] = iter) -> ImportResult:
    """Append every row of `sheet` to the planner's Review, valid or not, in one insert.

    `progress` wraps the rows as they are checked one by one (a job's progress bar).
    """
    lookups = _Lookups(user, [values for _, values in sheet.rows])
    rows = [_Row(values, lookups) for _, values in progress(sheet.rows)]
    batch_name = _batch_name(sheet, rows)
    requests = {i: request for i, row in enumerate(rows) if (request := row.request())}
    with transaction.atomic():
        if requests:
            indexes = list(requests)
            checked = list(requests.values())
            # The rules create_runs applies under lock, applied here ahead of it so that each
            # row's problems show on Review before the planner presses Create.
            problems = problems_with(user=user, requests=checked)
            for i, messages in problems.items():
                row = rows[indexes[i]]
                row.problems.extend(
                    m for m in messages if m not in row.problems and not m.startswith(row.covered)
                )
        last = RunDraft.objects.filter(owner=user).aggregate(last=Max("position"))["last"] or 0
        drafts = []
        for position, ((number, _), row) in enumerate(zip(sheet.rows, rows, strict=True), start=last + 1):
            data = row.data | {"import_row": number}
            if row.problems:
                data["import_problems"] = [f"Row {number} of {sheet.filename}: {p}" for p in row.problems]
            drafts.append(
                RunDraft(organisation_id=user.organisation_id, owner=user, position=position, data=data)
            )
        RunDraft.objects.bulk_create(drafts)
    return ImportResult(drafts=drafts, invalid=sum(1 for row in rows if row.problems), batch_name=batch_name)
