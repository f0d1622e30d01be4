"""Working a run's steps from its page (SPEC §12): the step panel's actions, files, reopening a run.

Each action is a small form posting to its own URL. With htmx the answer is the page's
steps region swapped in place (the header and history follow out of band), with focus on
what changed: the notice in the step acted on, or the first field refused. Without
JavaScript a done action redirects back to the step; a refusal renders the page with the
message at the field (200), or in the step when the state or the user does not allow it
(409, 403).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from procedures.models import FieldType
from runs.access import ADMIN_PERMISSION, get_run_for_user
from runs.execution.forms import ReasonForm, StepValuesForm
from runs.models import RunStepField
from runs.models.steps import StepAction
from runs.paging import wants_partial
from runs.run_actions import TEMPLATE, Notice, run_page_context
from runs.services import (
    ACTIONS,
    InvalidValues,
    NotYours,
    RunChangeError,
    StepConflict,
    record_values,
    reopen_run,
)

SAVE = "save"
REOPEN_RUN = "reopen-run"


@login_required
@permission_required("runs.view_run", raise_exception=True)
@require_POST
def step_action(request, number: int, position: int, action: str):
    if action != SAVE and action not in StepAction.values:
        raise Http404("No such step action.")
    run = get_run_for_user(request, number)
    step = get_object_or_404(run.steps, position=position)
    step.run = run
    user = request.user
    status, notice = 200, None
    if action in (SAVE, StepAction.COMPLETE):
        fields = list(step.fields.order_by("position").select_related("recorded_by"))
        form = StepValuesForm(request.POST, request.FILES, step=step, fields=fields, user=user)
    else:
        form = (
            ReasonForm(request.POST, prefix=f"{action}-{step.position}")
            if StepAction(action).needs_reason
            else None
        )
    if form is None or form.is_valid():
        try:
            # On a batched run, "this run only" keeps the action off the batch's other runs.
            outcome = _act(user, step, action, form, request.POST.get("this_run_only") == "on")
        except InvalidValues as refused:
            form.add_errors(refused.errors)
            notice = Notice(str(refused), "warning")
        except NotYours as refused:
            form, status, notice = None, 403, Notice(str(refused), "warning")
        except StepConflict as refused:
            form, status, notice = None, 409, Notice(str(refused), "warning")
        except RunChangeError as refused:
            if refused.field and form is not None and refused.field in form.fields:
                form.add_error(refused.field, refused.messages)
            else:
                form, notice = None, Notice(str(refused), "warning")
        else:
            # A step that failed or waits is news to act on, not a success.
            level = "warning" if action in (StepAction.FAIL, StepAction.HOLD) else "success"
            if not wants_partial(request):
                messages.add_message(request, getattr(messages, level.upper()), outcome.message)
                return redirect(reverse("runs:detail", args=[run.number]) + f"#step-{step.position}")
            form, notice = None, Notice(outcome.message, level)
    return _step_page(request, number, step.position, form, notice, status)


def _act(user, step, action: str, form, this_run_only: bool):
    scope = {"actor": user, "step": step, "this_run_only": this_run_only}
    if action == SAVE:
        values, files = form.values()
        return record_values(**scope, values=values, files=files)
    if action == StepAction.COMPLETE:
        values, files = form.values()
        return ACTIONS[action](**scope, values=values, files=files)
    if form is not None:
        return ACTIONS[action](**scope, reason=form.cleaned_data["reason"])
    return ACTIONS[action](**scope)


def _step_page(request, number: int, position: int, form, notice, status: int):
    run = get_run_for_user(request, number)
    context = run_page_context(request, run, step_bound=form, step_notice=notice, acted_on=position)
    if form is not None and form.errors:
        _focus_first_error(form)
    if wants_partial(request):
        # htmx swaps only 2xx answers: a refusal is shown in place all the same.
        return render(request, f"{TEMPLATE}#run-steps", context | {"step_swap": True, "swap": True})
    return render(request, TEMPLATE, context, status=status)


def _focus_first_error(form) -> None:
    """A keyboard user lands in the first field to fix (htmx focuses [autofocus] in what it swaps in)."""
    for name in form.fields:
        if name in form.errors:
            form.fields[name].widget.attrs["autofocus"] = True
            return


@login_required
@permission_required("runs.view_run", raise_exception=True)
@require_GET
def step_file(request, number: int, position: int, field_position: int):
    """A file recorded on a step: only to those who may see the run, never from a public folder."""
    run = get_run_for_user(request, number)
    field = get_object_or_404(
        RunStepField,
        run_step__run=run,
        run_step__position=position,
        position=field_position,
        type=FieldType.FILE,
    )
    if not field.file:
        raise Http404("No file was recorded here.")
    return FileResponse(field.file.open("rb"), as_attachment=True, filename=field.value or None)


@login_required
@permission_required(ADMIN_PERMISSION, raise_exception=True)
@require_POST
def reopen(request, number: int):
    """An admin reopens a complete run, with a reason."""
    run = get_run_for_user(request, number)
    form = ReasonForm(request.POST, prefix=REOPEN_RUN)
    notice, status = None, 200
    if form.is_valid():
        try:
            reopen_run(actor=request.user, run=run, reason=form.cleaned_data["reason"])
        except StepConflict as refused:
            notice, status = Notice(str(refused), "warning"), 409
        else:
            done = f"Run {run.number} is open again; its last completed step is back in progress."
            if not wants_partial(request):
                messages.success(request, done)
                return redirect("runs:detail", number=run.number)
            notice = Notice(done, "success")
    run = get_run_for_user(request, number)
    context = run_page_context(request, run, reopen_form=form if form.errors else None, step_notice=notice)
    if wants_partial(request):
        return render(request, f"{TEMPLATE}#run-steps", context | {"step_swap": True, "swap": True})
    return render(request, TEMPLATE, context, status=status)
