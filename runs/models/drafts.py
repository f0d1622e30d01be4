"""Review rows: a planner's drafts of runs, kept on the server until created."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F

from inventory.models import PartInventory
from ion_runs.accounts.models import Organisation
from ion_runs.accounts.patterns import next_in_sequence
from runs.models.runs import Run


def too_many_rows(*, held: int, adding: int, doing: str) -> str:
    """Why Review cannot take `adding` more rows beside the `held` it has, or "" when they fit.

    `doing` says what would add them ("runs.csv has 6,000 rows"); the message says how many
    fit and what to do, at the field that asked (settings.REVIEW_MAX_ROWS).
    """
    limit = settings.REVIEW_MAX_ROWS
    if held + adding <= limit:
        return ""
    room = max(0, limit - held)
    fit = f"only {room:,} more fit" if room else "no more fit"
    return (
        f"{doing}, but Review holds at most {limit:,} rows and has {held:,}: {fit}. "
        "Create or remove rows on Review first; nothing was added."
    )


class RunDraftQuerySet(models.QuerySet):
    def make_room(self, owner, adding: int, *, doing: str) -> None:
        """Raise ValidationError (see too_many_rows) unless the owner's Review takes `adding` more rows."""
        held = self.filter(owner=owner, removed_at__isnull=True).count()
        if message := too_many_rows(held=held, adding=adding, doing=doing):
            raise ValidationError(message)


class RunDraft(models.Model):
    """A row on the planner's Review list: everything needed to create one run."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="run_drafts")
    position = models.PositiveIntegerField(default=0)
    data = models.JSONField(default=dict)
    # Removed rows linger until the planner's next action, so Remove can be undone.
    removed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RunDraftQuerySet.as_manager()

    class Meta:
        ordering = ["position", "created_at"]
        indexes = [models.Index(fields=["owner", "position"], name="draft_owner_position_idx")]

    def __str__(self) -> str:
        return f"Draft {self.pk} of {self.owner}"

    def duplicate(self, copies: int) -> list["RunDraft"]:
        """Insert `copies` rows right after this one.

        Auto-generated values stay auto; a typed lot is kept; a typed serial counts up
        from this row's, skipping serials already in inventory or on the planner's rows;
        a typed name gets a suffix so the runs stay distinguishable.
        """
        doing = f"{copies:,} cop{'y' if copies == 1 else 'ies'}"
        RunDraft.objects.make_room(self.owner_id, copies, doing=doing)
        serials = self._next_serials(copies) if self.data.get("serial_number") else [""] * copies
        with transaction.atomic():
            RunDraft.objects.filter(owner_id=self.owner_id, position__gt=self.position).update(
                position=F("position") + copies
            )
            return RunDraft.objects.bulk_create(
                RunDraft(
                    organisation_id=self.organisation_id,
                    owner_id=self.owner_id,
                    position=self.position + i,
                    data=self.data | {"serial_number": serials[i - 1], "name": self._copy_name(i + 1)},
                )
                for i in range(1, copies + 1)
            )

    def _copy_name(self, number: int) -> str:
        """`Nose cone (2)`; a long name is shortened so that the suffix still fits."""
        name = self.data.get("name")
        if not name:
            return ""
        suffix = f" ({number})"
        return name[: Run._meta.get_field("name").max_length - len(suffix)] + suffix

    def _next_serials(self, count: int) -> list[str]:
        start, found, step = self.data["serial_number"], [], 1
        limit = PartInventory._meta.get_field("serial_number").max_length
        while len(found) < count:
            candidates = [next_in_sequence(start, step + i) for i in range(count - len(found) + 10)]
            step += len(candidates)
            # Counting up only ever lengthens a serial: once the first is too long, all are.
            if len(candidates[0]) > limit:
                raise ValidationError(
                    f"Serial number {start} cannot count up {count} more within {limit} characters. "
                    "Duplicate with fewer copies, or type the copies' serial numbers."
                )
            candidates = [c for c in candidates if len(c) <= limit]
            used = set(
                PartInventory.objects.filter(
                    organisation_id=self.organisation_id, serial_number__in=candidates
                ).values_list("serial_number", flat=True)
            ) | set(
                RunDraft.objects.filter(
                    owner_id=self.owner_id, data__serial_number__in=candidates
                ).values_list("data__serial_number", flat=True)
            )
            found += [c for c in candidates if c not in used][: count - len(found)]
        return found
