from django.contrib import admin

from ion_runs.accounts.admin import OrganisationScopedAdmin
from runs.models import Run, RunAttributeDefinition, RunBatch, RunDraft, RunStep


class RunStepInline(admin.TabularInline):
    model = RunStep
    fields = ["position", "title", "status"]
    readonly_fields = fields
    ordering = ["position"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Run)
class RunAdmin(OrganisationScopedAdmin):
    """Read-mostly: runs are made by the wizard or the API through create_runs()."""

    list_display = [
        "number",
        "name",
        "part",
        "procedure_version",
        "status",
        "assignee",
        "due_date",
        "batch",
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
        "part",
        "procedure_version",
        "source",
        "part_inventory",
        "tracking_type",
        "export_controlled",
        "attributes",
        "created_by",
        "created_at",
        "batch",
    ]

    def has_add_permission(self, request):
        return False

    @admin.display(description="assigned to")
    def assignee(self, run):
        return run.assignee or "—"


@admin.register(RunBatch)
class RunBatchAdmin(OrganisationScopedAdmin):
    list_display = ["name", "created_by", "created_at"]
    list_select_related = ["created_by"]
    search_fields = ["name"]
    readonly_fields = ["created_by", "created_at"]


@admin.register(RunAttributeDefinition)
class RunAttributeDefinitionAdmin(OrganisationScopedAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
