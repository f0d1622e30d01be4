from django.contrib import admin

from inventory.models import Part, PartInventory
from ion_runs.accounts.admin import OrganisationScopedAdmin


@admin.register(Part)
class PartAdmin(OrganisationScopedAdmin):
    list_display = ["number", "revision", "description", "tracking_type", "export_controlled"]
    list_filter = ["tracking_type", "export_controlled"]
    search_fields = ["number", "description"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "organisation",
                    "number",
                    "revision",
                    "description",
                    "tracking_type",
                    "export_controlled",
                ]
            },
        ),
        (
            "Auto-generated numbers",
            {
                "fields": ["serial_pattern", "lot_pattern"],
                "description": "Leave blank to use the organisation's patterns.",
            },
        ),
    ]

    def get_fieldsets(self, request, obj=None):
        if request.user.is_superuser:
            return self.fieldsets
        return [
            (name, {**opts, "fields": [f for f in opts["fields"] if f != "organisation"]})
            for name, opts in self.fieldsets
        ]


@admin.register(PartInventory)
class PartInventoryAdmin(OrganisationScopedAdmin):
    visible_through = "part"
    list_display = ["part", "serial_number", "lot_number", "quantity", "status", "location"]
    list_filter = ["status", "part__tracking_type"]
    list_select_related = ["part"]
    search_fields = ["serial_number", "lot_number", "part__number", "location"]
    autocomplete_fields = ["part"]
