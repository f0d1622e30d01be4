"""Run batches: named groups of runs on one procedure version (SPEC §9)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, F, OuterRef
from django.db.models.functions import Upper

from ion_runs.accounts.models import Organisation
from procedures.models import ProcedureVersion
from runs.models.runs import Run

CLOSED_RUNS_STAY = "complete and canceled runs cannot be added to a batch."


class RunBatchQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The user's organisation's batches; for the uncleared, none holding an export-controlled run.

        A batch's name and its size describe all of its runs, so one controlled run hides the
        batch whole, even though its other runs stay visible on their own.
        """
        batches = self.filter(organisation_id=user.organisation_id)
        if not user.export_cleared:
            controlled_runs = Run.objects.filter(batch=OuterRef("pk"), export_controlled=True)
            batches = batches.exclude(Exists(controlled_runs))
        return batches

    def named(self, name: str, *, user):
        """The batches of this name, in any case, that `user` may see: the names a new or renamed
        batch of theirs must not take.

        Only visible ones: refusing a name that a hidden batch holds would tell the uncleared
        planner that it exists (issue 22). Their batches hold no export-controlled run, so
        the names they may not take are exactly those of `batch_name_unique_per_scope`'s
        scope, and the database backs the check when two creators race.
        """
        return self.visible_to(user).filter(name__iexact=name)

    def sync_export_control(self) -> int:
        """Set each batch's `export_controlled` to whether it holds an export-controlled run.

        Every change that moves a run into or out of a batch, or makes a run controlled,
        ends with this in its transaction; it raises IntegrityError when the batch would
        share its name with a batch of the scope it moves to (check `scope_problem` first).
        """
        controlled_runs = Run.objects.filter(batch=OuterRef("pk"), export_controlled=True)
        return self.update(export_controlled=Exists(controlled_runs))


# A message names at most this many rows or runs per version, then says how many more.
NAMED_IN_MESSAGE = 20


def named_in_message(items: list) -> str:
    """At most NAMED_IN_MESSAGE of `items`, then how many more: `4, 5, 6 and 3 more`."""
    shown = ", ".join(map(str, items[:NAMED_IN_MESSAGE]))
    if len(items) > NAMED_IN_MESSAGE:
        shown += f" and {len(items) - NAMED_IN_MESSAGE:,} more"
    return shown


def mixed_versions_message(groups: dict[ProcedureVersion | None, list], noun: str) -> str:
    """The batch rule's message: which rows (or runs) use which procedure version.

    `groups` maps a version (None: no procedure) to the rows or run numbers that use it, in
    the order to name them; one group means no conflict (""). Review, create_runs and adding
    runs to a batch later all say it this way.
    """
    if len(groups) < 2:
        return ""

    def clause(version: ProcedureVersion | None, items: list) -> str:
        shown = named_in_message(items)
        many = len(items) > 1
        return f"{noun}{'s' if many else ''} {shown} {'use' if many else 'uses'} {version or 'no procedure'}"

    return (
        "Runs in a batch share one procedure version, but "
        + "; ".join(clause(version, items) for version, items in groups.items())
        + "."
    )


class RunBatch(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="batches")
    name = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Whether it holds an export-controlled run, which hides it from the uncleared
    # (visible_to): the scope its name is unique in. Kept by sync_export_control.
    export_controlled = models.BooleanField(default=False, editable=False)

    objects = RunBatchQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "run batches"
        ordering = ["-created_at"]
        constraints = [
            # "Order 4711" and "order 4711" would be one batch to a person, and to the
            # runs filter, which matches names in any case (iexact, UPPER() on PostgreSQL).
            # Unique per export-control scope, not per organisation: an uncleared planner
            # must be able to take a name that only a batch hidden from them holds, or the
            # refusal would tell them it exists (issue 22).
            models.UniqueConstraint(
                F("organisation"), Upper("name"), F("export_controlled"), name="batch_name_unique_per_scope"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.organisation_id and self.twin(export_controlled=self.export_controlled):
            raise ValidationError({"name": f"A batch named “{self.name}” already exists."})

    def twin(self, *, export_controlled: bool) -> bool:
        """Whether another batch of the organisation has this name, in any case, in that scope."""
        twins = RunBatch.objects.filter(
            organisation_id=self.organisation_id, name__iexact=self.name, export_controlled=export_controlled
        )
        return twins.exclude(pk=self.pk).exists()

    def scope_problem(self, *, export_controlled: bool) -> str:
        """Why the batch cannot come to hold export-controlled runs (or stop holding any), or "".

        Only an export-cleared planner moves a batch between scopes (they alone see the
        controlled runs that do it), and they see both batches, so naming the twin is safe.
        """
        if export_controlled == self.export_controlled or not self.twin(export_controlled=export_controlled):
            return ""
        if export_controlled:
            return (
                f"Batch “{self.name}” would then hold export-controlled runs, and another batch that "
                "holds some has the same name. Rename one of them first."
            )
        return (
            f"Batch “{self.name}” would then hold no export-controlled run, and another batch that "
            "holds none has the same name. Rename one of them first."
        )

    def procedure_versions(self) -> list[ProcedureVersion | None]:
        """The procedure versions its runs use: one, or none for an empty batch (the rule)."""
        ids = set(self.runs.order_by().values_list("procedure_version_id", flat=True).distinct())
        versions = ProcedureVersion.objects.in_bulk(ids - {None})
        return [versions.get(pk) for pk in sorted(ids, key=lambda pk: pk or 0)]

    def problems_adding(self, runs: "list[Run]", *, user) -> list[str]:
        """Why these runs cannot join this batch (SPEC §9), as `user` may read it, or [].

        A run is in at most one batch; complete and canceled runs stay as they are; and
        every run of a batch shares one procedure version (or all have none), said as on
        Review, naming the runs that differ.
        """
        problems = []
        named = self._batches_named_to(user, runs)
        for run in runs:
            if run.is_closed:
                problems.append(f"Run {run.number} is {run.get_status_display().lower()}; {CLOSED_RUNS_STAY}")
            elif run.batch_id and run.batch_id != self.pk:
                where = f"batch “{run.batch}”" if run.batch_id in named else "another batch"
                problems.append(
                    f"Run {run.number} is already in {where}: a run is in one batch at most. "
                    "Remove it from that batch first."
                )
        controlled = any(run.export_controlled for run in runs)
        if controlled and (clash := self.scope_problem(export_controlled=True)):
            problems.append(clash)
        joining = sorted((run for run in runs if run.batch_id != self.pk), key=lambda run: run.number)
        current = self.procedure_versions()
        version_ids = {v.pk if v else None for v in current} | {r.procedure_version_id for r in joining}
        if len(version_ids) < 2:
            return problems
        # Only on a conflict: the batch's own runs are named by number, for the message.
        groups: dict[ProcedureVersion | None, list[int]] = {}
        versions = {version.pk if version else None: version for version in current}
        for number, version_id in self.runs.order_by("number").values_list("number", "procedure_version_id"):
            groups.setdefault(versions.get(version_id), []).append(number)
        for run in joining:
            groups.setdefault(run.procedure_version, []).append(run.number)
        if conflict := mixed_versions_message(groups, "run"):
            problems.append(conflict)
        return problems

    def _batches_named_to(self, user, runs: "list[Run]") -> set[int]:
        """The other batches of these runs that `user` may see, so a message may name them.

        A batch holding an export-controlled run is hidden from the uncleared, and its name
        with it, even when one of its runs (visible on its own) is being added here.
        """
        others = {run.batch_id for run in runs if run.batch_id and run.batch_id != self.pk}
        if not others:
            return set()
        return set(RunBatch.objects.visible_to(user).filter(pk__in=others).values_list("pk", flat=True))
