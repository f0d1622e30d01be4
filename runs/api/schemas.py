"""The runs API's request and answer bodies: these pydantic schemas are its OpenAPI schema."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.db.models import Prefetch
from django.urls import reverse
from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, StrictBool, model_validator
from pydantic.json_schema import SkipJsonSchema

from inventory.models import TrackingType
from ion_runs.api import Id, IsoDate, SearchText, json_integer, plain_text, plain_text_pattern, text_up_to
from ion_runs.api_paging import PageQuery
from runs.models import Run, RunStep, RunStepField
from runs.services.creation import (
    BATCH_NAME_LENGTH,
    LOT_LENGTH,
    MAX_QUANTITY,
    RUN_NAME_LENGTH,
    SERIAL_LENGTH,
)
from runs.services.run_changes import REASON_LENGTH

MAX_RUNS = 5_000

# A body's ids and counts are JSON integers, its flags booleans: `"part": true` is not part 1.
BodyId = Annotated[Id, BeforeValidator(json_integer)]
BodyInt = Annotated[int, BeforeValidator(json_integer)]


class Body(Schema):
    """A request body: a field it does not know is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


class PartRef(Body):
    # Examples for the interactive docs, which would otherwise make text up from the patterns.
    number: text_up_to(100) = Field(examples=["BRKT-ASSY-001"])
    revision: text_up_to(20) = Field(examples=["B"])


class AssigneeIn(Body):
    """`{"user": username}` or `{"team": name}`: exactly one of them, a name, the other absent or null."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                # The titles name the two shapes in generated clients.
                {"title": "AssigneeUser", "required": ["user"], "properties": {"user": {"type": "string"}}},
                {"title": "AssigneeTeam", "required": ["team"], "properties": {"team": {"type": "string"}}},
            ]
        },
    )

    # A name is not blank (the server trims names before it checks them): the OpenAPI document
    # says so with its pattern, `one_of` in words.
    user: text_up_to(150, not_blank=True) | None = Field(None, examples=["priya"])
    team: text_up_to(100, not_blank=True) | None = Field(None, examples=["Final Assembly"])

    @model_validator(mode="after")
    def one_of(self):
        # Blank text is refused, not read as null: the document could not say that it was.
        if (self.user is None) == (self.team is None) or not (self.user or self.team):
            raise ValueError("Give either a user or a team.")
        return self


# Tabs and line breaks may stay in a value's text (a note, a measurement's remark).
LINE_BREAKS = "\t\n\r"
TEXT_VALUE = {"type": "string", "pattern": plain_text_pattern(LINE_BREAKS)}

# A step field's or a run attribute's value as the document declares it. Which of these a field
# or an attribute takes depends on its type, which only the database knows: the service refuses
# the others (422 at the field), as it refuses an object.
VALUE_SCHEMA = {
    "anyOf": [
        {"type": "number"},
        TEXT_VALUE,
        {"type": "boolean"},
        {"type": "array", "items": TEXT_VALUE},
        {"type": "null"},
    ]
}


def _plain(text: str) -> str:
    # Checked before trimming, so a control character is refused wherever it is, as the
    # document's pattern says.
    return plain_text(text, allowed=LINE_BREAKS).strip()


def _storable(value):
    """Attribute values, however nested, hold only text a database can store."""
    if isinstance(value, str):
        return _plain(value)
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


class RunIn(Body):
    part: BodyId | PartRef = Field(description="A part id, or its number and revision.")
    procedure: BodyId | None = Field(
        None,
        description="A procedure version id; null for none. A superseded version means the "
        "version of its procedure released now, as in the wizard; a draft is refused.",
    )
    source: Literal["build", "attach"] = "build"
    inventory: BodyId | text_up_to(100) | None = Field(
        None, description="For attach: an inventory unit id, or its serial number or lot number."
    )
    tracking_type: Literal[tuple(TrackingType.values)] | None = Field(
        None, description="Defaults to the part's."
    )
    serial_number: text_up_to(SERIAL_LENGTH) | None = Field(
        None, description="Serial tracking only; omitted: auto-generated.", examples=["SN-00042"]
    )
    lot_number: text_up_to(LOT_LENGTH) | None = Field(
        None, description="Lot tracking only; omitted: auto-generated.", examples=["LOT-2612-A"]
    )
    quantity: BodyInt = Field(
        1, ge=1, le=MAX_QUANTITY, description="Lot and untracked builds; a serialized run makes one unit."
    )
    name: text_up_to(RUN_NAME_LENGTH) | None = Field(
        None, description="Omitted: auto-generated.", examples=["Bracket for Falcon"]
    )
    due_date: IsoDate | None = None
    export_controlled: StrictBool = False
    assignee: AssigneeIn | None = None
    attributes: Annotated[dict[str, Any], AfterValidator(_storable)] = Field(
        default_factory=dict,
        json_schema_extra={
            "additionalProperties": VALUE_SCHEMA,
            "propertyNames": {"pattern": plain_text_pattern()},
        },
        description="{key: value}, of the JSON type the attribute's type takes, never coerced: text "
        "for text, a select's option and a user's username; true/false; a date as YYYY-MM-DD; a "
        "list of options; a number, or its decimal text. null is no value. Whatever the API "
        "answers it accepts back: numbers are answered as decimal text, which keeps them exact.",
    )


class RunsIn(Body):
    # What the interactive docs offer to try: two runs of a part, one named, in a new batch.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "runs": [
                        {"part": 1, "due_date": "2026-12-31", "assignee": {"user": "priya"}},
                        {"part": 1, "serial_number": "SN-00042", "name": "Bracket for Falcon"},
                    ],
                    "batch_name": "Order 4711",
                }
            ]
        },
    )

    runs: Annotated[list[RunIn], Field(min_length=1, max_length=MAX_RUNS)]
    batch_name: text_up_to(BATCH_NAME_LENGTH) | None = Field(
        None, description="Put every run in a new batch of this name.", examples=["Order 4711"]
    )


class RunPartOut(Schema):
    id: int
    number: str
    revision: str


class RunVersionOut(Schema):
    id: int
    title: str
    number: int


class AssigneeOut(Schema):
    user: str | None = None
    team: str | None = None


class LinksOut(Schema):
    self: str
    html: str


class RunOut(Schema):
    id: int
    number: int
    name: str
    identity: str
    part: RunPartOut
    procedure_version: RunVersionOut | None
    source: str
    tracking_type: str
    status: str
    due_date: date | None
    export_controlled: bool
    assignee: AssigneeOut | None
    batch: str | None
    attributes: dict[str, Any] = Field(
        description="{key: value}: a number as its exact decimal text, a date as YYYY-MM-DD, a user "
        "by username; each is accepted back as it is answered."
    )
    created_at: datetime
    links: LinksOut


class BatchOut(Schema):
    id: int
    name: str
    created_at: datetime


class BatchPage(Schema):
    batches: list[BatchOut]
    next: str | None


class RunsCreated(Schema):
    runs: list[RunOut]
    batch: BatchOut | None


class RunPage(Schema):
    runs: list[RunOut]
    next: str | None


class StepFieldOut(Schema):
    position: int
    label: str
    type: str
    required: bool
    options: list[Any]
    min_value: str | None = Field(description="A number field's lowest value, as decimal text.")
    max_value: str | None = Field(description="A number field's highest value, as decimal text.")
    max_length: int | None = Field(description="A text field's longest value.")
    pattern: str | None = Field(description="A regular expression a text field's value matches whole.")
    value: Any = Field(
        description="As stored: a number as its exact decimal text, text, true/false, an option, a "
        "list of options, an ISO 8601 date-time, true for a sign-off (`recorded_by` signed), a "
        "file's name; null when nothing is recorded."
    )
    recorded_by: str | None = Field(description="Who recorded the value (a username).")
    recorded_at: datetime | None


class StepOut(Schema):
    position: int
    title: str
    instructions: str
    status: str = Field(description="todo, in_progress, complete, failed, canceled (skipped) or hold.")
    started_at: datetime | None
    started_by: str | None
    finished_at: datetime | None = Field(description="When it was completed, failed or skipped.")
    finished_by: str | None
    status_reason: str = Field(description="Why it was last failed, held, resumed, skipped or reopened.")
    fields: list[StepFieldOut]


class RunDetail(RunOut):
    started_at: datetime | None
    completed_at: datetime | None
    steps: list[StepOut]


class NotReachedOut(Schema):
    number: int = Field(description="The run's number.")
    reason: str = Field(description="Why its step did not take the action, as the run page says it.")


class StepOutcomeOut(StepOut):
    """A step after an action or a recorded value."""

    message: str = Field(description="What happened, in words: the run page shows the same.")
    run_status: str = Field(description="The run's status now, derived from its steps.")
    reached: list[int] = Field(
        description="On a batched run, the numbers of the batch's other runs whose step at this position "
        "took the action too; empty off a batch, with `this_run_only`, or when the batch holds a run "
        "you may not see."
    )
    not_reached: list[NotReachedOut] = Field(
        description="The batch's other open runs you may see whose step did not take it, each with why "
        "(already complete, on hold, a value out of its range…)."
    )


# On a batched run an action reaches the sibling steps of the batch (issue 19) unless told not to.
ThisRunOnly = Annotated[
    StrictBool,
    Field(
        description="true: act on this run only, not on the sibling steps of its batch's other runs "
        "(a step moved so is marked as worked alone on the batch page)."
    ),
]


class StepActionIn(Body):
    """Start and complete take no reason."""

    # One sent anyway is refused in words, not as an unknown field (the caller would think it
    # recorded): read here, left out of the document, as it is out of a correct request.
    reason: SkipJsonSchema[str | None] = None
    this_run_only: ThisRunOnly = False


def _reason_required(schema: dict) -> None:
    schema["required"] = ["reason"]
    del schema["properties"]["reason"]["default"]


class ReasonedStepActionIn(Body):
    """Fail, hold, resume, skip and reopen say why, in a reason that is not blank."""

    # The document requires the reason (with no default, so generated clients make it a
    # required argument); a blank or missing one is let through here so the service refuses
    # it in the run page's words ("Say why the step is on hold.").
    model_config = ConfigDict(json_schema_extra=_reason_required)

    # As the run page's box for it, a reason may run over several lines.
    reason: text_up_to(REASON_LENGTH, allowed=LINE_BREAKS, not_blank=True) = Field(
        "",
        description="Why, as the run page's history and the traveler show it.",
        examples=["Waiting for the torque wrench"],
    )
    this_run_only: ThisRunOnly = False


def _plain_value(value):
    """Text in a value (or in a list of options) trimmed, and nothing a database refuses.

    Not recursive, unlike `_storable`: no field takes anything deeper, and the field says so.
    """
    if isinstance(value, str):
        return _plain(value)
    if isinstance(value, list):
        return [_plain(v) if isinstance(v, str) else v for v in value]
    return value


class FieldValueIn(Body):
    value: Annotated[Any, AfterValidator(_plain_value)] = Field(
        description="A number (or its decimal text), text, true/false, an option, a list of options, an "
        "ISO 8601 date-time; a sign-off is true (signed by you) or false (withdrawn, by its signer "
        "only); null clears the value. Files are uploaded on the run's page.",
        json_schema_extra=VALUE_SCHEMA,
    )
    this_run_only: ThisRunOnly = False


class ProcedureIn(Body):
    procedure: BodyId = Field(
        description="The id of a runnable procedure version linked to the run's part, as "
        "`GET /api/v1/parts/{id}/procedures` lists them."
    )


class RunLinks:
    """The links of runs by number: two reverse() calls an answer rather than two a run, which
    at 1,000 runs would cost a good part of a second."""

    PLACEHOLDER = 987654321

    def __init__(self):
        self.api = reverse("api:run", kwargs={"number": self.PLACEHOLDER})
        self.html = reverse("runs:detail", kwargs={"number": self.PLACEHOLDER})

    def __call__(self, number: int) -> dict:
        placeholder, number = str(self.PLACEHOLDER), str(number)
        return {"self": self.api.replace(placeholder, number), "html": self.html.replace(placeholder, number)}


def run_out(run: Run, links: RunLinks) -> dict:
    """A run as RunOut; its part, version, unit, assignee and batch must be loaded already."""
    version = run.procedure_version
    if run.assigned_user_id:
        assignee = {"user": run.assigned_user.username}
    elif run.assigned_team_id:
        assignee = {"team": run.assigned_team.name}
    else:
        assignee = None
    return {
        "id": run.pk,
        "number": run.number,
        "name": run.name,
        "identity": run.part_inventory.identity,
        "part": {"id": run.part.pk, "number": run.part.number, "revision": run.part.revision},
        "procedure_version": version and {"id": version.pk, "title": version.title, "number": version.number},
        "source": run.source,
        "tracking_type": run.tracking_type,
        "status": run.status,
        "due_date": run.due_date,
        "export_controlled": run.export_controlled,
        "assignee": assignee,
        "batch": run.batch.name if run.batch else None,
        "attributes": run.attributes,
        "created_at": run.created_at,
        "links": links(run.number),
    }


def steps_with_people():
    """Steps as `step_out` reads them: who started and finished them, their fields and who recorded them."""
    return RunStep.objects.select_related("started_by", "finished_by").prefetch_related(
        Prefetch("fields", queryset=RunStepField.objects.select_related("recorded_by"))
    )


def _username(user) -> str | None:
    return user.username if user else None


def _decimal_text(number: Decimal | None) -> str | None:
    """4.0000 as "4": the limit as a person writes it (and as the field's messages say it)."""
    return None if number is None else f"{number.normalize():f}"


def step_out(step: RunStep) -> dict:
    """A step as StepOut; loaded through `steps_with_people()`."""
    return {
        "position": step.position,
        "title": step.title,
        "instructions": step.instructions,
        "status": step.status,
        "started_at": step.started_at,
        "started_by": _username(step.started_by),
        "finished_at": step.finished_at,
        "finished_by": _username(step.finished_by),
        "status_reason": step.status_reason,
        "fields": [
            {
                "position": f.position,
                "label": f.label,
                "type": f.type,
                "required": f.required,
                "options": f.options,
                "min_value": _decimal_text(f.min_value),
                "max_value": _decimal_text(f.max_value),
                "max_length": f.max_length,
                "pattern": f.pattern or None,
                "value": f.value,
                "recorded_by": _username(f.recorded_by),
                "recorded_at": f.recorded_at,
            }
            for f in step.fields.all()
        ],
    }


class RunFilters(PageQuery):
    """The Runs page's filters, under the API's names."""

    q: SearchText | None = None
    status: str | None = Field(None, description="`open`, or todo, in_progress, hold, complete, canceled.")
    part: str | None = Field(None, description="Part number starts with.")
    procedure: str | None = Field(None, description="`none`, `v<version id>`, or `f<procedure id>`.")
    assignee: str | None = Field(None, description="`me`, `none` (unassigned), a username or a user id.")
    team: str | None = Field(None, description="A team name or id.")
    batch: str | None = Field(None, description="A batch name (exact, any case).")
    due_after: IsoDate | None = Field(None, description="Due on or after.")
    due_before: IsoDate | None = Field(None, description="Due on or before.")
    export_controlled: bool | None = Field(None, description="Only for export-cleared users.")


class BatchQuery(PageQuery):
    q: SearchText = Field("", description="Name contains.")
