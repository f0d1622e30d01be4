from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, models

from ion_runs.accounts.patterns import validate_pattern

DEFAULT_SERIAL_PATTERN = "SN-{seq:05}"
DEFAULT_LOT_PATTERN = "LOT-{yyyy}{mm}{dd}-{seq:03}"


class Organisation(models.Model):
    name = models.CharField(max_length=200, unique=True)
    serial_pattern = models.CharField(
        max_length=100,
        default=DEFAULT_SERIAL_PATTERN,
        validators=[validate_pattern],
        help_text="Auto-generated serials. Tokens: {part} {rev} {yyyy} {yy} {mm} {dd} {seq:05}.",
    )
    lot_pattern = models.CharField(
        max_length=100,
        default=DEFAULT_LOT_PATTERN,
        validators=[validate_pattern],
        help_text="Auto-generated lot numbers, same tokens as serials.",
    )

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    export_cleared = models.BooleanField(
        default=False,
        help_text="May see and create export-controlled parts, procedures and runs.",
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def can_see(self, obj) -> bool:
        """Whether `obj` (anything with organisation and export_controlled) is visible."""
        if obj.organisation_id != self.organisation_id:
            return False
        return self.export_cleared or not obj.export_controlled


class Team(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=100)
    members = models.ManyToManyField(User, blank=True, related_name="teams")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="team_name_unique_per_org")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        duplicate = Team.objects.filter(organisation_id=self.organisation_id, name=self.name)
        if self.organisation_id and duplicate.exclude(pk=self.pk).exists():
            raise ValidationError({"name": f"A team named “{self.name}” already exists."})


class Counter(models.Model):
    """An organisation-scoped sequence (run numbers, serials, lots) that never repeats."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE)
    key = models.CharField(max_length=100)
    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "key"], name="counter_key_unique_per_org")
        ]

    def __str__(self) -> str:
        return f"{self.key} = {self.value}"

    @classmethod
    def take(cls, organisation: Organisation, key: str, count: int = 1, *, connection=None) -> range:
        """Reserve `count` consecutive values and return them.

        One upsert increments the row (making it on first use), so two takers can never
        read the same value. The row stays locked until the end of the transaction the
        upsert runs in: on a `connection` in autocommit, that is this one statement. A
        rolled-back transaction gives its values back only by leaving a gap, never a repeat.
        """
        if count < 1:
            return range(0)
        table = cls._meta.db_table
        # PostgreSQL and SQLite (3.35+) both speak this upsert.
        sql = (
            f"INSERT INTO {table} (organisation_id, key, value) VALUES (%s, %s, %s) "
            f"ON CONFLICT (organisation_id, key) DO UPDATE SET value = {table}.value + excluded.value "
            "RETURNING value"
        )
        with (connection or connections[DEFAULT_DB_ALIAS]).cursor() as cursor:
            cursor.execute(sql, [organisation.pk, key, count])
            (last,) = cursor.fetchone()
        return range(last - count + 1, last + 1)
