"""The New Run wizard's forms: each validates one step and normalises it for a draft row."""

import uuid
from dataclasses import dataclass

from django import forms
from django.db.models import OuterRef, Q, Subquery
from django.template.defaultfilters import pluralize

from inventory.models import Part, PartInventory, TrackingType
from ion_runs.accounts.models import Team, User
from procedures.models import ProcedureVersion, VersionStatus
from runs.models import AttributeType, Run, RunAttributeDefinition, RunBatch, RunDraft, RunSource
from runs.services import NOT_RUNNABLE_INVENTORY, UNRELEASED_PROCEDURE

PICKER_LIMIT = 20
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


@dataclass
class PickerResults:
    """The first screenful of a picker's matches, and how many there are ("5 of 30 parts")."""

    choices: list
    matches: int
    total: int

    @property
    def narrowed(self) -> bool:
        """More match than are shown: typing more would narrow the list."""
        return self.matches > len(self.choices)

    def __iter__(self):
        return iter(self.choices)


def picker_results(everything, matching) -> PickerResults:
    choices = list(matching[:PICKER_LIMIT])
    matches = len(choices) if len(choices) < PICKER_LIMIT else matching.count()
    return PickerResults(choices=choices, matches=matches, total=everything.count())


def search_parts(user, query: str) -> PickerResults:
    parts = Part.objects.visible_to(user)
    matching = parts
    if query:
        matching = parts.filter(Q(number__icontains=query) | Q(description__icontains=query))
    return picker_results(parts, matching.order_by("number", "revision"))


def runnable_procedures(user, part):
    """Released, fully approved versions linked to the part: one per family, the newest."""
    if part is None:
        return ProcedureVersion.objects.none()
    return ProcedureVersion.objects.visible_to(user).runnable().filter(parts=part).order_by("title")


def unreleased_procedures(user, part, preselected: int | None = None) -> list[ProcedureVersion]:
    """Versions the planner expected to run but cannot yet: the one they came from, when it is
    not runnable, or, when the part has no runnable version, its versions still on the way."""
    visible = ProcedureVersion.objects.visible_to(user)
    if preselected:
        version = visible.filter(pk=preselected).first()
        linked = version is not None and (part is None or version.parts.filter(pk=part.pk).exists())
        return [version] if linked and not version.is_runnable else []
    if part is None or runnable_procedures(user, part).exists():
        return []
    on_the_way = [VersionStatus.DRAFT, VersionStatus.IN_REVIEW, VersionStatus.RELEASED]
    return list(visible.filter(parts=part, status__in=on_the_way).order_by("title", "-number")[:5])


def what_to_release(version: ProcedureVersion) -> str:
    """The seed's "Procedure has unreleased steps" said of one version: what holds it back,
    and what to do (release it, then start the run)."""
    unapproved = [str(position) for position in version.unapproved_steps.values_list("position", flat=True)]
    steps = f"step{pluralize(len(unapproved))} {', '.join(unapproved)}"
    not_approved = f"{steps} {pluralize(len(unapproved), 'is,are')} not approved"
    then = "in the procedures admin (or ask an admin to), then start the run."
    named = f"“{version}”"
    match version.status:
        case VersionStatus.DRAFT if unapproved:
            return f"{named} is a draft and {not_approved}. Approve {steps} and release it {then}"
        case VersionStatus.IN_REVIEW if unapproved:
            return (
                f"{named} is in review and {not_approved}. "
                f"Send it back to draft, approve {steps} and release it {then}"
            )
        case VersionStatus.DRAFT:
            return f"{named} is a draft. Release it {then}"
        case VersionStatus.IN_REVIEW:
            return f"{named} is in review. Release it {then}"
        case VersionStatus.RELEASED:
            return (
                f"{named} is released but {not_approved}. "
                f"Approve them in a new revision and release it {then}"
            )
        case _:
            status = version.get_status_display().lower()
            return f"{named} is {status}. Start the run from the procedure's released version instead."


def units_of(user, part):
    """The part's units, each with `open_run`: the number of an open run on it the user may see."""
    open_runs = Run.objects.visible_to(user).open().filter(part_inventory=OuterRef("pk")).order_by("number")
    return PartInventory.objects.filter(organisation_id=user.organisation_id, part=part).annotate(
        open_run=Subquery(open_runs.values("number")[:1])
    )


def search_inventory(user, part, query: str) -> PickerResults:
    units = units_of(user, part)
    matching = units
    if query:
        matching = units.filter(
            Q(serial_number__icontains=query) | Q(lot_number__icontains=query) | Q(location__icontains=query)
        )
    return picker_results(units, matching.order_by("serial_number", "lot_number", "pk"))


class SourceForm(forms.Form):
    source = forms.ChoiceField(choices=RunSource.choices, widget=forms.RadioSelect, initial=RunSource.BUILD)


class PartForm(forms.Form):
    part = forms.ModelChoiceField(
        queryset=Part.objects.none(),
        error_messages={
            "required": "Pick the part this run produces.",
            "invalid_choice": "That part is not one of your organisation's.",
        },
    )
    procedure = forms.ModelChoiceField(
        queryset=ProcedureVersion.objects.none(),
        required=False,
        empty_label="None — add one later",
        error_messages={"invalid_choice": "That procedure is not one of your organisation's."},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["part"].queryset = Part.objects.visible_to(user)
        self.fields["procedure"].queryset = ProcedureVersion.objects.visible_to(user)

    def clean(self):
        cleaned = super().clean()
        part, version = cleaned.get("part"), cleaned.get("procedure")
        undecided = self.add_prefix("procedure") not in self.data
        if part and undecided and runnable_procedures(self.user, part).exists():
            # Nothing is picked for the planner: a run without steps is a choice, not a default.
            self.add_error("procedure", "Pick a procedure, or “None — add one later”.")
        elif part and version:
            if not version.parts.filter(pk=part.pk).exists():
                self.add_error("procedure", f"Procedure “{version}” is not linked to part {part}.")
            elif not version.is_runnable:
                self.add_error(
                    "procedure",
                    f"{UNRELEASED_PROCEDURE}: “{version}” is {version.get_status_display().lower()}.",
                )
        return cleaned


class IdentifyForm(forms.Form):
    """Build: how the new unit is tracked. Attach: which existing unit."""

    tracking_type = forms.ChoiceField(choices=TrackingType.choices, widget=forms.RadioSelect, required=False)
    serial_number = forms.CharField(max_length=100, required=False)
    serial_auto = forms.BooleanField(required=False, initial=True, label="Auto-generated")
    lot_number = forms.CharField(max_length=100, required=False)
    lot_auto = forms.BooleanField(required=False, initial=True, label="Auto-generated")
    quantity = forms.IntegerField(min_value=1, max_value=1_000_000, required=False, initial=1)
    inventory = forms.ModelChoiceField(
        queryset=PartInventory.objects.none(),
        required=False,
        error_messages={"invalid_choice": "That unit is not one of this part's."},
    )

    def __init__(self, *args, user, part, source, draft_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.part, self.source, self.draft_id = user, part, source, draft_id
        self.fields["inventory"].queryset = PartInventory.objects.filter(
            organisation_id=user.organisation_id, part=part
        )
        if part is not None:
            self.fields["tracking_type"].initial = part.tracking_type

    @property
    def is_attach(self) -> bool:
        return self.source == RunSource.ATTACH

    def clean(self):
        cleaned = super().clean()
        if self.is_attach:
            unit = cleaned.get("inventory")
            if unit is None and "inventory" not in self.errors:
                self.add_error("inventory", "Pick the inventory unit to attach.")
            elif unit is not None and not unit.can_take_run:
                self.add_error(
                    "inventory",
                    f"{NOT_RUNNABLE_INVENTORY}: {unit.identity} is {unit.get_status_display().lower()}.",
                )
            return cleaned
        tracking = cleaned.get("tracking_type") or (self.part and self.part.tracking_type)
        cleaned["tracking_type"] = tracking
        if tracking == TrackingType.SERIAL:
            cleaned["quantity"] = 1
            # A typed value wins over the Auto-generated box: what the planner sees is used.
            if cleaned.get("serial_number"):
                self._check_serial_free(cleaned["serial_number"])
            elif not cleaned.get("serial_auto"):
                self.add_error("serial_number", "Type a serial number or check Auto-generated.")
        else:
            if not cleaned.get("quantity") and "quantity" not in self.errors:
                self.add_error("quantity", "Enter how many units this run makes.")
            cleaned["serial_number"] = ""
        if tracking == TrackingType.LOT:
            lot = cleaned.get("lot_number")
            if not lot and not cleaned.get("lot_auto"):
                self.add_error("lot_number", "Type a lot number or check Auto-generated.")
            elif lot and PartInventory.objects.filter(part=self.part, lot_number=lot).exists():
                self.add_error("lot_number", f"Lot {lot} already exists for this part.")
        else:
            cleaned["lot_number"] = ""
        return cleaned

    def _check_serial_free(self, serial: str) -> None:
        unit = (
            PartInventory.objects.filter(organisation_id=self.user.organisation_id, serial_number=serial)
            .select_related("part")
            .first()
        )
        if unit is not None:
            # Serials are unique in the organisation, across export control: a unit hidden from
            # the planner still takes its serial. So the refusal must not tell a hidden unit
            # from a visible one (issue 22): the part is named only to the export-cleared,
            # who may see every part; the uncleared get the same words for any unit.
            by = f" by {unit.part.number}" if self.user.export_cleared else ""
            self.add_error("serial_number", f"Serial number {serial} is already used{by} in inventory.")
            return
        rows = RunDraft.objects.filter(owner=self.user, data__serial_number=serial)
        if self.draft_id:
            rows = rows.exclude(pk=self.draft_id)
        if rows.exists():
            self.add_error(
                "serial_number", f"Serial number {serial} is already on another row in this review."
            )


class DetailsForm(forms.Form):
    name = forms.CharField(max_length=200, required=False, label="Run name")
    name_auto = forms.BooleanField(required=False, initial=True, label="Auto-generated")
    due_date = forms.DateField(required=False, widget=DATE_INPUT)
    export_controlled = forms.BooleanField(required=False, label="Export controlled")
    assigned_to = forms.ChoiceField(required=False, label="Assigned to")

    def __init__(self, *args, user, part=None, procedure=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.export_forced = bool(
            (part and part.export_controlled)
            or (procedure and (procedure.export_controlled or procedure.controlled_sibling() is not None))
        )
        if not user.export_cleared:
            del self.fields["export_controlled"]
        elif self.export_forced:
            field = self.fields["export_controlled"]
            field.disabled, field.initial = True, True
            field.help_text = "Forced on: the part or procedure is export controlled."
        users = User.objects.filter(organisation_id=user.organisation_id, is_active=True)
        teams = Team.objects.filter(organisation_id=user.organisation_id)
        people = list(users.order_by("first_name", "username"))
        self.uncleared_people = {f"user:{u.pk}": u for u in people if not u.export_cleared}
        self.fields["assigned_to"].error_messages["invalid_choice"] = (
            "Only export-cleared people can be assigned an export-controlled run."
            if self.export_forced
            else "Pick a team or a person from the list."
        )
        self.fields["assigned_to"].choices = [
            ("", "Nobody — the unassigned pool"),
            ("Teams", [(f"team:{t.pk}", f"{t.name} (team)") for t in teams]),
            (
                "People",
                [
                    (f"user:{u.pk}", str(u))
                    for u in people
                    # An export-controlled run is invisible to an uncleared assignee (SPEC §3).
                    if not (self.export_forced and f"user:{u.pk}" in self.uncleared_people)
                ],
            ),
        ]
        self.attribute_definitions = list(
            RunAttributeDefinition.objects.filter(organisation_id=user.organisation_id)
        )
        for definition in self.attribute_definitions:
            self.fields[f"attr_{definition.key}"] = attribute_field(definition, users)

    @property
    def attribute_fields(self):
        return [self[f"attr_{d.key}"] for d in self.attribute_definitions]

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("name") and not cleaned.get("name_auto"):
            self.add_error("name", "Type a run name or check Auto-generated.")
        if self.export_forced:
            cleaned["export_controlled"] = True
        assignee = self.uncleared_people.get(cleaned.get("assigned_to"))
        if assignee and cleaned.get("export_controlled"):
            self.add_error(
                "assigned_to",
                f"{assignee} is not export-cleared and could not see this export-controlled run.",
            )
        kind, _, pk = (cleaned.get("assigned_to") or "").partition(":")
        cleaned["assigned_user"] = int(pk) if kind == "user" else None
        cleaned["assigned_team"] = int(pk) if kind == "team" else None
        cleaned["attributes"] = {
            d.key: attribute_value(d, cleaned.get(f"attr_{d.key}"))
            for d in self.attribute_definitions
            if cleaned.get(f"attr_{d.key}") not in (None, "", [])
        }
        return cleaned


def attribute_field(definition: RunAttributeDefinition, users) -> forms.Field:
    common = {"label": definition.label, "required": definition.required}
    options = [(o, o) for o in definition.options]
    match definition.type:
        case AttributeType.NUMBER:
            return forms.DecimalField(max_digits=14, decimal_places=4, **common)
        case AttributeType.BOOLEAN:
            return forms.BooleanField(**common)
        case AttributeType.DATE:
            return forms.DateField(widget=DATE_INPUT, **common)
        case AttributeType.SELECT:
            return forms.ChoiceField(choices=[("", "—"), *options], **common)
        case AttributeType.MULTISELECT:
            return forms.MultipleChoiceField(choices=options, widget=forms.CheckboxSelectMultiple, **common)
        case AttributeType.USER:
            return forms.ModelChoiceField(queryset=users, to_field_name="username", **common)
        case _:
            return forms.CharField(max_length=500, **common)


def attribute_value(definition: RunAttributeDefinition, value):
    """A JSON-friendly attribute value: numbers and dates as text, people by username."""
    match definition.type:
        case AttributeType.NUMBER:
            # Fixed-point: 100 normalises to 1E+2, which is no way to show a count.
            return f"{value.normalize():f}"
        case AttributeType.DATE:
            return value.isoformat()
        case AttributeType.USER:
            return value.username
        case _:
            return value


class ReviewForm(forms.Form):
    batch = forms.BooleanField(required=False, label="Batch runs")
    batch_name = forms.CharField(max_length=200, required=False, label="Batch name")
    token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
    # The rows the page showed: Create makes exactly these, never rows it did not show.
    shown_rows = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_shown_rows(self) -> list[uuid.UUID]:
        try:
            return [uuid.UUID(pk) for pk in self.cleaned_data["shown_rows"].split(",") if pk]
        except ValueError as exc:
            raise forms.ValidationError("The list of rows was garbled. Reload the page.") from exc

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("batch"):
            cleaned["batch_name"] = ""
        elif not cleaned.get("batch_name"):
            self.add_error("batch_name", "Name the batch, or uncheck Batch runs.")
        elif RunBatch.objects.named(cleaned["batch_name"], user=self.user).exists():
            self.add_error("batch_name", f"A batch named “{cleaned['batch_name']}” already exists.")
        return cleaned


def draft_data(*, source: str, part, procedure, identify: dict, details: dict) -> dict:
    """A draft row's data (the shape RunRequest.from_draft reads) from cleaned step data."""
    unit = identify.get("inventory") if source == RunSource.ATTACH else None
    return {
        "source": source,
        "part": part.pk,
        "procedure": procedure.pk if procedure else None,
        "inventory": unit.pk if unit else None,
        "tracking_type": "" if unit else identify.get("tracking_type", ""),
        "serial_number": "" if unit else identify.get("serial_number", ""),
        "lot_number": "" if unit else identify.get("lot_number", ""),
        "quantity": unit.quantity if unit else identify.get("quantity") or 1,
        "name": details["name"],
        "due_date": details["due_date"].isoformat() if details.get("due_date") else None,
        "export_controlled": bool(details.get("export_controlled")),
        "assigned_user": details["assigned_user"],
        "assigned_team": details["assigned_team"],
        "attributes": details["attributes"],
    }


def identify_initial(data: dict) -> dict:
    return {
        "tracking_type": data.get("tracking_type"),
        "serial_number": data.get("serial_number"),
        "serial_auto": not data.get("serial_number"),
        "lot_number": data.get("lot_number"),
        "lot_auto": not data.get("lot_number"),
        "quantity": data.get("quantity"),
        "inventory": data.get("inventory"),
    }


def details_initial(data: dict) -> dict:
    assignee = ""
    if data.get("assigned_user"):
        assignee = f"user:{data['assigned_user']}"
    elif data.get("assigned_team"):
        assignee = f"team:{data['assigned_team']}"
    return {
        "name": data.get("name"),
        "name_auto": not data.get("name"),
        "due_date": data.get("due_date"),
        "export_controlled": data.get("export_controlled"),
        "assigned_to": assignee,
    } | {f"attr_{key}": value for key, value in data.get("attributes", {}).items()}


class RowProcedureForm(forms.Form):
    """On Review, a row's procedure can change among its part's runnable versions."""

    procedure = forms.ModelChoiceField(
        queryset=ProcedureVersion.objects.none(), required=False, empty_label="None — add one later"
    )

    def __init__(self, *args, user, part, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["procedure"].queryset = runnable_procedures(user, part)


class DuplicateForm(forms.Form):
    copies = forms.IntegerField(min_value=1, max_value=500, initial=1, label="Copies")
