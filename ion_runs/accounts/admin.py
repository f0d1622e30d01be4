from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count

from ion_runs.accounts.models import Organisation, Team, User


class OrganisationScopedAdmin(admin.ModelAdmin):
    """An admin curates their own organisation only; superusers see every organisation.

    The organisation is set from the admin on save, and every related choice (parts,
    teams, users, versions) is limited to that organisation, so a foreign id can
    never be picked.
    """

    organisation_field = "organisation"

    def scoped(self, request) -> bool:
        return not request.user.is_superuser

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.scoped(request):
            queryset = queryset.filter(**{self.organisation_field: request.user.organisation_id})
        return queryset

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if self.scoped(request) and self.organisation_field == "organisation":
            exclude.append("organisation")
        return exclude

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if not self.scoped(request) or self.organisation_field != "organisation":
            return form
        organisation_id = request.user.organisation_id

        class OrganisationForm(form):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                # Before validation, so clean() checks uniqueness within the organisation.
                self.instance.organisation_id = organisation_id

        return OrganisationForm

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return scope_choices(field, request)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        return scope_choices(field, request)


def scope_choices(field, request):
    """Limit a related field's choices to the admin's organisation."""
    if field is None or request.user.is_superuser:
        return field
    model = field.queryset.model
    if model is Organisation:
        field.queryset = field.queryset.filter(pk=request.user.organisation_id)
    elif any(f.name == "organisation" for f in model._meta.fields):
        field.queryset = field.queryset.filter(organisation_id=request.user.organisation_id)
    return field


class ScopedInline:
    """Inline mixin: related choices inside inlines are scoped the same way."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return scope_choices(super().formfield_for_foreignkey(db_field, request, **kwargs), request)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        return scope_choices(super().formfield_for_manytomany(db_field, request, **kwargs), request)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "serial_pattern", "lot_pattern"]
    search_fields = ["name"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not request.user.is_superuser:
            queryset = queryset.filter(pk=request.user.organisation_id)
        return queryset

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class TeamMembershipInline(ScopedInline, admin.TabularInline):
    model = Team.members.through
    extra = 0
    verbose_name = "team membership"
    verbose_name_plural = "teams"


@admin.register(User)
class UserAdmin(OrganisationScopedAdmin, DjangoUserAdmin):
    list_display = ["username", "get_full_name", "organisation", "export_cleared", "is_staff", "is_active"]
    list_filter = ["export_cleared", "is_staff", "is_active", "groups", "teams"]
    list_select_related = ["organisation"]
    search_fields = ["username", "first_name", "last_name", "email"]
    inlines = [TeamMembershipInline]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        ("Organisation", {"fields": ["organisation", "export_cleared"]}),
    ]
    add_fieldsets = [
        *DjangoUserAdmin.add_fieldsets,
        ("Organisation", {"fields": ["organisation", "export_cleared"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        # An organisation admin neither moves people between organisations nor makes superusers.
        hidden = {"organisation", "is_superuser", "user_permissions"}
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f not in hidden]})
            for name, options in fieldsets
        ]

    def get_exclude(self, request, obj=None):
        # Fieldsets already leave the organisation out for organisation admins.
        return []


@admin.register(Team)
class TeamAdmin(OrganisationScopedAdmin):
    list_display = ["name", "organisation", "member_count"]
    list_select_related = ["organisation"]
    search_fields = ["name"]
    filter_horizontal = ["members"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_total=Count("members"))

    @admin.display(description="members", ordering="member_total")
    def member_count(self, team) -> int:
        return team.member_total
