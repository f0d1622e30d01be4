from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q

from inventory.models import Part, VisibleQuerySet
from ion_runs.accounts.models import Organisation


class ProcedureType(models.TextChoices):
    BUILD = "build", "Build"
    TEST = "test", "Test"
    INSPECTION = "inspection", "Inspection"
    MAINTENANCE = "maintenance", "Maintenance"


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    RELEASED = "released", "Released"
    SUPERSEDED = "superseded", "Superseded"
    ARCHIVED = "archived", "Archived"

    @property
    def is_editable(self) -> bool:
        return self == VersionStatus.DRAFT


def has_export_controlled_version(family) -> Exists:
    """Whether the family `family` (an OuterRef to a procedure) has an export-controlled version.

    Export control belongs to the family as a whole (SPEC §6): its versions share a title,
    steps and runs, and "New revision", "Release" and the revision lock of Review all move
    from one version to the next. An uncleared user who saw one version of a controlled
    family could add a version to it, release it over the controlled one, or read the
    controlled one's title back from a copy, so a family is hidden whole when any of its
    versions is controlled. One EXISTS per query, never a query per row.
    """
    return Exists(ProcedureVersion.objects.filter(procedure=family, export_controlled=True))


class ProcedureQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The user's organisation's families; for the uncleared, none with a controlled version."""
        families = self.filter(organisation_id=user.organisation_id)
        if not user.export_cleared:
            families = families.exclude(has_export_controlled_version(OuterRef("pk")))
        return families


class Procedure(models.Model):
    """A family of versions; runs always bind to one version of it."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="procedures")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProcedureQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        newest = self.versions.order_by("-number").first()
        return newest.title if newest else f"Procedure {self.pk}"


class ProcedureVersionQuerySet(VisibleQuerySet):
    def visible_to(self, user):
        """Versions of the families `user` may see (see has_export_controlled_version)."""
        versions = self.filter(organisation_id=user.organisation_id)
        if not user.export_cleared:
            versions = versions.exclude(has_export_controlled_version(OuterRef("procedure")))
        return versions

    def runnable(self):
        """Released, with every step approved."""
        return self.filter(status=VersionStatus.RELEASED).exclude(steps__approved=False)


class ProcedureVersion(models.Model):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="procedure_versions"
    )
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField("version", default=1)
    title = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=ProcedureType, default=ProcedureType.BUILD)
    status = models.CharField(max_length=20, choices=VersionStatus, default=VersionStatus.DRAFT)
    export_controlled = models.BooleanField(default=False)
    parts = models.ManyToManyField(Part, blank=True, related_name="procedure_versions")
    released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProcedureVersionQuerySet.as_manager()

    class Meta:
        verbose_name = "procedure"
        ordering = ["procedure_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["procedure", "number"], name="procedure_version_number_unique"),
            models.UniqueConstraint(
                fields=["procedure"],
                condition=Q(status="draft"),
                name="procedure_one_draft_per_family",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.number}"

    def save(self, *args, **kwargs):
        # A new version of a controlled family is controlled too, however it is made
        # (admin, "New revision", a script); clean() says so to the admin first.
        if self._state.adding and not self.export_controlled and self.controlled_sibling() is not None:
            self.export_controlled = True
        super().save(*args, **kwargs)

    def clean(self):
        if self.status == VersionStatus.DRAFT and self.procedure_id:
            drafts = ProcedureVersion.objects.filter(
                procedure_id=self.procedure_id, status=VersionStatus.DRAFT
            ).exclude(pk=self.pk)
            if drafts.exists():
                # At the family picker: the status is not a field of the admin's form.
                raise ValidationError(
                    {"procedure": "This procedure already has a draft; edit that one instead."}
                )
        # Drafts only: the rest are read-only in the admin, where the field is then not in the form.
        sibling = None if self.export_controlled or not self.is_editable else self.controlled_sibling()
        if sibling is not None:
            raise ValidationError(
                {
                    "export_controlled": f"Version {sibling} of this procedure is export controlled, "
                    "so every version of it is."
                }
            )

    def controlled_sibling(self) -> int | None:
        """The number of another export-controlled version of this family, if there is one."""
        if self.procedure_id is None:
            return None
        siblings = ProcedureVersion.objects.filter(procedure_id=self.procedure_id, export_controlled=True)
        return siblings.exclude(pk=self.pk).values_list("number", flat=True).first()

    @property
    def is_editable(self) -> bool:
        return VersionStatus(self.status).is_editable

    @property
    def unapproved_steps(self):
        return self.steps.filter(approved=False)

    @property
    def is_runnable(self) -> bool:
        return self.status == VersionStatus.RELEASED and not self.unapproved_steps.exists()

    def submit_for_review(self) -> None:
        if self.status != VersionStatus.DRAFT:
            raise ValidationError("Only a draft can be submitted for review.")
        # Steps are approved only while editable: one left unapproved would hold the
        # version in review, where it can be neither released nor approved.
        self.refuse_unapproved_steps("submitting it for review")
        self.status = VersionStatus.IN_REVIEW
        self.save(update_fields=["status"])

    def back_to_draft(self) -> None:
        """Take a version in review back to draft, where its steps can be edited and approved."""
        with transaction.atomic():
            # Locking the family serialises this with "New revision", which makes a draft too:
            # the family never ends up with two.
            family = Procedure.objects.select_for_update().get(pk=self.procedure_id)
            self.refresh_from_db(fields=["status"])
            if self.status != VersionStatus.IN_REVIEW:
                raise ValidationError("Only a version in review can go back to draft.")
            draft = family.versions.filter(status=VersionStatus.DRAFT).first()
            if draft is not None:
                raise ValidationError(
                    f"This procedure already has a draft, version {draft.number}; edit that one instead."
                )
            self.status = VersionStatus.DRAFT
            self.save(update_fields=["status"])

    def refuse_unapproved_steps(self, doing: str) -> None:
        unapproved = list(self.unapproved_steps.values_list("position", flat=True))
        if unapproved:
            raise ValidationError(
                "Procedure has unreleased steps: approve step "
                + ", ".join(str(p) for p in unapproved)
                + f" before {doing}."
            )

    def release(self) -> None:
        """Release this version and supersede the one released before it."""
        from django.utils import timezone

        if self.status not in (VersionStatus.DRAFT, VersionStatus.IN_REVIEW):
            raise ValidationError(f"A {self.get_status_display().lower()} version cannot be released.")
        self.refuse_unapproved_steps("releasing")
        with transaction.atomic():
            # Locking the family serialises two releases in it, so it never ends up
            # with two released versions.
            family = Procedure.objects.select_for_update().get(pk=self.procedure_id)
            # Run creators hold the family's versions FOR KEY SHARE from their check of the
            # released version to the copy of its steps (runs/services.py), which a plain
            # UPDATE does not wait for: wait for them, and make later creators wait for us.
            list(family.versions.select_for_update())
            newer = family.versions.filter(
                number__gt=self.number, status__in=[VersionStatus.RELEASED, VersionStatus.SUPERSEDED]
            ).first()
            if newer is not None:
                # Otherwise an older version left in review would supersede a newer release.
                raise ValidationError(
                    f"Version {newer.number} of this procedure is already released; "
                    f"version {self.number} can no longer be released."
                )
            family.versions.filter(status=VersionStatus.RELEASED).exclude(pk=self.pk).update(
                status=VersionStatus.SUPERSEDED
            )
            self.status = VersionStatus.RELEASED
            self.released_at = timezone.now()
            self.save(update_fields=["status", "released_at"])

    def revise(self) -> "ProcedureVersion":
        """Copy the family's newest version, steps and fields, into draft N+1."""
        with transaction.atomic():
            family = Procedure.objects.select_for_update().get(pk=self.procedure_id)
            if family.versions.filter(status=VersionStatus.DRAFT).exists():
                raise ValidationError("This procedure already has a draft; edit that one instead.")
            newest = family.versions.order_by("-number").first()
            draft = ProcedureVersion.objects.create(
                organisation_id=newest.organisation_id,
                procedure=family,
                number=newest.number + 1,
                title=newest.title,
                type=newest.type,
                export_controlled=newest.export_controlled,
                status=VersionStatus.DRAFT,
            )
            draft.parts.set(newest.parts.all())
            steps = list(newest.steps.prefetch_related("fields"))
            new_steps = ProcedureStep.objects.bulk_create(
                ProcedureStep(
                    version=draft,
                    position=s.position,
                    title=s.title,
                    instructions=s.instructions,
                    approved=s.approved,
                )
                for s in steps
            )
            StepField.objects.bulk_create(
                StepField(step=new_step, **field.copyable_values())
                for step, new_step in zip(steps, new_steps, strict=True)
                for field in step.fields.all()
            )
        return draft


class ProcedureStep(models.Model):
    version = models.ForeignKey(ProcedureVersion, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)
    approved = models.BooleanField(default=False)

    class Meta:
        ordering = ["version_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "position"], name="procedure_step_position_unique")
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"

    def save(self, *args, **kwargs):
        self.clean()
        super().save(*args, **kwargs)

    def clean(self):
        if self.version_id and not self.version.is_editable:
            raise ValidationError(
                f"{self.version} is {self.version.get_status_display().lower()}; only a draft's "
                "steps can be edited. Use “New revision”."
            )


class FieldType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    BOOLEAN = "boolean", "Yes / no"
    SELECT = "select", "Select"
    MULTISELECT = "multiselect", "Multi-select"
    DATETIME = "datetime", "Date and time"
    SIGNOFF = "signoff", "Sign-off"
    FILE = "file", "File"


class FieldSpec(models.Model):
    """The columns a step field and its copy on a run step share."""

    position = models.PositiveIntegerField()
    label = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=FieldType, default=FieldType.TEXT)
    required = models.BooleanField(default=False)
    min_value = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    max_value = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    max_length = models.PositiveIntegerField(null=True, blank=True)
    pattern = models.CharField(max_length=200, blank=True, help_text="A regular expression.")
    options = models.JSONField(default=list, blank=True, help_text="Choices for selects.")

    COPIED = (
        "position",
        "label",
        "type",
        "required",
        "min_value",
        "max_value",
        "max_length",
        "pattern",
        "options",
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.label

    def copyable_values(self) -> dict:
        return {name: getattr(self, name) for name in self.COPIED}

    @property
    def validation_summary(self) -> str:
        rules = []
        if self.min_value is not None:
            rules.append(f"≥ {self.min_value.normalize():f}")
        if self.max_value is not None:
            rules.append(f"≤ {self.max_value.normalize():f}")
        if self.max_length:
            rules.append(f"max {self.max_length} chars")
        if self.pattern:
            rules.append(f"matches {self.pattern}")
        if self.options:
            rules.append(" / ".join(map(str, self.options)))
        return "; ".join(rules)

    def clean(self):
        errors = {}
        if self.type in (FieldType.SELECT, FieldType.MULTISELECT) and not self.options:
            errors["options"] = "A select field needs at least one option."
        if self.min_value is not None and self.max_value is not None and self.min_value > self.max_value:
            errors["max_value"] = "The maximum is below the minimum."
        if errors:
            raise ValidationError(errors)


class StepField(FieldSpec):
    step = models.ForeignKey(ProcedureStep, on_delete=models.CASCADE, related_name="fields")

    class Meta:
        ordering = ["step_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["step", "position"], name="step_field_position_unique")
        ]

    def save(self, *args, **kwargs):
        if self.step_id:
            self.step.clean()
        super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        if self.step_id:
            self.step.clean()
