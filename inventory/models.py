from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from ion_runs.accounts.models import Organisation
from ion_runs.accounts.patterns import validate_pattern


class TrackingType(models.TextChoices):
    SERIAL = "serial", "Serialized"
    LOT = "lot", "Lot-tracked"
    NONE = "none", "Quantity only"


class VisibleQuerySet(models.QuerySet):
    def visible_to(self, user):
        """What `user` may see: their organisation's, and export-controlled only if cleared."""
        qs = self.filter(organisation_id=user.organisation_id)
        if not user.export_cleared:
            qs = qs.filter(export_controlled=False)
        return qs


class Part(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="parts")
    number = models.CharField("part number", max_length=100)
    revision = models.CharField(max_length=20, default="A")
    description = models.CharField(max_length=300, blank=True)
    tracking_type = models.CharField(max_length=10, choices=TrackingType, default=TrackingType.SERIAL)
    export_controlled = models.BooleanField(default=False)
    serial_pattern = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_pattern],
        help_text="Overrides the organisation's serial pattern for this part.",
    )
    lot_pattern = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_pattern],
        help_text="Overrides the organisation's lot pattern for this part.",
    )

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["number", "revision"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "number", "revision"], name="part_number_revision_unique"
            )
        ]
        indexes = [
            # Part picker in the New Run wizard: prefix search on part number per organisation.
            models.Index(fields=["organisation", "number"], name="part_org_number_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} rev {self.revision}"

    def clean(self):
        twins = Part.objects.filter(
            organisation_id=self.organisation_id, number=self.number, revision=self.revision
        )
        if self.organisation_id and twins.exclude(pk=self.pk).exists():
            raise ValidationError({"revision": f"Part {self.number} already has a revision {self.revision}."})

    @property
    def effective_serial_pattern(self) -> str:
        return self.serial_pattern or self.organisation.serial_pattern

    @property
    def effective_lot_pattern(self) -> str:
        return self.lot_pattern or self.organisation.lot_pattern


class InventoryStatus(models.TextChoices):
    IN_BUILD = "in_build", "In build"
    AVAILABLE = "available", "Available"
    KITTED = "kitted", "Kitted"
    WIP = "wip", "WIP"
    INSTALLED = "installed", "Installed"
    CONSUMED = "consumed", "Consumed"
    SCRAPPED = "scrapped", "Scrapped"
    ON_HOLD = "on_hold", "On hold"

    @classmethod
    def runnable(cls) -> list[str]:
        """States in which a unit can take a new run; the rest are used up or held."""
        return [cls.IN_BUILD, cls.AVAILABLE, cls.KITTED, cls.WIP]


class PartInventory(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="inventory")
    part = models.ForeignKey(Part, on_delete=models.PROTECT, related_name="inventory")
    serial_number = models.CharField(max_length=100, blank=True)
    lot_number = models.CharField(max_length=100, blank=True)
    quantity = models.IntegerField(default=1)
    location = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=InventoryStatus, default=InventoryStatus.AVAILABLE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "part inventory"
        verbose_name_plural = "part inventory"
        ordering = ["part__number", "serial_number", "lot_number", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "serial_number"],
                condition=~Q(serial_number=""),
                name="inventory_serial_unique_per_org",
            ),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="inventory_quantity_not_negative"),
            models.CheckConstraint(
                condition=Q(serial_number="") | Q(quantity=1),
                name="inventory_serialized_quantity_one",
            ),
        ]
        indexes = [
            # Inventory picker on the wizard's Identify step: one part's units.
            models.Index(fields=["part", "status"], name="inventory_part_status_idx"),
            # Runs page search by lot number.
            models.Index(fields=["organisation", "lot_number"], name="inventory_org_lot_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.part.number} {self.identity}"

    @property
    def identity(self) -> str:
        if self.serial_number:
            return self.serial_number
        if self.lot_number:
            return f"{self.lot_number} × {self.quantity}"
        return f"qty {self.quantity}"

    @property
    def export_controlled(self) -> bool:
        return self.part.export_controlled

    @property
    def can_take_run(self) -> bool:
        return self.status in InventoryStatus.runnable()

    def clean(self):
        errors = {}
        if self.quantity is not None and self.quantity < 0:
            errors["quantity"] = "Quantity cannot be negative."
        if self.serial_number and self.quantity != 1:
            errors["quantity"] = "A serialized unit has a quantity of exactly 1."
        if self.serial_number and self.organisation_id:
            taken = PartInventory.objects.filter(
                organisation_id=self.organisation_id, serial_number=self.serial_number
            ).exclude(pk=self.pk)
            if taken.exists():
                errors["serial_number"] = (
                    f"Serial number {self.serial_number} is already used in this organisation."
                )
        if self.part_id and self.organisation_id and self.part.organisation_id != self.organisation_id:
            errors["part"] = "The part belongs to another organisation."
        if errors:
            raise ValidationError(errors)
