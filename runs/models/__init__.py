"""The runs app's models, by concern; import them from here: `from runs.models import Run`."""

from runs.models.attributes import AttributeType, RunAttributeDefinition, display_value
from runs.models.batches import (
    CLOSED_RUNS_STAY,
    NAMED_IN_MESSAGE,
    RunBatch,
    RunBatchQuerySet,
    mixed_versions_message,
    named_in_message,
)
from runs.models.drafts import RunDraft, too_many_rows
from runs.models.events import RunEvent, RunEventKind
from runs.models.runs import Run, RunQuerySet, RunSource, RunStatus, shown_due_date
from runs.models.steps import RunStep, RunStepField, StepStatus

__all__ = [
    "CLOSED_RUNS_STAY",
    "NAMED_IN_MESSAGE",
    "AttributeType",
    "Run",
    "RunAttributeDefinition",
    "RunBatch",
    "RunBatchQuerySet",
    "RunDraft",
    "RunEvent",
    "RunEventKind",
    "RunQuerySet",
    "RunSource",
    "RunStatus",
    "RunStep",
    "RunStepField",
    "StepStatus",
    "display_value",
    "mixed_versions_message",
    "named_in_message",
    "shown_due_date",
    "too_many_rows",
]
