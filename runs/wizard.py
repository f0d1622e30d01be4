"""The New Run wizard: Source, Part, Identify, Details, Review.

Each wizard run has its own id in the URL, so two tabs never share (or wipe) a
draft, and each step has its own URL, so reloading a step only re-renders it.
"""

import datetime
import secrets
from functools import cached_property

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.db.models import Max
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_GET
from formtools.wizard.views import NamedUrlSessionWizardView

from inventory.models import Part, PartInventory
from ion_runs.search import search_text
from procedures.models import ProcedureVersion
from runs import forms
from runs.models import RunDraft, RunSource
from runs.review import (
    REVIEW_PAGE_ROWS,
    WIZARD_ID,
    create_button_label,
    earlier_notice,
    page_of,
    removed_rows,
    review_full,
    review_page,
    review_rows,
)
from runs.services import RunCreationError, create_runs_from_drafts

STEPS = [
    ("source", "Source", forms.SourceForm),
    ("part", "Part", forms.PartForm),
    ("identify", "Identify", forms.IdentifyForm),
    ("details", "Details", forms.DetailsForm),
    ("review", "Review", forms.ReviewForm),
]
STEP_LABELS = {name: label for name, label, _ in STEPS}


def as_pk(value) -> int | None:
    """A primary key from a query string or a posted field; anything else names no object."""
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return None
    return pk if 0 < pk < 2**63 else None


@login_required
@permission_required("runs.add_run", raise_exception=True)
@require_GET
def start_new_run(request):
    """Every entry point lands here; the query string carries what to pre-select."""
    prefill = {}
    if procedure_id := request.GET.get("procedure"):
        version = get_object_or_404(ProcedureVersion.objects.visible_to(request.user), pk=as_pk(procedure_id))
        prefill["procedure"] = version.pk
        linked = list(version.parts.visible_to(request.user).values_list("pk", flat=True)[:2])
        if len(linked) == 1:
            prefill["part"] = linked[0]
    if inventory_id := request.GET.get("inventory"):
        units = PartInventory.objects.filter(part__in=Part.objects.visible_to(request.user))
        unit = get_object_or_404(units, pk=as_pk(inventory_id))
        prefill.update(source=RunSource.ATTACH, part=unit.part_id, inventory=unit.pk)
    if due := request.GET.get("due"):
        try:
            prefill["due_date"] = datetime.date.fromisoformat(due).isoformat()
        except ValueError as exc:
            raise Http404("Not a date") from exc
    wizard_id = secrets.token_urlsafe(9)
    request.session[prefill_key(wizard_id)] = prefill
    return redirect("runs:wizard-step", wizard_id=wizard_id, step="source")


def refusal_summary(count: int) -> str:
    it = "it" if count == 1 else "them"
    return (
        f"Nothing was created: {count} row{pluralize(count)} {pluralize(count, 'has,have')} a problem, "
        f"shown at the row. Fix {it} with Edit or remove {it}, then press Create again."
    )


def prefill_key(wizard_id: str) -> str:
    """Where a wizard's entry point leaves what to pre-select, in the planner's session."""
    return f"new_run_prefill_{wizard_id}"


def offer_batch(request, wizard_id: str, batch_name: str) -> None:
    """Review of this wizard opens with Batch runs ticked and named `batch_name`."""
    key = prefill_key(wizard_id)
    request.session[key] = {**request.session.get(key, {}), "batch_name": batch_name}


class NewRunWizard(LoginRequiredMixin, PermissionRequiredMixin, NamedUrlSessionWizardView):
    form_list = [(name, form) for name, _, form in STEPS]
    permission_required = "runs.add_run"
    # Anonymous visitors go to the login page and back; signed-in users without the permission get 403.
    raise_exception = False

    @classmethod
    def as_view(cls, **initkwargs):
        return super().as_view(url_name="runs:wizard-step", done_step_name="done", **initkwargs)

    def dispatch(self, request, *args, **kwargs):
        # Anonymous visitors are sent to log in first (by the mixins), whatever the URL holds.
        if request.user.is_authenticated and not WIZARD_ID.match(kwargs["wizard_id"]):
            raise Http404("No such wizard")
        return super().dispatch(request, *args, **kwargs)

    def get_prefix(self, request, *args, **kwargs):
        return f"new_run_{kwargs['wizard_id']}"

    def get_step_url(self, step):
        return reverse(self.url_name, kwargs={"wizard_id": self.kwargs["wizard_id"], "step": step})

    def get_template_names(self):
        return [f"runs/wizard/{self.steps.current}.html"]

    # -- what earlier steps decided ------------------------------------------------

    @property
    def prefill(self) -> dict:
        return self.request.session.get(prefill_key(self.kwargs["wizard_id"]), {})

    def cleaned(self, step: str) -> dict:
        return self.get_cleaned_data_for_step(step) or {}

    def chosen_part(self):
        return self.cleaned("part").get("part")

    @cached_property
    def step_states(self) -> dict[str, str]:
        """Per step: "done" (its saved data is valid), "open" (every step before it is done),
        or "locked". Review holds the saved rows, whatever the steps hold: open when there
        are rows (removed ones offer Undo), and its URL always answers, rows or not.

        Read once per request: a request that saves step data redirects before rendering.
        """
        states, blocked = {}, False
        for name, _, _ in STEPS[:-1]:
            valid = self.get_cleaned_data_for_step(name) is not None
            states[name] = "locked" if blocked else "done" if valid else "open"
            blocked = blocked or not valid
        has_rows = RunDraft.objects.filter(owner=self.request.user).exists()
        states["review"] = "open" if has_rows or self.kwargs.get("step") == "review" else "locked"
        return states

    def get_form_initial(self, step):
        prefill = self.prefill
        match step:
            case "source":
                return {"source": prefill.get("source", RunSource.BUILD)}
            case "part":
                return {"part": prefill.get("part"), "procedure": prefill.get("procedure")}
            case "identify":
                return {"inventory": prefill.get("inventory")}
            case "details":
                return {"due_date": prefill.get("due_date")}
            case "review" if prefill.get("batch_name"):
                return {"batch": True, "batch_name": prefill["batch_name"]}
        return {}

    def get_form_kwargs(self, step=None):
        if step == "source":
            return {}
        kwargs = {"user": self.request.user}
        if step == "identify":
            kwargs.update(
                part=self.chosen_part(),
                source=self.cleaned("source").get("source"),
                draft_id=self.storage.extra_data.get("draft_id"),
            )
        elif step == "details":
            part = self.cleaned("part")
            kwargs.update(part=part.get("part"), procedure=part.get("procedure"))
        return kwargs

    # -- rendering ------------------------------------------------------------------

    def get(self, request, *args, **kwargs):
        step = kwargs.get("step")
        if step == self.done_step_name:
            return redirect(self.get_step_url("review"))
        if step in self.get_form_list():
            states = self.step_states
            if states[step] == "locked" and step != "review":
                missing = next(name for name, state in states.items() if state == "open")
                messages.info(
                    request, f"Complete {STEP_LABELS[missing]} first: {STEP_LABELS[step]} needs it."
                )
                self.storage.current_step = missing
                return redirect(self.get_step_url(missing))
        if request.htmx and step == "part" and "part" in request.GET:
            return self.render_procedure_choices()
        if request.htmx and step == "review" and "button" in request.GET:
            count = RunDraft.objects.filter(owner=request.user, removed_at__isnull=True).count()
            batched = bool(request.GET.get("review-batch"))
            return render(
                request,
                "runs/wizard/review.html#create-button",
                {"create_label": create_button_label(count, batched), "row_count": count},
            )
        if request.htmx and "q" in request.GET and step in ("part", "identify"):
            context = self.picker_context(step) | {"wizard_id": kwargs["wizard_id"]}
            return render(request, f"runs/wizard/{step}.html#results", context)
        return super().get(request, *args, **kwargs)

    def render(self, form=None, **kwargs):
        form = form or self.get_form()
        if self.request.method == "GET" and form.is_bound:
            # A step shows errors only after its own submit: saved data that an earlier
            # step has since made invalid (another part, say) is shown without blame.
            values = {name: form[name].value() for name in form.fields}
            step = self.steps.current
            form = type(form)(
                **self.get_form_kwargs(step),
                prefix=form.prefix,
                initial=self.get_form_initial(step) | values,
            )
        return super().render(form, **kwargs)

    def render_procedure_choices(self):
        part = Part.objects.visible_to(self.request.user).filter(pk=as_pk(self.request.GET["part"])).first()
        context = self.procedure_context(part, decided=False, chosen=None)
        context |= {"part": part, "wizard_id": self.kwargs["wizard_id"]}
        return render(self.request, "runs/wizard/part.html#procedures", context)

    def procedure_context(self, part, *, decided: bool, chosen) -> dict:
        """The Part step's procedure choices for `part`: which is checked, and which versions
        the planner may have expected that cannot start a run yet, each saying why."""
        user = self.request.user
        procedures = forms.runnable_procedures(user, part)
        selected = chosen if decided else self.default_procedure(procedures)
        unreleased = forms.unreleased_procedures(user, part, self.prefill.get("procedure"))
        if not unreleased and not procedures:
            unreleased = forms.unreleased_procedures(user, part)
        return {
            "procedures": procedures,
            "selected_procedure": selected,
            "none_chosen": decided and not selected,
            "unreleased": [forms.what_to_release(version) for version in unreleased],
        }

    def default_procedure(self, procedures) -> int | None:
        """Opened from a procedure page, that procedure; else the part's only runnable one.

        "None — add one later" stays a choice the planner makes, not one made for them.
        """
        offered = [version.pk for version in procedures]
        if self.prefill.get("procedure") in offered:
            return self.prefill["procedure"]
        return offered[0] if len(offered) == 1 else None

    def picker_context(self, step) -> dict:
        query = search_text(self.request)
        if step == "part":
            if not query and self.prefill.get("procedure"):
                # Opened from a procedure page: offer the parts it is linked to first.
                visible = Part.objects.visible_to(self.request.user)
                linked = visible.filter(procedure_versions=self.prefill["procedure"])
                parts = forms.picker_results(visible, linked.order_by("number", "revision"))
            else:
                parts = forms.search_parts(self.request.user, query)
            # A search keeps the part the planner has picked (htmx sends its radio along).
            picked = as_pk(self.request.GET.get("part-part"))
            selected = picked and Part.objects.visible_to(self.request.user).filter(pk=picked).first()
            return {"query": query, "parts": parts, "selected_part": selected or None}
        part = self.chosen_part()
        picked = as_pk(self.request.GET.get("identify-inventory"))
        selected = picked and forms.units_of(self.request.user, part).filter(pk=picked).first()
        return {
            "query": query,
            "units": forms.search_inventory(self.request.user, part, query),
            "selected_unit": selected or None,
        }

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        states = self.step_states
        context["stepper"] = [
            {"name": name, "label": label, "current": name == self.steps.current, "state": states[name]}
            for name, label, _ in STEPS
        ]
        context["wizard_id"] = self.kwargs["wizard_id"]
        step = self.steps.current
        if step == "part":
            context |= self.picker_context("part")
            part = Part.objects.visible_to(self.request.user).filter(pk=as_pk(form["part"].value())).first()
            # Once the planner has submitted a choice, it stands, "None" included; a submit
            # that picked nothing leaves nothing checked.
            posted = form.data if form.is_bound else self.storage.get_step_data("part") or {}
            decided = form.add_prefix("procedure") in posted
            context |= self.procedure_context(part, decided=decided, chosen=form["procedure"].value())
            context["selected_part"] = part
            if self.prefill.get("procedure") and part is None and not context["unreleased"]:
                context["preselected_procedure"] = (
                    ProcedureVersion.objects.visible_to(self.request.user)
                    .filter(pk=self.prefill["procedure"])
                    .first()
                )
        elif step == "identify":
            context |= self.picker_context("identify")
            context["part"] = self.chosen_part()
            units = forms.units_of(self.request.user, context["part"])
            context["selected_unit"] = units.filter(pk=as_pk(form["inventory"].value())).first()
        elif step == "details":
            context["part"] = self.chosen_part()
        elif step == "review":
            user, wizard_id, number = self.request.user, self.kwargs["wizard_id"], page_of(self.request)
            problems = kwargs.get("row_problems", {})
            every = review_rows(user, problems, wizard_id=wizard_id, page=number)
            refused_rows = [row for row in every["rows"] if row.problems]
            if problems and refused_rows:
                # After a refused Create, the page with the first row to fix.
                number = every["rows"].index(refused_rows[0]) // REVIEW_PAGE_ROWS + 1
                every = review_rows(user, problems, wizard_id=wizard_id, page=number)
                refused_rows = [row for row in every["rows"] if row.problems]
            page = review_page(every["rows"], number)
            context |= every | {
                "rows": page.object_list,
                "page": page,
                "review_full": review_full(len(every["rows"])),
                "removed": removed_rows(self.request.user, wizard_id, page.number),
                "batch_problems": kwargs.get("batch_problems", []),
                # After a refused Create, where the planner is (at the button) says why, and
                # focus goes to the first row to fix.
                "refusal": kwargs.get("row_problems") and refusal_summary(len(refused_rows)),
                "first_refused": refused_rows[0].pk if refused_rows else None,
                "earlier_notice": earlier_notice(every["rows"]),
                "row_count": len(every["rows"]),
                "create_label": create_button_label(len(every["rows"]), bool(form["batch"].value())),
                "back_url": self.get_step_url("review"),
            }
        return context

    # -- moving between steps -------------------------------------------------------

    def post(self, *args, **kwargs):
        if self.request.POST.get("discard_rows"):
            # Review's "Discard all rows": never falls through to Create, whatever step is stored.
            discarded, _ = RunDraft.objects.filter(owner=self.request.user).delete()
            messages.success(self.request, f"Discarded {discarded} row{pluralize(discarded)}.")
            return redirect(self.get_step_url("review"))
        goto = self.request.POST.get("wizard_goto_step")
        if goto in self.get_form_list() and self.step_states[goto] != "locked":
            # formtools drops what was typed on a jump: keep it, valid or not.
            form = self.get_form(data=self.request.POST, files=self.request.FILES)
            self.storage.set_step_data(self.steps.current, self.process_step(form))
            return self.render_goto_step(goto)
        if goto:
            return redirect(self.get_step_url(self.steps.current))
        posted = self.request.POST.get(f"{self.prefix}-current_step")
        if posted is not None and posted not in self.get_form_list():
            raise SuspiciousOperation("The wizard's current step was tampered with.")
        if posted == "review":
            # A second press of Create arrives after the wizard was reset: let it reach
            # done(), where the same token finds the runs already made.
            self.storage.current_step = posted
        return super().post(*args, **kwargs)

    def render_next_step(self, form, **kwargs):
        if self.steps.current == "details":
            # An earlier step may have changed since (another part, another source):
            # send the planner back to the first step that no longer holds.
            for step in ("source", "part", "identify"):
                if self.get_cleaned_data_for_step(step) is None:
                    return self.render_revalidation_failure(step, form, **kwargs)
            try:
                self.save_draft(form.cleaned_data)
            except ValidationError as full:
                # What was typed stays in the form, for when Review has room again.
                form.add_error(None, full)
                return self.render(form)
        return super().render_next_step(form, **kwargs)

    def save_draft(self, details: dict) -> RunDraft:
        """Finishing Details writes the run as a row on the planner's Review list."""
        part, user = self.cleaned("part"), self.request.user
        data = forms.draft_data(
            source=self.cleaned("source")["source"],
            part=part["part"],
            procedure=part.get("procedure"),
            identify=self.cleaned("identify"),
            details=details,
        )
        draft = RunDraft.objects.filter(owner=user, pk=self.storage.extra_data.get("draft_id")).first()
        if draft is None:
            RunDraft.objects.make_room(user, 1, doing="This run would be a new row on Review")
            last = RunDraft.objects.filter(owner=user).aggregate(last=Max("position"))["last"]
            draft = RunDraft(owner=user, organisation_id=user.organisation_id, position=(last or 0) + 1)
        draft.data = data
        draft.save()
        self.storage.extra_data = {**self.storage.extra_data, "draft_id": str(draft.pk)}
        return draft

    # -- creating -------------------------------------------------------------------

    def render_done(self, form, **kwargs):
        # Only Review is checked here: the rows were validated step by step when they
        # were authored, the service re-checks every rule under lock, and after
        # "Add another run" the earlier steps are rightly empty.
        return self.done([form], **kwargs)

    def done(self, form_list, **kwargs):
        review = form_list[-1]
        try:
            runs = create_runs_from_drafts(
                user=self.request.user,
                draft_ids=review.cleaned_data["shown_rows"],
                batch_name=review.cleaned_data["batch_name"],
                token=review.cleaned_data["token"],
            )
        except RunCreationError as error:
            return self.render(review, row_problems=error.rows, batch_problems=error.batch)
        self.storage.reset()
        return redirect("runs:created", token=runs[0].creation_token)
