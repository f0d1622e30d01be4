"""What each step's panel on the run page shows and offers the user looking at it (SPEC §12)."""

import dataclasses

from django.db.models import Prefetch

from runs.access import ADMIN_PERMISSION, PLANNER_PERMISSION, visible_runs
from runs.execution.forms import ReasonForm, StepValuesForm
from runs.models import Run, RunStatus, RunStep, RunStepField
from runs.models.steps import StepAction, StepStatus


@dataclasses.dataclass
class StepPanel:
    step: RunStep
    fields: list[RunStepField]
    is_current: bool = False
    can_start: bool = False
    values_form: StepValuesForm | None = None
    # The actions asking for a reason that this user may take now, in the order shown.
    reason_forms: dict[str, ReasonForm] = dataclasses.field(default_factory=dict)
    # What was just done to this step (run_actions.Notice), shown where it happened.
    notice: object | None = None
    # How many other open runs of its batch an action on this step reaches.
    batch_others: int = 0

    @property
    def has_errors(self) -> bool:
        forms = [self.values_form, *self.reason_forms.values()]
        return any(form is not None and form.errors for form in forms)


# The actions a reason form offers, by the step's status.
REASON_ACTIONS = {
    StepStatus.TODO: [StepAction.HOLD, StepAction.SKIP],
    StepStatus.IN_PROGRESS: [StepAction.HOLD, StepAction.FAIL, StepAction.SKIP],
    StepStatus.HOLD: [StepAction.RESUME, StepAction.SKIP],
    StepStatus.FAILED: [StepAction.REOPEN],
}


def run_steps(run: Run) -> list[RunStep]:
    """The run's steps in order, with their fields and who did what: a fixed number of queries."""
    fields = RunStepField.objects.order_by("position").select_related("recorded_by")
    steps = run.steps.order_by("position").select_related("started_by", "finished_by")
    return list(steps.prefetch_related(Prefetch("fields", queryset=fields)))


def step_panels(
    user,
    run: Run,
    *,
    acted_on: int | None = None,
    bound: StepValuesForm | ReasonForm | None = None,
    notice=None,
) -> tuple[list[StepPanel], str]:
    """A panel per step, and why the user may not work on the run ("" if they may).

    The step at `acted_on` carries the `notice` of what was just done, and the `bound` form
    when what was posted is shown again with its errors.
    """
    steps = run_steps(run)
    refusal = "" if run.is_closed else run.worker_refusal(user)
    batch_others = 0
    if run.batch_id and not run.is_closed and not refusal:
        # As the services reach them: the open runs of the batch the user may see (run.batch is
        # already blanked when the batch holds a run hidden from the user).
        others = visible_runs(user).filter(batch_id=run.batch_id, status__in=RunStatus.open())
        batch_others = others.exclude(pk=run.pk).count()
    may_work = not run.is_closed and not refusal
    planner = user.has_perm(PLANNER_PERMISSION)
    current = next((step for step in steps if not step.is_done), None)
    panels = []
    for step in steps:
        panel = StepPanel(step=step, fields=list(step.fields.all()), is_current=step is current)
        if may_work:
            _offer(panel, user, planner)
        if step.position == acted_on:
            panel.notice = notice
            if isinstance(bound, StepValuesForm):
                panel.values_form = bound
            elif isinstance(bound, ReasonForm):
                panel.reason_forms[bound.prefix.split("-")[0]] = bound
        panels.append(panel)
    for panel in panels:
        panel.batch_others = batch_others
    return panels, refusal


def _offer(panel: StepPanel, user, planner: bool) -> None:
    step = panel.step
    if step.status == StepStatus.IN_PROGRESS:
        panel.values_form = StepValuesForm(step=step, fields=panel.fields, user=user)
    # Starting, or holding before starting, waits for the steps before (the current step is
    # the first not done); a step already under way is worked wherever it is.
    if step.status == StepStatus.TODO and not panel.is_current:
        actions = [StepAction.SKIP]
    else:
        actions = REASON_ACTIONS.get(step.status, [])
        panel.can_start = step.status == StepStatus.TODO
    for action in actions:
        if action.for_planners and not planner:
            continue
        panel.reason_forms[action.value] = ReasonForm(prefix=f"{action.value}-{step.position}")


def may_reopen_run(user, run: Run) -> bool:
    return run.status == RunStatus.COMPLETE and user.has_perm(ADMIN_PERMISSION)
