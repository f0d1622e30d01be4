"""A run's page, and what a planner changes on it after creation (SPEC §9, §12).

Reassign, change the due date, rename, cancel, add to or take out of a batch, and add a
procedure to a run created without one: each a small form on the page posting to its own
URL. With htmx the answer is the page's header (facts, forms and any message) swapped in
place, and the history swapped beside it; without JavaScript a change redirects back to the
page, and a refusal renders the page with the message at the field. Operators see the page
without the forms.
"""

import dataclasses

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Exists, OuterRef
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from ion_runs.accounts.models import Team, User
from procedures.models import ProcedureVersion
from runs.access import PLANNER_PERMISSION, get_run_for_user, hide_hidden_batches, visible_runs
from runs.execution.forms import ReasonForm
from runs.execution.panels import may_reopen_run, step_panels
from runs.forms import DATE_INPUT, runnable_procedures
from runs.models import (
    Run,
    RunAttributeDefinition,
    RunBatch,
    RunEventKind,
    RunStatus,
    display_value,
    shown_due_date,
)
from runs.paging import wants_partial
from runs.services import (
    UNSEEN,
    RunChangeError,
    StaleChange,
    add_procedure,
    add_runs_to_batch,
    cancel_run,
    reassign_run,
    remove_run_from_batch,
    rename_run,
    reschedule_run,
)
from runs.services.run_changes import REASON_LENGTH, assignee_key, due_key

TEMPLATE = "runs/detail.html"
BATCH_SIBLINGS_SHOWN = 50
# The newest changes a run page shows; "Show all" (?history=all) shows up to HISTORY_ALL. A
# worked run gathers a few events a step, and each costs the page's rendering time.
HISTORY_SHOWN = 50
HISTORY_ALL = 2000
BATCHES_OFFERED = 50
HIDDEN_BATCH = "a batch you cannot see"


class RunForm(forms.Form):
    """A form of the run page: bound to its run and to who changes it.

    `initial_for` fills it from the run as it is; `seen` (hidden) carries back what the page
    showed, so that a change made by someone else meanwhile is not overwritten.
    """

    # A change that reaches past the header (the steps): an htmx post reloads the page.
    reloads_page = False

    def __init__(self, data=None, *, run: Run, user: User):
        super().__init__(data, initial=self.initial_for(run))
        self.run, self.user = run, user

    @classmethod
    def offered(cls, run: Run) -> bool:
        """Whether the page shows this form for this (open) run."""
        return True

    def initial_for(self, run: Run) -> dict:
        return {}

    @property
    def seen(self):
        """What the page showed; UNSEEN from a client that sent no `seen` (it showed nothing)."""
        return self.cleaned_data.get("seen") if self.add_prefix("seen") in self.data else UNSEEN

    def change(self) -> str:
        """Make the change through its service; the message that says it was made."""
        raise NotImplementedError

    def focus_refused(self) -> None:
        """Autofocus the first refused field, so that the page after a plain post, or the
        header htmx swaps in, opens on it rather than on <body>."""
        refused = next((name for name in self.errors if name in self.fields), None)
        if refused:
            self.fields[refused].widget.attrs["autofocus"] = True


class ReassignForm(RunForm):
    prefix = "reassign"
    assignee = forms.ChoiceField(required=False, label="Assigned to")
    seen = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, data=None, *, run: Run, user: User):
        super().__init__(data, run=run, user=user)
        people = User.objects.filter(organisation_id=run.organisation_id, is_active=True)
        if run.export_controlled:
            # The run would be invisible to them (SPEC §9): they are not offered.
            people = people.filter(export_cleared=True)
        self.people = {f"user:{u.pk}": u for u in people.order_by("first_name", "last_name", "username")}
        self.teams = {f"team:{t.pk}": t for t in Team.objects.filter(organisation_id=run.organisation_id)}
        field = self.fields["assignee"]
        field.choices = [
            ("", "Nobody — the unassigned pool"),
            ("Teams", [(key, f"{team.name} (team)") for key, team in self.teams.items()]),
            ("People", [(key, str(person)) for key, person in self.people.items()]),
        ]
        field.error_messages["invalid_choice"] = (
            "Only export-cleared people can be assigned an export-controlled run."
            if run.export_controlled
            else "Pick a team or a person from the list."
        )

    def initial_for(self, run):
        return {"assignee": assignee_key(run), "seen": assignee_key(run)}

    def change(self):
        key = self.cleaned_data["assignee"]
        user, team = self.people.get(key), self.teams.get(key)
        run = reassign_run(actor=self.user, run=self.run, user=user, team=team, seen=self.seen)
        return f"Run {run.number} is assigned to {user or team or 'nobody: it is in the unassigned pool'}."


class DueDateForm(RunForm):
    prefix = "due"
    due_date = forms.DateField(required=False, widget=DATE_INPUT, label="Due date")
    seen = forms.CharField(required=False, widget=forms.HiddenInput)

    def initial_for(self, run):
        return {"due_date": run.due_date, "seen": due_key(run)}

    def change(self):
        due = self.cleaned_data["due_date"]
        run = reschedule_run(actor=self.user, run=self.run, due_date=due, seen=self.seen)
        if not due:
            return f"Run {run.number} has no due date."
        # A date in the past is allowed (recording when it was due), but never by a slip unnoticed.
        past = " That date has passed: the run shows as overdue." if due < timezone.localdate() else ""
        return f"Run {run.number} is due {shown_due_date(due)}.{past}"


class RenameForm(RunForm):
    prefix = "rename"
    name = forms.CharField(max_length=Run._meta.get_field("name").max_length, label="Name")
    seen = forms.CharField(required=False, widget=forms.HiddenInput, strip=False)

    def initial_for(self, run):
        return {"name": run.name, "seen": run.name}

    def change(self):
        run = rename_run(actor=self.user, run=self.run, name=self.cleaned_data["name"], seen=self.seen)
        return f"Run {run.number} is now called “{run.name}”."


class BatchForm(RunForm):
    """Add the run to a batch the planner names; or, with `remove`, take it out of its batch."""

    prefix = "batch"
    batch = forms.CharField(
        required=False, max_length=RunBatch._meta.get_field("name").max_length, label="Batch"
    )
    remove = forms.BooleanField(required=False, widget=forms.HiddenInput)
    seen = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def initial_for(self, run):
        return {"seen": run.batch_id}

    def clean(self):
        cleaned = super().clean()
        # A batch the user may not see is answered like one that does not exist.
        batches = RunBatch.objects.visible_to(self.user).filter(organisation_id=self.run.organisation_id)
        if cleaned.get("remove"):
            seen = self.seen
            cleaned["target"] = batches.filter(pk=self.run.batch_id if seen is UNSEEN else seen).first()
            if cleaned["target"] is None:
                raise forms.ValidationError(f"Run {self.run.number} is in no batch.")
            return cleaned
        name = " ".join((cleaned.get("batch") or "").split())
        if not name:
            self.add_error("batch", "Type the name of the batch to add the run to.")
            return cleaned
        # Two batches may share a name, one holding export-controlled runs and one not (only the
        # cleared see both): the run joins the one of its own kind.
        kind = "-export_controlled" if self.run.export_controlled else "export_controlled"
        cleaned["target"] = batches.filter(name__iexact=name).order_by(kind).first()
        if cleaned["target"] is None:
            self.add_error("batch", f"There is no batch named “{name}”.")
        return cleaned

    def change(self):
        batch = self.cleaned_data["target"]
        if self.cleaned_data.get("remove"):
            remove_run_from_batch(actor=self.user, batch=batch, run=self.run)
            return f"Run {self.run.number} is no longer in batch “{batch}”."
        try:
            add_runs_to_batch(actor=self.user, batch=batch, runs=[self.run])
        except RunChangeError as error:
            error.field = "batch"
            raise
        return f"Run {self.run.number} is in batch “{batch}”."


class CancelForm(RunForm):
    prefix = "cancel"
    reason = forms.CharField(
        max_length=REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Reason",
        error_messages={"required": "Say why the run is canceled."},
    )

    def change(self):
        unit_was = self.run.part_inventory and self.run.part_inventory.status
        run = cancel_run(actor=self.user, run=self.run, reason=self.cleaned_data["reason"])
        unit = run.part_inventory
        if unit and unit.status != unit_was:
            status = unit.get_status_display().lower()
            return f"Run {run.number} is canceled; {unit.identity} is now {status}."
        return f"Run {run.number} is canceled."


class AddProcedureForm(RunForm):
    """A procedure for a run created without one (SPEC §12): the wizard's Part step choices.

    The list offers what the wizard would (runnable versions linked to the run's part, the
    newest of each family); any version the planner may see is accepted, so that the service
    says why one does not fit, in the wizard's words.
    """

    prefix = "procedure"
    reloads_page = True
    procedure = forms.ModelChoiceField(
        queryset=ProcedureVersion.objects.none(),
        label="Add procedure",
        error_messages={
            "required": "Pick the procedure to add.",
            "invalid_choice": "That procedure is not one of your organisation's.",
        },
    )

    def __init__(self, data=None, *, run: Run, user: User):
        super().__init__(data, run=run, user=user)
        field = self.fields["procedure"]
        field.queryset = ProcedureVersion.objects.visible_to(user)
        self.versions = list(runnable_procedures(user, run.part))
        field.choices = [
            ("", "Pick a procedure"),
            *(
                (v.pk, f"{v.title} · v{v.number}" + (" · export controlled" if v.export_controlled else ""))
                for v in self.versions
            ),
        ]
        self.batch_size = Run.objects.filter(batch_id=run.batch_id).count() if run.batch_id else 0

    @classmethod
    def offered(cls, run):
        return run.procedure_version_id is None and run.status == RunStatus.TODO

    @property
    def help(self) -> str:
        copied = "Steps are copied now; later revisions of the procedure leave them as they are."
        if self.batch_size > 1:
            together = "runs of a batch share one procedure version"
            return f"Applies to all {self.batch_size} runs of batch “{self.run.batch}”: {together}. {copied}"
        return copied

    def change(self):
        runs = add_procedure(actor=self.user, run=self.run, version=self.cleaned_data["procedure"])
        version = runs[0].procedure_version
        steps = version.steps.count()
        each_has = f"{steps} step{'s' if steps != 1 else ''}"
        if len(runs) > 1:
            batch = f"all {len(runs)} runs of batch “{self.run.batch}”"
            return f"“{version}” is added to {batch}: {each_has} copied to each."
        return f"Run {self.run.number} follows “{version}” now: {each_has} copied."


# The run page's forms, in the order it shows them; each posts to its own URL.
FORMS = (AddProcedureForm, ReassignForm, DueDateForm, RenameForm, BatchForm, CancelForm)


@dataclasses.dataclass
class Notice:
    text: str
    level: str = "info"


@login_required
@permission_required("runs.view_run", raise_exception=True)
@require_GET
def run_detail(request, number):
    run = get_run_for_user(request, number)
    return render(request, TEMPLATE, run_page_context(request, run))


def run_page_context(
    request,
    run: Run,
    *,
    bound=None,
    notice: Notice | None = None,
    step_bound=None,
    step_notice: Notice | None = None,
    acted_on: int | None = None,
    reopen_form=None,
) -> dict:
    """Everything the run page shows; the header, steps and history partials use the same.

    `bound` and `notice` belong to the header's forms; `step_bound` and `step_notice` to the
    step at `acted_on` (runs/execution), or to the steps region as a whole when it is None.
    """
    user = request.user
    hide_hidden_batches(user, [run])
    batch_runs, batch_more = [], 0
    if run.batch:
        siblings = visible_runs(user).filter(batch_id=run.batch_id).exclude(pk=run.pk)
        batch_runs = list(siblings.order_by("number")[: BATCH_SIBLINGS_SHOWN + 1])
        if len(batch_runs) > BATCH_SIBLINGS_SHOWN:
            batch_runs = batch_runs[:BATCH_SIBLINGS_SHOWN]
            batch_more = siblings.count() - BATCH_SIBLINGS_SHOWN
    may_change = user.has_perm(PLANNER_PERMISSION) and not run.is_closed
    action_forms = {}
    if may_change:
        action_forms = {
            form_class.prefix: form_class(run=run, user=user)
            for form_class in FORMS
            if form_class.offered(run)
        }
        if bound is not None:
            action_forms[bound.prefix] = bound
    shown = HISTORY_ALL if request.GET.get("history") == "all" else HISTORY_SHOWN
    events, events_more = history(user, run, shown)
    panels, work_refusal = step_panels(user, run, acted_on=acted_on, bound=step_bound, notice=step_notice)
    return {
        "run": run,
        "panels": panels,
        "work_refusal": work_refusal,
        "steps_notice": step_notice if acted_on is None else None,
        "may_reopen": may_reopen_run(user, run),
        "reopen_form": reopen_form or ReasonForm(prefix="reopen-run"),
        "attributes": labelled_attributes(run),
        "batch_runs": batch_runs,
        "batch_more": batch_more,
        "forms": action_forms,
        "batches_offered": batches_offered(user, run) if may_change and not run.batch else [],
        "notice": notice,
        "events": events,
        "events_more": events_more,
    }


def labelled_attributes(run: Run) -> list[tuple[str, str]]:
    """(label, shown value) per custom attribute, in the organisation's order."""
    values = dict(run.attributes or {})
    if not values:
        return []
    shown = []
    for definition in RunAttributeDefinition.objects.filter(organisation_id=run.organisation_id):
        if definition.key in values:
            shown.append((definition.label, display_value(values.pop(definition.key))))
    # Attributes whose definition was deleted since still belong to the run.
    shown += [(key, display_value(value)) for key, value in values.items()]
    return shown


def history(user, run: Run, shown: int = HISTORY_SHOWN) -> tuple[list, int]:
    """The newest `shown` of the run's events, and how many more; batches the user may not see unnamed."""
    events = list(run.events.select_related("actor", "batch", "step", "acted_on")[: shown + 1])
    more = run.events.count() - shown if len(events) > shown else 0
    events = events[:shown]
    if not user.export_cleared:
        for event in events:
            # The run a batch action was taken on is named only to those who may see it.
            if event.acted_on is not None and event.acted_on.export_controlled:
                event.acted_on = None
        batch_ids = {event.batch_id for event in events if event.batch_id}
        visible = set(RunBatch.objects.visible_to(user).filter(pk__in=batch_ids).values_list("pk", flat=True))
        for event in events:
            # A batch event without its batch is of a deleted batch, which may have held an
            # export-controlled run that nothing records now: its name is not shown either.
            names_a_batch = event.batch_id or event.kind in RunEventKind.naming_a_batch()
            if names_a_batch and event.batch_id not in visible:
                event.batch = None
                event.before = event.before and HIDDEN_BATCH
                event.after = event.after and HIDDEN_BATCH
    return events, more


def batches_offered(user, run: Run) -> list[str]:
    """Names of the newest batches the run could join: empty, or on the run's procedure version."""
    # `procedure_version_id=None` is IS NULL: runs without a procedure batch with their kind.
    same_version = Run.objects.filter(batch=OuterRef("pk"), procedure_version_id=run.procedure_version_id)
    any_run = Run.objects.filter(batch=OuterRef("pk"))
    batches = RunBatch.objects.visible_to(user).filter(Exists(same_version) | ~Exists(any_run))
    return list(batches.order_by("-created_at").values_list("name", flat=True)[:BATCHES_OFFERED])


@login_required
@permission_required(PLANNER_PERMISSION, raise_exception=True)
@require_POST
def change_run(request, number: int, form_class: type[RunForm]):
    """Bind the form to the post and make its change; answer as the module docstring says."""
    run = get_run_for_user(request, number)
    form, notice = None, None
    if refusal := run.closed_refusal():
        notice = Notice(refusal, "warning")
    else:
        form = form_class(request.POST, run=run, user=request.user)
    if form is not None and form.is_valid():
        try:
            done = form.change()
        except StaleChange as stale:
            # The run as it is now, with fresh forms, rather than the planner's stale values.
            form, notice = None, Notice(" ".join(stale.messages), "warning")
        except RunChangeError as error:
            if error.field in form.fields:
                form.add_error(error.field, error.messages)
            else:
                form, notice = None, Notice(" ".join(error.messages), "warning")
        else:
            if not wants_partial(request):
                messages.success(request, done)
                return redirect("runs:detail", number=run.number)
            if form.reloads_page:
                # The steps region changes too, and the header alone cannot carry it: htmx loads
                # the page again (replacing this history entry, the address being the same), so
                # focus and reading start at its top, with the message, as after a plain post.
                messages.success(request, done)
                return HttpResponseClientRedirect(reverse("runs:detail", args=[run.number]))
            form, notice = None, Notice(done, "success")
    if form is not None:
        form.focus_refused()
    run = get_run_for_user(request, number)
    context = run_page_context(request, run, bound=form, notice=notice)
    if wants_partial(request):
        return render(request, f"{TEMPLATE}#run-header", context | {"swap": True})
    return render(request, TEMPLATE, context)
