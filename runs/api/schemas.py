"""The runs API's request and answer bodies: these pydantic schemas are its OpenAPI schema."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.urls import reverse
from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict, Strict, StrictBool, StrictInt, model_validator

from inventory.models import TrackingType
from ion_runs.api import Id, IsoDate, SearchText, plain_text, text_up_to
from ion_runs.api_paging import PageQuery
from runs.models import Run
from runs.services.creation import (
    BATCH_NAME_LENGTH,
    LOT_LENGTH,
    MAX_QUANTITY,
    RUN_NAME_LENGTH,
    SERIAL_LENGTH,
)

MAX_RUNS = 5_000

# A body's ids and flags are JSON numbers and booleans: `"part": true` is not part 1.
BodyId = Annotated[Id, Strict()]


class Body(Schema):
    """A request body: a field it does not know is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


class PartRef(Body):
    number: text_up_to(100)
    revision: text_up_to(20)


class AssigneeIn(Body):
    """`{"user": username}` or `{"team": name}`."""

    user: text_up_to(150) | None = None
    team: text_up_to(100) | None = None

    @model_validator(mode="after")
    def one_of(self):
        if bool(self.user) == bool(self.team):
            raise ValueError("Give either a user or a team.")
        return self


def _storable(value):
    """Attribute values, however nested, hold only text a database can store."""
    if isinstance(value, str):
        return plain_text(value.strip(), allowed="\t\n\r")
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
        None, description="Serial tracking only; omitted: auto-generated."
    )
    lot_number: text_up_to(LOT_LENGTH) | None = Field(
        None, description="Lot tracking only; omitted: auto-generated."
    )
    quantity: StrictInt = Field(
        1, ge=1, le=MAX_QUANTITY, description="Lot and untracked builds; a serialized run makes one unit."
    )
    name: text_up_to(RUN_NAME_LENGTH) | None = Field(None, description="Omitted: auto-generated.")
    due_date: IsoDate | None = None
    export_controlled: StrictBool = False
    assignee: AssigneeIn | None = None
    attributes: Annotated[dict[str, Any], AfterValidator(_storable)] = Field(
        default_factory=dict, description="{key: value}, typed per definition."
    )


class RunsIn(Body):
    runs: Annotated[list[RunIn], Field(min_length=1, max_length=MAX_RUNS)]
    batch_name: text_up_to(BATCH_NAME_LENGTH) | None = Field(
        None, description="Put every run in a new batch of this name."
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
    attributes: dict[str, Any]
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


class StepOut(Schema):
    position: int
    title: str
    instructions: str
    status: str
    fields: list[StepFieldOut]


class RunDetail(RunOut):
    steps: list[StepOut]


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
