import copy

from django import forms
from django.contrib import admin
from django.db.models import BigIntegerField, Exists, OuterRef, Q
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from inventory.models import Part
from ion_runs.accounts.admin import OrganisationScopedAdmin
from procedures.forms import OptionLinesField
from procedures.models import ProcedureVersion
from runs.models import Run, RunAttributeDefinition, RunBatch, RunDraft, RunStep
from runs.services import delete_batch, record_changes
from runs.services.batches import record_renamed, sync_export_control
from runs.services.run_changes import lock_run


class RunStepInline(admin.TabularInline):
    model = RunStep
    fields = ["position", "title", "status", "started_by", "started_at", "finished_by", "finished_at"]
    readonly_fields = fields
    ordering = ["position"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class RunAdminForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        user = cleaned.get("assigned_user")
        if self.instance.export_controlled and user is not None and not user.export_cleared:
            # SPEC §9: the same rule as the wizard's Details and the run page's Reassign.
            self.add_error("assigned_user", f"{user} is not export cleared; this run is export controlled.")
        batch = cleaned.get("batch")
        if batch is not None and batch.organisation_id != self.instance.organisation_id:
            self.add_error("batch", "Pick a batch of the run's own organisation.")
        elif "batch" in self.changed_data and batch is not None:
            # The batch rule of the batch page, under the same lock: the admin's change view
            # is one transaction, so the batch stays locked until this run is saved in it.
            batch = RunBatch.objects.select_for_update().get(pk=batch.pk)
            leaving = copy.copy(self.instance)
            leaving.batch = None
            for problem in batch.problems_adding([leaving], user=self.user):
                self.add_error("batch", problem)
        if "batch" in self.changed_data and self.instance.batch_id and self.instance.export_controlled:
            # Leaving, the run may take the last export-controlled run out of its old batch.
            old = RunBatch.objects.select_for_update().get(pk=self.instance.batch_id)
            still = old.runs.filter(export_controlled=True).exclude(pk=self.instance.pk).exists()
            if clash := old.scope_problem(export_controlled=still):
                self.add_error("batch", clash)
        return cleaned


@admin.register(Run)
class RunAdmin(OrganisationScopedAdmin):
    """Read-mostly: runs are made by the wizard or the API through create_runs()."""

    form = RunAdminForm

    list_display = [
        "number",
        "name",
        "part",
        "procedure_version",
        "status",
        "assignee",
        "due_date",
        "batch_name",
        "export_controlled",
    ]
    list_filter = ["status", "source", "export_controlled", "tracking_type"]
    list_select_related = ["part", "procedure_version", "assigned_user", "assigned_team", "batch"]
    search_fields = [
        "name",
        "=number",
        "part__number",
        "part_inventory__serial_number",
        "part_inventory__lot_number",
    ]
    date_hierarchy = "created_at"
    autocomplete_fields = ["batch"]
    inlines = [RunStepInline]
    fields = [
        "number",
        "name",
        "status",
        "part",
        "procedure_version",
        "source",
        "part_inventory",
        "tracking_type",
        "due_date",
        "export_controlled",
        "assigned_user",
        "assigned_team",
        "batch",
        "attributes",
        "created_by",
        "created_at",
    ]
    readonly_fields = [
        "number",
        # The status follows the run's steps (SPEC §12), in one place: operators move it by
        # working the steps; a planner cancels, and an admin reopens, on the run's page.
        "status",
        "part",
        "procedure_version",
        "source",
        "part_inventory",
        "tracking_type",
        "export_controlled",
        "attributes",
        "created_by",
        "created_at",
        "batch_name",
    ]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.user = request.user  # The batch rule's messages name only what this admin may see.
        return form

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.hides_export_controlled(request):
            # A visible run may share its batch with export-controlled ones, which hides the batch.
            visible = RunBatch.objects.visible_to(request.user).filter(pk=OuterRef("batch"))
            queryset = queryset.annotate(batch_visible=Exists(visible))
        return queryset

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and not getattr(obj, "batch_visible", True):
            # A batch the admin may not see is neither offered nor named.
            fields = ["batch_name" if name == "batch" else name for name in fields]
        return fields

    def save_model(self, request, obj, form, change):
        """Save, and write the history of what changed, as the run page's services do (SPEC §9)."""
        if not change:
            return super().save_model(request, obj, form, change)
        was = lock_run(obj)
        super().save_model(request, obj, form, change)
        if was.batch_id != obj.batch_id:
            sync_export_control([pk for pk in (was.batch_id, obj.batch_id) if pk], field="batch")
        record_changes(actor=request.user, was=was, now=obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # A complete or canceled run is read-only here as everywhere.
        if obj is not None and obj.is_closed:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Asked for each run that deleting a part, unit or version would touch: Django then
        # names a run the admin may not see by its kind only ("run"), never by its name.
        if obj is not None and self.scoped(request) and not request.user.can_see(obj):
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description="assigned to")
    def assignee(self, run):
        return run.assignee or "—"

    @admin.display(description="batch")
    def batch_name(self, run):
        return run.batch if run.batch_id and getattr(run, "batch_visible", True) else "—"


@admin.register(RunBatch)
class RunBatchAdmin(OrganisationScopedAdmin):
    list_display = ["name", "created_by", "created_at"]
    list_select_related = ["created_by"]
    search_fields = ["name"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # A rename here is one too: its runs' histories say so, as for a rename on the batch page.
        if change and "name" in form.changed_data:
            record_renamed(actor=request.user, batch=obj, before=form.initial["name"])

    def delete_model(self, request, obj):
        delete_batch(actor=request.user, batch=obj)

    def delete_queryset(self, request, queryset):
        for batch in queryset:
            delete_batch(actor=request.user, batch=batch)


class RunAttributeDefinitionForm(forms.ModelForm):
    options = OptionLinesField(
        label="Options", help_text="One option per line, in the order planners see them. For selects."
    )

    class Meta:
        model = RunAttributeDefinition
        fields = ["organisation", "key", "label", "type", "options", "required", "position"]


@admin.register(RunAttributeDefinition)
class RunAttributeDefinitionAdmin(OrganisationScopedAdmin):
    form = RunAttributeDefinitionForm
    list_display = ["label", "key", "type", "required", "position"]
    list_filter = ["type", "required"]
    search_fields = ["label", "key"]
    prepopulated_fields = {"key": ["label"]}


@admin.register(RunDraft)
class RunDraftAdmin(OrganisationScopedAdmin):
    """Planners' Review rows, for support; the planners edit them on Review."""

    list_display = ["pk", "owner", "updated_at", "removed_at"]
    list_select_related = ["owner"]
    search_fields = ["owner__username"]
    readonly_fields = ["owner", "position", "data", "created_at", "updated_at", "removed_at"]

    def visible(self, queryset, user):
        # A row is as secret as the run it would make: flagged, or with a part or procedure
        # the admin may not see. Its data holds their ids, which SQL compares as numbers.
        return (
            queryset.alias(
                part_ref=Cast(KT("data__part"), BigIntegerField()),
                procedure_ref=Cast(KT("data__procedure"), BigIntegerField()),
            )
            .exclude(data__contains={"export_controlled": True})
            .filter(part_ref__in=Part.objects.visible_to(user).values("pk"))
            .filter(
                Q(procedure_ref__isnull=True)
                | Q(procedure_ref__in=ProcedureVersion.objects.visible_to(user).values("pk"))
            )
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
