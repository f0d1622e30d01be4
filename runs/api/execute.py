"""Working a run's steps over the JSON API (SPEC §12): another door to `runs.services.execution`.

A test station posts a measurement with `PUT …/steps/{position}/fields/{field position}`; a
station or an MES moves a step with `POST …/steps/{position}/{action}` (one operation an
action, so the document says which need a reason). The service decides
who may, in which state, with which values, and says why not; these endpoints find the run,
step and field the user may see (404 otherwise), call it, and shape its answer or refusal:

- NotYours: 403;
- StepConflict: 409, `detail` the service's message and `errors: [{"field": "status",
  "message": <the state>}]`, the state as GET shows it: the step's, or the run's once the run
  is closed (complete or canceled);
- InvalidValues: 422 at `value` (PUT), or at `values.<field position>` for each required field
  a complete finds empty;
- a reason missing or too long: 422 at `reason`.

On a batched run the action (or value) reaches the sibling step of the batch's other runs, as
on the run page, unless the body says `"this_run_only": true`; the answer names the runs it
reached and those it did not, with why (only runs the user may see: a batch holding a run
hidden from them is not worked as one).
"""

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated

from django.http import HttpRequest
from ninja import Path

from ion_runs.accounts.models import User
from ion_runs.api import ERRORS, USE_API, ApiError, ErrorOut, invalid, require
from runs.access import visible_runs
from runs.api import router
from runs.api.schemas import (
    FieldValueIn,
    ReasonedStepActionIn,
    StepActionIn,
    StepOutcomeOut,
    step_out,
    steps_with_people,
)
from runs.models import RunStep
from runs.models.steps import StepAction
from runs.services import (
    ACTIONS,
    InvalidValues,
    NotYours,
    RunChangeError,
    StepConflict,
    StepOutcome,
    record_values,
)

# The path's numbers, with an example each for the interactive docs (and schemathesis).
RunNumber = Annotated[int, Path(description="The run's number.", example=1)]
StepPosition = Annotated[int, Path(description="The step's position in its run.", example=1)]
FieldPosition = Annotated[int, Path(description="The field's position in its step.", example=1)]

# 400: a body that is not JSON at all; 409: the state does not allow it; 413: a body larger
# than the server reads; 415: a body that is not sent as JSON.
ANSWERS = {200: StepOutcomeOut, 400: ErrorOut, 409: ErrorOut, 413: ErrorOut, 415: ErrorOut, **ERRORS}


def _step(user: User, number: int, position: int) -> RunStep:
    """The step of a run the user may see (organisation, export control), or a 404."""
    run = visible_runs(user).filter(number=number).first()
    if run is None:
        raise ApiError(404, "No run with this number is visible to you.")
    step = RunStep.objects.filter(run=run, position=position).first()
    if step is None:
        raise ApiError(404, f"Run {run.number} has no step {position}.")
    step.run = run
    return step


def _refusal(error: RunChangeError, field_of: Callable[[int], str]) -> ApiError:
    """The service's refusal as an answer; `field_of` names a field position in the request."""
    if isinstance(error, NotYours):
        return ApiError(403, str(error))
    if isinstance(error, StepConflict):
        state = [{"row": None, "field": "status", "message": error.status}] if error.status else []
        return ApiError(409, str(error), state)
    if isinstance(error, InvalidValues):
        return invalid(
            [
                {"row": None, "field": field_of(position), "message": message}
                for position, message in sorted(error.errors.items())
            ],
            detail=str(error),
        )
    return invalid(
        [{"row": None, "field": error.field, "message": message} for message in error.messages],
        detail=str(error),
    )


def _answer(outcome: StepOutcome) -> dict:
    step = steps_with_people().get(pk=outcome.step.pk)
    return step_out(step) | {
        "message": outcome.message,
        "run_status": outcome.run.status,
        "reached": [run.number for run in outcome.reached],
        "not_reached": [{"number": run.number, "reason": why} for run, why in outcome.not_reached],
    }


def _act(
    user: User, *, number: int, position: int, action: StepAction, reason: str | None, this_run_only: bool
) -> dict:
    step = _step(user, number, position)
    extra = {"reason": reason} if action.needs_reason else {}
    try:
        outcome = ACTIONS[action](actor=user, step=step, this_run_only=this_run_only, **extra)
    except RunChangeError as error:
        raise _refusal(error, lambda field_position: f"values.{field_position}") from error
    return _answer(outcome)


ACTION_DOCS = {
    StepAction.START: "Start the run's next step; on a pool run, an operator who starts it picks the run up.",
    StepAction.COMPLETE: "Complete a step in progress: every required field holds a value (record them "
    "first with PUT), or a `422` names each one empty at `values.<field position>`.",
    StepAction.FAIL: "Fail a step in progress, saying why.",
    StepAction.HOLD: "Hold a step to do or in progress, saying why.",
    StepAction.RESUME: "Resume a step on hold, saying why.",
    StepAction.SKIP: "Skip a step that is not finished, saying why: a planner's call.",
    StepAction.REOPEN: "Reopen a failed step (back to to-do, its values kept), saying why: a planner's call.",
}

BATCH_AND_STATE = """

On a batched run it reaches the sibling step of every other open run of the batch where that
step allows it (`reached`), and says why not for the others (`not_reached`), unless
`this_run_only` is true.

A `409` says the step's or the run's state does not allow it: `detail` says why and
`errors[0]` is `{"field": "status", "message": <that state>}`."""


def _step_action_endpoint(action: StepAction) -> None:
    """One operation an action, so the document says which take a reason (and require it)."""
    if action.needs_reason:

        def act(
            request: HttpRequest, number: RunNumber, position: StepPosition, payload: ReasonedStepActionIn
        ):
            user = require(request, USE_API)
            return _act(
                user,
                number=number,
                position=position,
                action=action,
                reason=payload.reason,
                this_run_only=payload.this_run_only,
            )

    else:

        def act(
            request: HttpRequest,
            number: RunNumber,
            position: StepPosition,
            payload: StepActionIn | None = None,
        ):
            user = require(request, USE_API)
            # Even an empty or null one: the document has no reason here at all.
            if payload and "reason" in payload.model_fields_set:
                message = f"{action.label} takes no reason; leave reason out."
                raise invalid([{"row": None, "field": "reason", "message": message}], detail=message)
            this_run_only = payload.this_run_only if payload else False
            return _act(
                user,
                number=number,
                position=position,
                action=action,
                reason=None,
                this_run_only=this_run_only,
            )

    act.__doc__ = ACTION_DOCS[action] + BATCH_AND_STATE
    # Named as a function of its own would be, so the operation id follows the API's rule
    # (`runs_api_start_step`, `runs_api_fail_step`, …).
    act.__name__ = act.__qualname__ = f"{action.value}_step"
    router.post(
        f"/{{number}}/steps/{{position}}/{action.value}",
        response=ANSWERS,
        url_name=f"step_{action.value}",
        summary=f"{action.label} a step",
    )(act)


# URL names api:step_start, api:step_complete, api:step_fail, api:step_hold, api:step_resume,
# api:step_skip and api:step_reopen.
for _action in StepAction:
    _step_action_endpoint(_action)


def _exact(request: HttpRequest, value):
    """A JSON number as sent: 7.50 stays "7.50", which the parser's float would make 7.5.

    A measurement's precision is part of it (RunStepField keeps number text as typed).
    """
    if isinstance(value, float):
        return json.loads(request.body, parse_float=Decimal)["value"]
    return value


@router.put(
    "/{number}/steps/{position}/fields/{field_position}",
    response=ANSWERS,
    url_name="step_field",
    summary="Record a field's value (a measurement, a sign-off)",
)
def record_value(
    request: HttpRequest,
    number: RunNumber,
    position: StepPosition,
    field_position: FieldPosition,
    payload: FieldValueIn,
):
    """Record one value on a step in progress, checked against its field's rule (`422` at
    `value`, saying the range or the pattern, and nothing saved). A sign-off `true` is signed
    by the token's user; only they withdraw it (`false`). `409` when the step is not in
    progress or the run is closed, naming the state as for the step actions. On a batched run
    the value is recorded on the batch's sibling steps too, unless `this_run_only` is true."""
    user = require(request, USE_API)
    step = _step(user, number, position)
    if not step.fields.filter(position=field_position).exists():
        raise ApiError(404, f"Step {position} of run {number} has no field {field_position}.")
    value = _exact(request, payload.value)
    try:
        outcome = record_values(
            actor=user, step=step, values={field_position: value}, this_run_only=payload.this_run_only
        )
    except RunChangeError as error:
        raise _refusal(error, lambda _: "value") from error
    return _answer(outcome)
