"""The runs API's request and answer bodies: these pydantic schemas are its OpenAPI schema."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.urls import reverse
from ninja import Field, Schema
from pydantic import ConfigDict, model_validator

from inventory.models import TrackingType
from ion_runs.api import Id, IsoDate, SearchText
from ion_runs.api_paging import PageQuery
from runs.models import Run

MAX_RUNS = 5_000


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class PartRef(Strict):
    number: str = Field(max_length=100)
    revision: str = Field(max_length=20)


class AssigneeIn(Strict):
    """`{"user": username}` or `{"team": name}`."""

    user: str | None = Field(None, max_length=150)
    team: str | None = Field(None, max_length=100)

    @model_validator(mode="after")
    def one_of(self):
        if bool(self.user) == bool(self.team):
            raise ValueError("Give either a user or a team.")
        return self


class RunIn(Strict):
    part: Id | PartRef = Field(description="A part id, or its number and revision.")
    procedure: Id | None = Field(None, description="A released procedure version id; null for none.")
    source: Literal["build", "attach"] = "build"
    inventory: Id | Annotated[str, Field(max_length=100)] | None = Field(
        None, description="For attach: an inventory unit id, or its serial number or lot number."
    )
    tracking_type: Literal[tuple(TrackingType.values)] | None = Field(
        None, description="Defaults to the part's."
    )
    serial_number: str | None = Field(None, description="Omitted: auto-generated.")
    lot_number: str | None = Field(None, description="Omitted: auto-generated.")
    quantity: int = Field(1, ge=-(2**31), le=2**31 - 1)
    name: str | None = Field(None, max_length=1000, description="Omitted: auto-generated.")
    due_date: IsoDate | None = None
    export_controlled: bool = False
    assignee: AssigneeIn | None = None
    attributes: dict[str, Any] = Field(
        default_factory=dict, description="{key: value}, typed per definition."
    )


class RunsIn(Strict):
    runs: Annotated[list[RunIn], Field(min_length=1, max_length=MAX_RUNS)]
    batch_name: str | None = Field(None, description="Put every run in a new batch of this name.")


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
    assignee: str | None = Field(None, description="`me`, `none` (unassigned) or a user id.")
    team: str | None = Field(None, description="A team id.")
    batch: str | None = Field(None, description="A batch name (exact, any case).")
    due_after: IsoDate | None = Field(None, description="Due on or after.")
    due_before: IsoDate | None = Field(None, description="Due on or before.")
    export_controlled: bool | None = Field(None, description="Only for export-cleared users.")


class BatchQuery(PageQuery):
    q: SearchText = Field("", description="Name contains.")
