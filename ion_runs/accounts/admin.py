from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count
from django.forms.models import BaseInlineFormSet
from django.utils import timezone

from ion_runs.accounts.models import ApiToken, Organisation, Team, User


class OrganisationScopedAdmin(admin.ModelAdmin):
    """An admin curates their own organisation only; superusers see every organisation.

    The organisation is set from the admin on save, and every related choice (parts,
    teams, users, versions) is limited to that organisation, so a foreign id can
    never be picked. An admin who is not export cleared does not see export-controlled
    objects either (SPEC §6), and cannot set the flag. What is visible comes from the
    models' own `visible_to()`, so the admin hides exactly what the app hides: its lists,
    change pages, actions, search boxes (autocomplete asks the same queryset) and pickers.
    """

    organisation_field = "organisation"

    # Mends the admin's own markup for screen readers and touch (axe: serious and critical).
    class Media:
        css = {"all": ["css/admin.css"]}
        js = ["js/admin-accessibility.js"]

    # For a model without a visible_to() of its own: the relation whose visibility decides
    # a row's (e.g. "part" for an inventory unit).
    visible_through: str | None = None

    def scoped(self, request) -> bool:
        return not request.user.is_superuser

    def hides_export_controlled(self, request) -> bool:
        return self.scoped(request) and not request.user.export_cleared

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.scoped(request):
            queryset = queryset.filter(**{self.organisation_field: request.user.organisation_id})
        if self.hides_export_controlled(request):
            queryset = self.visible(queryset, request.user)
        return queryset

    def visible(self, queryset, user):
        """The rows of `queryset` an uncleared `user` may see."""
        if self.visible_through:
            related = self.model._meta.get_field(self.visible_through).related_model
            return queryset.filter(**{f"{self.visible_through}__in": related.objects.visible_to(user)})
        if hasattr(queryset, "visible_to"):
            return queryset.visible_to(user)
        return queryset

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if self.scoped(request) and self.organisation_field == "organisation":
            exclude.append("organisation")
        return exclude

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if self.hides_export_controlled(request) and has_field(self.model, "export_controlled"):
            readonly.append("export_controlled")
        return readonly

    def get_list_display(self, request):
        # Superusers look across organisations, so they need to tell them apart.
        columns = list(super().get_list_display(request))
        scoped = self.scoped(request) or self.organisation_field != "organisation"
        if not scoped and "organisation" not in columns:
            columns.append("organisation")
        return columns

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if not self.scoped(request) and self.organisation_field == "organisation":
            filters.append("organisation")
        return filters

    def get_list_select_related(self, request):
        related = super().get_list_select_related(request)
        if self.scoped(request) or self.organisation_field != "organisation" or related is True:
            return related
        return [*(related or []), "organisation"]

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


def has_field(model, name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def grants_clearance(user) -> bool:
    """Only an export-cleared admin, or a superuser, may clear people (SPEC §2, §6)."""
    return user.is_superuser or user.export_cleared


def scope_choices(field, request):
    """Limit a related field's choices to the admin's organisation (and clearance)."""
    if field is None or request.user.is_superuser:
        return field
    queryset = field.queryset
    if hasattr(queryset, "visible_to"):
        field.queryset = queryset.visible_to(request.user)
    elif queryset.model is Organisation:
        field.queryset = queryset.filter(pk=request.user.organisation_id)
    elif has_field(queryset.model, "organisation"):
        field.queryset = queryset.filter(organisation_id=request.user.organisation_id)
    return field


class LabelledInlineFormSet(BaseInlineFormSet):
    """Names each input by its field's label: a tabular inline shows the label only once, as
    its column's heading, which leaves the inputs below it unnamed (axe: label, critical)."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        for field in form.fields.values():
            # The admin wraps a relation's widget (for its add and change links) and renders
            # the wrapped one, whose attrs a form's copy no longer shares with the wrapper's.
            widget = getattr(field.widget, "widget", field.widget)
            if field.label and not widget.is_hidden:
                widget.attrs.setdefault("aria-label", str(field.label))


class ScopedInline:
    """Inline mixin: related choices inside inlines are scoped the same way, inputs named."""

    formset = LabelledInlineFormSet

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

    def get_queryset(self, request):
        # Each row prints its team's name.
        return super().get_queryset(request).select_related("team")


@admin.register(User)
class UserAdmin(OrganisationScopedAdmin, DjangoUserAdmin):
    list_display = ["username", "get_full_name", "organisation", "export_cleared", "is_staff", "is_active"]
    # Only the teams of the listed users, so an organisation admin never sees another's teams.
    list_filter = [
        "export_cleared",
        "is_staff",
        "is_active",
        "groups",
        ("teams", admin.RelatedOnlyFieldListFilter),
    ]
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

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.scoped(request):
            # Otherwise an organisation admin could set a superuser's password and become one.
            queryset = queryset.filter(is_superuser=False)
        return queryset

    def get_exclude(self, request, obj=None):
        # Fieldsets already leave the organisation out for organisation admins.
        return []

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not grants_clearance(request.user):
            readonly.append("export_cleared")
        return readonly

    def has_change_permission(self, request, obj=None):
        # A cleared user's password, e-mail or groups in an uncleared admin's hands would let
        # them act as that user: clearing themselves by another door.
        if obj is not None and obj.export_cleared and not grants_clearance(request.user):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Deleting would also list the user's admin log, which names what they curated.
        if obj is not None and obj.export_cleared and not grants_clearance(request.user):
            return False
        return super().has_delete_permission(request, obj)


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


@admin.register(ApiToken)
class ApiTokenAdmin(OrganisationScopedAdmin):
    """Tokens of the admin's organisation's users, scoped through the user.

    Adding a token shows its secret once, in a message; only its hash is stored.
    """

    organisation_field = "user__organisation"
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["user"]
    search_fields = ["name", "prefix", "user__username"]
    fields = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    actions = ["revoke"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.scoped(request):
            # As in UserAdmin: a superuser's token is not an organisation admin's to see.
            queryset = queryset.filter(user__is_superuser=False)
        return queryset

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is None:
            return readonly
        # Revoked stays revoked: whoever held the secret must not get it back; issue a new token.
        return [*readonly, "user", "revoked_at"] if obj.revoked_at else [*readonly, "user"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "user" and field is not None and self.scoped(request):
            field.queryset = field.queryset.filter(is_superuser=False)
            if not grants_clearance(request.user):
                # A token acts as its user: for an uncleared admin, a way around clearance.
                field.queryset = field.queryset.filter(export_cleared=False)
        return field

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        token, secret = ApiToken.issue(user=obj.user, name=obj.name)
        for name in ("pk", "prefix", "digest", "created_at"):
            setattr(obj, name, getattr(token, name))
        obj._state.adding = False
        self.message_user(
            request, f"The token’s secret, shown only this once: {secret}", level=messages.WARNING
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        revoked = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {revoked} token(s).")
