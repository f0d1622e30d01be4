"""Service functions: every write that spans models, each under `transaction.atomic`.

- `creation`: making runs (`create_runs`, for the wizard, the API and the tests);
- `drafts`: making them from a planner's Review rows;
- `run_changes`: reassigning, rescheduling, renaming, canceling and picking up a run;
- `batches`: making and renaming batches, adding runs to them later, taking runs out;
- `execution`: working a run's steps, recording values, completion into inventory (SPEC §12);
- `procedures`: adding a procedure to a run created without one, and to its batch (SPEC §12);
- `events`: the history those write (a RunEvent per change, in the same transaction).

The names other modules use are re-exported here: `from runs.services import create_runs`.
"""

from runs.services.batches import (
    add_runs_to_batch,
    create_batch,
    delete_batch,
    remove_run_from_batch,
    rename_batch,
)
from runs.services.creation import (
    NOT_RUNNABLE_INVENTORY,
    UNRELEASED_PROCEDURE,
    Problem,
    RunCreationError,
    RunRequest,
    auto_run_name,
    create_runs,
    problems_with,
)
from runs.services.drafts import LIST_CHANGED, create_runs_from_drafts
from runs.services.events import record_changes
from runs.services.execution import (
    ACTIONS,
    InvalidValues,
    NotYours,
    StepConflict,
    StepOutcome,
    complete_step,
    fail_step,
    hold_step,
    record_values,
    reopen_run,
    reopen_step,
    resume_step,
    skip_step,
    start_step,
)
from runs.services.procedures import ProcedureLocked, add_procedure
from runs.services.run_changes import (
    UNSEEN,
    RunChangeError,
    StaleChange,
    cancel_run,
    pick_up_run,
    reassign_run,
    rename_run,
    reschedule_run,
)

__all__ = [
    "ACTIONS",
    "LIST_CHANGED",
    "NOT_RUNNABLE_INVENTORY",
    "UNRELEASED_PROCEDURE",
    "UNSEEN",
    "InvalidValues",
    "NotYours",
    "Problem",
    "ProcedureLocked",
    "RunChangeError",
    "RunCreationError",
    "RunRequest",
    "StaleChange",
    "StepConflict",
    "StepOutcome",
    "add_procedure",
    "add_runs_to_batch",
    "auto_run_name",
    "cancel_run",
    "complete_step",
    "create_batch",
    "create_runs",
    "create_runs_from_drafts",
    "delete_batch",
    "fail_step",
    "hold_step",
    "pick_up_run",
    "problems_with",
    "reassign_run",
    "record_changes",
    "record_values",
    "remove_run_from_batch",
    "rename_batch",
    "rename_run",
    "reopen_run",
    "reopen_step",
    "reschedule_run",
    "resume_step",
    "skip_step",
    "start_step",
]
