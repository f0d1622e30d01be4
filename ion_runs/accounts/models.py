import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.utils import timezone

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


# A membership is a row of the table Django makes for Team.members, whose str() would be
# "Team_members object (2)": the admin's user page prints it on each row of its Teams, and
# its history in what was added or removed. It reads as the team.
Team.members.through.__str__ = lambda membership: str(membership.team)


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


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiToken(models.Model):
    """A personal API token (SPEC §8): acts as its user; only a SHA-256 of the secret is kept.

    The secret reads `ion_<prefix>_<random>`; the prefix is stored in clear so that a
    person can tell their tokens apart. A request's token is found by the hash of what it
    sent (an index lookup), so the secret is never compared character by character.
    """

    SECRET_START = "ion_"
    STAYS_REVOKED = "A revoked token stays revoked; issue a new token instead."
    # last_used_at is written at most this often, not on every request.
    TOUCH_EVERY = timedelta(minutes=1)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, editable=False)
    digest = models.CharField("SHA-256 of the secret", max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.SECRET_START}{self.prefix}_…)"

    def save(self, *args, **kwargs) -> None:
        fields = kwargs.get("update_fields")
        if fields is not None and "revoked_at" not in fields:
            return super().save(*args, **kwargs)
        with transaction.atomic():
            # Locked, so a revoke committed between the check and the write cannot be undone.
            if self._unrevokes(lock=True):
                raise ValidationError({"revoked_at": self.STAYS_REVOKED})
            super().save(*args, **kwargs)

    def clean(self) -> None:
        if self._unrevokes():
            raise ValidationError({"revoked_at": self.STAYS_REVOKED})

    @classmethod
    def issue(cls, *, user: User, name: str) -> tuple["ApiToken", str]:
        """A new token for `user` and its secret, which is not stored and cannot be shown again."""
        prefix = secrets.token_hex(4)
        secret = f"{cls.SECRET_START}{prefix}_{secrets.token_urlsafe(32)}"
        token = cls.objects.create(user=user, name=name, prefix=prefix, digest=token_digest(secret))
        return token, secret

    @classmethod
    def authenticate(cls, secret: str) -> User | None:
        """The active user whose unrevoked token this is, or None."""
        if not secret.startswith(cls.SECRET_START) or len(secret) > 200:
            return None
        token = (
            cls.objects.active()
            .select_related("user__organisation")
            .filter(digest=token_digest(secret))
            .first()
        )
        if token is None:
            return None
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= cls.TOUCH_EVERY:
            cls.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def _unrevokes(self, *, lock: bool = False) -> bool:
        """Whether saving would clear the stored revocation: a secret once out stays refused."""
        if self._state.adding or self.revoked_at is not None:
            return False
        stored = ApiToken.objects.filter(pk=self.pk, revoked_at__isnull=False)
        return (stored.select_for_update() if lock else stored).exists()

    def revoke(self) -> None:
        """Refuse the token from now on; revoking twice keeps the first moment."""
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


class IdempotencyKey(models.Model):
    """The first answer to an API request sent with an `Idempotency-Key` header (SPEC §8).

    The row is inserted before the request's work, in the same transaction, so a second
    request with the same key waits on the unique index until the first commits, then
    replays its answer; if the first fails, its row rolls back with it.
    """

    KEPT_FOR = timedelta(hours=24)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    body_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")
        ]

    def __str__(self) -> str:
        return self.key
