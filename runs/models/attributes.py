"""Organisation-defined custom attributes of runs."""

from django.core.exceptions import ValidationError
from django.db import models

from ion_runs.accounts.models import Organisation


class AttributeType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    BOOLEAN = "boolean", "Yes / no"
    DATE = "date", "Date"
    SELECT = "select", "Select"
    MULTISELECT = "multiselect", "Multi-select"
    USER = "user", "User"


class RunAttributeDefinition(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="run_attributes")
    key = models.SlugField(max_length=50)
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=20, choices=AttributeType, default=AttributeType.TEXT)
    options = models.JSONField(default=list, blank=True, help_text="Choices for selects.")
    required = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "label"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "key"], name="run_attribute_key_unique")
        ]

    def __str__(self) -> str:
        return self.label

    def clean(self):
        if self.type in (AttributeType.SELECT, AttributeType.MULTISELECT) and not self.options:
            raise ValidationError({"options": "A select attribute needs at least one option."})
        twins = RunAttributeDefinition.objects.filter(organisation_id=self.organisation_id, key=self.key)
        if self.organisation_id and twins.exclude(pk=self.pk).exists():
            raise ValidationError({"key": f"An attribute with key “{self.key}” already exists."})


def display_value(value) -> str:
    """A custom attribute's value as a page shows it."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)
