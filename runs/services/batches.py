"""Batches after creation: make one, rename it, add runs to it later, take a run out (SPEC §9).

The rule is Review's: every run of a batch shares one procedure version (or all have
none), a run is in one batch at most, and complete or canceled runs stay where they are
(`RunBatch.problems_adding`). Adding locks the batch, so two planners adding at once take
turns and the second checks against the first's runs.
"""

from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone

from ion_runs.accounts.models import User
from runs.models import Run, RunBatch, RunEvent, RunEventKind
from runs.services.events import record
from runs.services.run_changes import (
    CHANGED_RELATED,
    UNSEEN,
    RunChangeError,
    StaleChange,
    Unseen,
    lock_run,
    lock_runs,
    refuse_if_closed,
)

BATCH_NAME_LENGTH = RunBatch._meta.get_field("name").max_length


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise RunChangeError("Give the batch a name.", field="name")
    if len(name) > BATCH_NAME_LENGTH:
        raise RunChangeError(
            f"The batch name is {len(name)} characters long; at most {BATCH_NAME_LENGTH} fit.", field="name"
        )
    return name


def _save_named(batch: RunBatch, *, actor: User) -> None:
    message = f"A batch named “{batch.name}” already exists."
    if RunBatch.objects.named(batch.name, user=actor).exclude(pk=batch.pk).exists():
        raise RunChangeError(message, field="name")
    try:
        with transaction.atomic():
            batch.save()
    except IntegrityError as exc:
        # Another planner took the name since the check above.
        raise RunChangeError(message, field="name") from exc


def sync_export_control(batch_ids: Sequence[int], *, field: str) -> None:
    """Bring the batches' export-control scope up to date with their runs, in the caller's
    transaction, after runs joined, left or became export controlled.

    The caller checked `RunBatch.scope_problem` with the batch locked; a clash here is a
    batch of the same name made in the other scope since (create_batch does not lock).
    """
    try:
        with transaction.atomic():
            RunBatch.objects.filter(pk__in=batch_ids).sync_export_control()
    except IntegrityError as exc:
        raise RunChangeError(
            "Another planner gave a batch the same name at this very moment. Nothing was changed; try again.",
            field=field,
        ) from exc


def create_batch(*, actor: User, name: str) -> RunBatch:
    """An empty batch, to add runs to."""
    batch = RunBatch(organisation_id=actor.organisation_id, name=_clean_name(name), created_by=actor)
    _save_named(batch, actor=actor)
    return batch


def rename_batch(*, actor: User, batch: RunBatch, name: str, seen: str | Unseen = UNSEEN) -> RunBatch:
    name = _clean_name(name)
    with transaction.atomic():
        batch = RunBatch.objects.select_for_update().get(pk=batch.pk)
        if seen is not UNSEEN and seen != batch.name:
            raise StaleChange(
                f"The batch was renamed “{batch.name}” since this page was loaded. Nothing was changed; "
                "check the name and try again."
            )
        if batch.name != name:
            before, batch.name = batch.name, name
            _save_named(batch, actor=actor)
            record_renamed(actor=actor, batch=batch, before=before)
    return batch


def record_renamed(*, actor: User | None, batch: RunBatch, before: str) -> None:
    """A "batch renamed" event on each run of the batch (or, on a batch of no run, on the batch
    alone), in the caller's transaction, with the batch locked, so no run joins or leaves meanwhile.

    All at one moment, so that the batch's history shows the rename once.
    """
    at = timezone.now()
    run_ids = list(batch.runs.order_by("pk").values_list("pk", flat=True)) or [None]
    RunEvent.objects.bulk_create(
        RunEvent(
            run_id=pk,
            kind=RunEventKind.BATCH_RENAMED,
            actor=actor,
            at=at,
            before=before,
            after=batch.name,
            batch=batch,
        )
        for pk in run_ids
    )


def add_runs_to_batch(*, actor: User, batch: RunBatch, runs: Sequence[Run]) -> list[Run]:
    """Put these runs (of the batch's organisation) in the batch, all or none; returns those that
    joined (a run already in it stays as it is)."""
    if not runs:
        raise RunChangeError("Pick the runs to add.", field="runs")
    with transaction.atomic():
        # Two planners adding runs of different versions to one batch at once would each
        # find the batch agreeing with their own runs. With the batch locked, the second
        # waits for the first to commit, then checks against the runs it added.
        batch = RunBatch.objects.select_for_update().get(pk=batch.pk)
        # A controlled run may have joined since the actor's page checked the batch.
        if not RunBatch.objects.visible_to(actor).filter(pk=batch.pk).exists():
            raise RunChangeError("This batch no longer exists or is not visible to you.", field="runs")
        # And the runs, so that a run cannot join two batches at once.
        wanted = {run.pk for run in runs}
        lock_runs(wanted)
        locked = list(
            Run.objects.select_related(*CHANGED_RELATED)
            .filter(pk__in=wanted, organisation_id=batch.organisation_id)
            .order_by("pk")
        )
        if len(locked) != len(wanted):
            raise RunChangeError("Some of these runs do not exist (any more).", field="runs")
        if problems := batch.problems_adding(locked, user=actor):
            raise RunChangeError(*problems, field="runs")
        joining = [run for run in locked if run.batch_id != batch.pk]
        Run.objects.filter(pk__in=[run.pk for run in joining]).update(batch=batch)
        sync_export_control([batch.pk], field="runs")
        RunEvent.objects.bulk_create(
            RunEvent(run=run, kind=RunEventKind.BATCHED, actor=actor, after=batch.name, batch=batch)
            for run in joining
        )
        for run in joining:
            run.batch = batch
    return joining


def remove_run_from_batch(*, actor: User, batch: RunBatch, run: Run) -> Run:
    """Take the run out of this batch; the batch stays, even when it is left empty."""
    with transaction.atomic():
        # The batch first, as adding runs locks it: its scope is decided by the runs it keeps.
        batch = RunBatch.objects.select_for_update().get(pk=batch.pk)
        run = lock_run(run)
        refuse_if_closed(run)
        if run.batch_id != batch.pk:
            raise StaleChange(f"Run {run.number} is no longer in batch “{batch.name}”. Nothing was changed.")
        controlled = batch.runs.filter(export_controlled=True).exclude(pk=run.pk).exists()
        if clash := batch.scope_problem(export_controlled=controlled):
            raise RunChangeError(clash, field="runs")
        run.batch = None
        run.save(update_fields=["batch"])
        sync_export_control([batch.pk], field="runs")
        record(run=run, kind=RunEventKind.UNBATCHED, actor=actor, before=batch.name, batch=batch)
    return run


def delete_batch(*, actor: User, batch: RunBatch) -> None:
    """Delete the batch; its runs stay, out of any batch, each with an "unbatched" event."""
    with transaction.atomic():
        batch = RunBatch.objects.select_for_update().get(pk=batch.pk)
        run_ids = list(Run.objects.filter(batch=batch).values_list("pk", flat=True))
        RunEvent.objects.bulk_create(
            RunEvent(run_id=pk, kind=RunEventKind.UNBATCHED, actor=actor, before=batch.name) for pk in run_ids
        )
        batch.delete()
