"""Adding a procedure to a run created without one over the JSON API (SPEC §12): another door
to `runs.services.add_procedure`.

`POST /api/v1/runs/{number}/procedure` with `{"procedure": <version id>}`. The endpoint finds
the run and the version the token's user may see (404 otherwise), calls the service, and
answers with the run as `GET /api/v1/runs/{number}` shows it, its steps copied. The service's
refusals:

- NotYours: 403;
- ProcedureLocked (the run, or a run of its batch, has a procedure already, or has started,
  completed or been canceled): 409, `detail` the message and an `errors` item at `procedure`
  for each;
- anything else about the version (unreleased, not linked to a run's part, an assignee who
  could not see the run once export controlled): 422 at `procedure`, in the wizard's words.
"""

from typing import Annotated

from django.http import HttpRequest
from ninja import Path

from ion_runs.api import ERRORS, ApiError, ErrorOut, invalid, require
from procedures.models import ProcedureVersion
from runs.access import PLANNER_PERMISSION, visible_runs
from runs.api import router
from runs.api.read import run_detail
from runs.api.schemas import ProcedureIn, RunDetail
from runs.services import NotYours, ProcedureLocked, RunChangeError, add_procedure

RunNumber = Annotated[int, Path(description="The run's number.", example=1)]

# 400: a body that is not JSON at all; 409: a run's state does not allow it; 413: a body larger
# than the server reads; 415: a body that is not sent as JSON.
ANSWERS = {200: RunDetail, 400: ErrorOut, 409: ErrorOut, 413: ErrorOut, 415: ErrorOut, **ERRORS}


def _refusal(error: RunChangeError) -> ApiError:
    if isinstance(error, NotYours):
        return ApiError(403, str(error))
    items = [{"row": None, "field": error.field, "message": message} for message in error.messages]
    if isinstance(error, ProcedureLocked):
        return ApiError(409, str(error), items)
    return invalid(items, detail=str(error))


@router.post(
    "/{number}/procedure",
    response=ANSWERS,
    url_name="run_procedure",
    summary="Add a procedure to a run created without one",
)
def add_run_procedure(request: HttpRequest, number: RunNumber, payload: ProcedureIn):
    """Give a run created without a procedure ("add one later") a runnable version linked to its
    part, as the wizard's Part step offers them (`GET /api/v1/parts/{id}/procedures`). Its steps
    are copied now, and stay as they are when the procedure is revised later. A run in a batch
    gets it with every run of its batch, or none does (`422` naming the runs whose part the
    version is not linked to). Answers the run as `GET /api/v1/runs/{number}` does.

    A `409` says a run's state does not allow it: it has a procedure already, or it (or a run of
    its batch) has started, completed or been canceled."""
    user = require(request, PLANNER_PERMISSION)
    run = visible_runs(user).filter(number=number).first()
    if run is None:
        raise ApiError(404, "No run with this number is visible to you.")
    version = ProcedureVersion.objects.visible_to(user).filter(pk=payload.procedure).first()
    if version is None:
        raise ApiError(404, f"No procedure with id {payload.procedure} is visible to you.")
    try:
        add_procedure(actor=user, run=run, version=version)
    except RunChangeError as error:
        raise _refusal(error) from error
    return run_detail(user, number)
