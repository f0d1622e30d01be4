from django import forms
from django.contrib import admin, messages
from django.contrib.admin import ActionLocation
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from ion_runs.accounts.admin import OrganisationScopedAdmin, ScopedInline
from procedures.forms import OptionLinesField
from procedures.models import Procedure, ProcedureStep, ProcedureVersion, StepField, VersionStatus

# The workflow actions run from the list and, as buttons, from a version's own page.
BOTH_PAGES = [ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM]

# The states whose page offers each button; the model methods still refuse what is not
# allowed, e.g. a New revision while the family has a draft, or a page left open too long.
OFFERED = {
    "submit_for_review": {VersionStatus.DRAFT},
    "release": {VersionStatus.DRAFT, VersionStatus.IN_REVIEW},
    "back_to_draft": {VersionStatus.IN_REVIEW},
    "new_revision": {VersionStatus.RELEASED, VersionStatus.SUPERSEDED, VersionStatus.ARCHIVED},
}


class DraftOnlyInline(ScopedInline):
    """Steps and fields are edited on drafts only; released versions are read-only."""

    def draft(self, obj) -> bool:
        version = getattr(obj, "version", obj)
        return version is None or version.is_editable

    def has_add_permission(self, request, obj=None):
        return self.draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self.draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.draft(obj) and super().has_delete_permission(request, obj)


class ProcedureStepInline(DraftOnlyInline, admin.TabularInline):
    model = ProcedureStep
    fields = ["position", "title", "approved", "field_count"]
    readonly_fields = ["field_count"]
    ordering = ["position"]
    show_change_link = True
    extra = 0

    def get_queryset(self, request):
        # The version says whether a step's fields are edited or only viewed.
        return super().get_queryset(request).select_related("version").annotate(field_total=Count("fields"))

    @admin.display(description="fields")
    def field_count(self, step) -> str:
        """How many fields the step has, linked to the page where they are edited."""
        if step.pk is None:
            return "Save the step, then add its fields."
        total = getattr(step, "field_total", 0)
        url = reverse("admin:procedures_procedurestep_change", args=[step.pk])
        verb = "Edit" if step.version.is_editable else "View"
        if not total:
            return format_html('<a href="{}">Add fields</a>', url) if verb == "Edit" else "No fields"
        noun = "field" if total == 1 else "fields"
        return format_html('<a href="{}">{} {} {}</a>', url, verb, total, noun)


class VersionForm(forms.ModelForm):
    class Meta:
        model = ProcedureVersion
        fields = ["organisation", "procedure", "title", "type", "export_controlled", "parts"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "procedure" in self.fields:
            self.fields["procedure"].required = False
            self.fields["procedure"].help_text = "Leave empty to start a new procedure."

    def clean(self):
        cleaned = super().clean()
        # Organisation admins have it set for them; a superuser picks it, so check it agrees.
        organisation = cleaned.get("organisation") or self.instance.organisation
        if organisation is None:
            return cleaned
        procedure = cleaned.get("procedure")
        if procedure is not None and procedure.organisation_id != organisation.pk:
            self.add_error(
                "procedure", f"This procedure belongs to an organisation other than {organisation}."
            )
        foreign = [p for p in cleaned.get("parts") or [] if p.organisation_id != organisation.pk]
        if foreign:
            self.add_error(
                "parts", "Parts of another organisation: " + ", ".join(str(p) for p in foreign) + "."
            )
        return cleaned


@admin.register(ProcedureVersion)
class ProcedureVersionAdmin(OrganisationScopedAdmin):
    form = VersionForm
    list_display = ["title", "number", "type", "status", "export_controlled", "step_count", "unapproved"]
    list_filter = ["status", "type", "export_controlled"]
    search_fields = ["title", "parts__number"]
    # A search box rather than a list: organisations have tens of thousands of parts.
    autocomplete_fields = ["parts"]
    inlines = [ProcedureStepInline]
    actions = ["submit_for_review", "release", "back_to_draft", "new_revision"]
    readonly_fields = ["number", "status", "released_at"]
    # Spelled out because the step counts' GROUP BY drops the model's ordering, and the
    # search box (autocomplete) pages through these rows.
    ordering = ["procedure_id", "-number"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                step_total=Count("steps"), unapproved_total=Count("steps", filter=Q(steps__approved=False))
            )
        )

    def get_search_results(self, request, queryset, search_term):
        queryset, _ = super().get_search_results(request, queryset, search_term)
        return queryset.distinct(), False

    @admin.display(description="steps", ordering="step_total")
    def step_count(self, version) -> int:
        return version.step_total

    @admin.display(description="unapproved steps", ordering="unapproved_total")
    def unapproved(self, version) -> int:
        return version.unapproved_total

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if obj is not None and not obj.is_editable:
            readonly = ["procedure", "title", "type", "export_controlled", "parts", *readonly]
        elif obj is not None:
            readonly = ["procedure", *readonly]
        return list(dict.fromkeys(readonly))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "procedure":
            # A family is named by its newest version; one query for the whole list.
            newest = ProcedureVersion.objects.filter(procedure=OuterRef("pk")).order_by("-number")
            field.queryset = field.queryset.annotate(newest_title=Subquery(newest.values("title")[:1]))
            field.label_from_instance = lambda family: family.newest_title or f"Procedure {family.pk}"
        return field

    def save_related(self, request, form, formsets, change):
        # Parts the admin may not see are not in the form; saving it must not unlink them.
        hidden = []
        if change and self.hides_export_controlled(request):
            hidden = list(form.instance.parts.filter(export_controlled=True))
        super().save_related(request, form, formsets, change)
        form.instance.parts.add(*hidden)

    def save_model(self, request, obj, form, change):
        if not change and obj.procedure_id is None:
            organisation_id = obj.organisation_id or request.user.organisation_id
            obj.procedure = Procedure.objects.create(organisation_id=organisation_id)
        if not change:
            latest = obj.procedure.versions.order_by("-number").values_list("number", flat=True).first()
            obj.number = (latest or 0) + 1
        super().save_model(request, obj, form, change)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            offered = self.get_actions(request, action_location=ActionLocation.CHANGE_FORM)
            context["workflow_buttons"] = [
                (name, offered[name].description)
                for name, states in OFFERED.items()
                if name in offered and obj.status in states
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def run_action(self, request, queryset, action, done: str) -> list:
        """Apply `action` to each version, with a message for each; return what succeeded."""
        results = []
        for version in queryset:
            try:
                result = action(version)
            except ValidationError as error:
                self.message_user(request, f"{version}: {' '.join(error.messages)}", messages.ERROR)
            else:
                results.append(result)
                self.message_user(request, done.format(version=version, result=result), messages.SUCCESS)
        return results

    @admin.action(description="Submit for review", permissions=["change"], location=BOTH_PAGES)
    def submit_for_review(self, request, queryset):
        self.run_action(request, queryset, ProcedureVersion.submit_for_review, "{version} is in review.")

    @admin.action(description="Release", permissions=["change"], location=BOTH_PAGES)
    def release(self, request, queryset):
        self.run_action(request, queryset, ProcedureVersion.release, "{version} is released.")

    @admin.action(description="Back to draft", permissions=["change"], location=BOTH_PAGES)
    def back_to_draft(self, request, queryset):
        self.run_action(request, queryset, ProcedureVersion.back_to_draft, "{version} is a draft again.")

    @admin.action(description="New revision", permissions=["change"], location=BOTH_PAGES)
    def new_revision(self, request, queryset):
        drafts = self.run_action(request, queryset, ProcedureVersion.revise, "Draft {result} created.")
        if len(drafts) == 1:
            # The new draft is what the admin edits next.
            return HttpResponseRedirect(
                reverse("admin:procedures_procedureversion_change", args=[drafts[0].pk])
            )
        return None


class StepFieldForm(forms.ModelForm):
    options = OptionLinesField(label="Options")

    class Meta:
        model = StepField
        fields = [
            "position",
            "label",
            "type",
            "required",
            "min_value",
            "max_value",
            "max_length",
            "pattern",
            "options",
        ]


class StepFieldInline(DraftOnlyInline, admin.TabularInline):
    model = StepField
    form = StepFieldForm
    ordering = ["position"]
    extra = 0
    fields = StepFieldForm.Meta.fields


@admin.register(ProcedureStep)
class ProcedureStepAdmin(OrganisationScopedAdmin):
    organisation_field = "version__organisation"
    visible_through = "version"
    list_display = ["title", "version", "position", "approved"]
    list_filter = ["approved", "version__status"]
    list_select_related = ["version"]
    search_fields = ["title", "version__title"]
    inlines = [StepFieldInline]
    fields = ["version", "position", "title", "instructions", "approved"]

    def has_change_permission(self, request, obj=None):
        editable = obj is None or obj.version.is_editable
        return editable and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        editable = obj is None or obj.version.is_editable
        return editable and super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "version":
            field.queryset = field.queryset.filter(status="draft")
        return field

    # Steps are reached from their version's page: saving one goes back there, not to a list of
    # every step of every procedure.
    def response_post_save_add(self, request, obj):
        return HttpResponseRedirect(version_url(obj))

    def response_post_save_change(self, request, obj):
        return HttpResponseRedirect(version_url(obj))


def version_url(step: ProcedureStep) -> str:
    return reverse("admin:procedures_procedureversion_change", args=[step.version_id])
