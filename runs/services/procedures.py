"""Adding a procedure to a run created without one (SPEC §12, "Add a procedure later").

The seed lets a planner "leave it blank to add one later". Later, the run gets a runnable
version linked to its part, as the wizard's Part step would have offered it, and its steps
are copied then by create_runs' own statements: the revision lock applies from that moment
(the run keeps its copy, whatever the procedure becomes). In a batch, every run of the batch
gets the version at once, or none does: runs of a batch share one procedure version.
"""

from django.db import transaction

from ion_runs.accounts.models import User
from procedures.models import ProcedureVersion, VersionStatus
from runs.models import (
    Run,
    RunBatch,
    RunEvent,
    RunEventKind,
    RunStatus,
    mixed_versions_message,
    named_in_message,
)
from runs.models.runs import PLANNER_PERMISSION
from runs.services.batches import sync_export_control
from runs.services.creation import UNRELEASED_PROCEDURE, _copy_steps_where, _families_locked
from runs.services.execution import NotYours
from runs.services.run_changes import RunChangeError, StaleChange, lock_runs

NO_CHANGE_ONCE_STARTED = "a run that has started, completed or been canceled cannot change procedure."


class ProcedureLocked(RunChangeError):
    """The run, or a run of its batch, can take no procedure now: it has one already, or it has
    started, completed or been canceled. Nothing was changed."""


def add_procedure(*, actor: User, run: Run, version: ProcedureVersion) -> list[Run]:
    """Give `version` to the run, and to every run of its batch, all or none; returns those runs.

    Raises NotYours for anyone but a planner; ProcedureLocked when a run's state refuses;
    RunChangeError at `procedure` for what is wrong with the version, in the wizard's words.
    """
    if not actor.has_perm(PLANNER_PERMISSION):
        raise NotYours("Only planners can add a procedure to a run.")
    with transaction.atomic():
        batch, runs = _lock(actor, run)
        run = next(each for each in runs if each.pk == run.pk)
        _refuse_by_state(run, batch, runs, version)
        version, controlled = _check_version(actor, batch, runs, version)
        if controlled and batch is not None and (clash := batch.scope_problem(export_controlled=True)):
            raise RunChangeError(clash, field="procedure")
        changes = {"procedure_version": version} | ({"export_controlled": True} if controlled else {})
        Run.objects.filter(pk__in=[each.pk for each in runs]).update(**changes)
        if controlled and batch is not None:
            sync_export_control([batch.pk], field="procedure")
        # Every run of the batch is among `runs` (they are locked, and none had steps).
        if batch is None:
            _copy_steps_where("r.id = %s", run.pk)
        else:
            _copy_steps_where("r.batch_id = %s", batch.pk)
        RunEvent.objects.bulk_create(
            RunEvent(run=each, kind=RunEventKind.PROCEDURE_ADDED, actor=actor, after=str(version))
            for each in runs
        )
        for each in runs:
            each.procedure_version = version
            each.export_controlled = each.export_controlled or controlled
    return runs


def _lock(actor: User, run: Run) -> tuple[RunBatch | None, list[Run]]:
    """The run's batch, locked, and the run with every run of that batch, locked in id order.

    A run joins a batch only with the batch locked (batches.add_runs_to_batch), so with it
    locked here no run joins meanwhile, and the version reaches every run of the batch. The
    batch is locked before its runs, as there, so two planners cannot deadlock.
    """
    batch_id = Run.objects.filter(pk=run.pk).values_list("batch_id", flat=True).first()
    batch = RunBatch.objects.select_for_update().filter(pk=batch_id).first() if batch_id else None
    members = set(Run.objects.filter(batch=batch).values_list("pk", flat=True)) if batch else set()
    lock_runs(members | {run.pk})
    runs = list(
        Run.objects.select_related("part", "procedure_version", "assigned_user")
        .filter(pk__in=members | {run.pk})
        .order_by("number")
    )
    now = next((each for each in runs if each.pk == run.pk), None)
    if now is None or now.organisation_id != actor.organisation_id:
        raise RunChangeError("This run no longer exists or is not visible to you.")
    # A run of the batch may have left it meanwhile (taking a run out locks only the run).
    runs = [each for each in runs if each.batch_id == now.batch_id]
    moved = now.batch_id != (batch and batch.pk)
    if not moved and batch is not None:
        # Only the admin moves a run without locking its batch; the copy must not reach it.
        moved = Run.objects.filter(batch=batch).exclude(pk__in=[each.pk for each in runs]).exists()
    if moved:
        raise StaleChange(
            f"The batch of run {now.number} changed at this very moment. Nothing was changed; "
            "check the run as it is now and try again."
        )
    if batch is not None and not RunBatch.objects.visible_to(actor).filter(pk=batch.pk).exists():
        # Its export-controlled runs would get the version too, unseen by the actor.
        raise RunChangeError(
            f"Run {now.number} is in a batch with runs you cannot see: "
            "only an export-cleared planner can add its procedure.",
            field="procedure",
        )
    if now.export_controlled and not actor.export_cleared:
        raise RunChangeError("This run no longer exists or is not visible to you.")
    return batch, runs


def _named(numbers: list[int]) -> str:
    """`run 4` or `runs 4, 5 and 3 more`, as the batch rule names runs."""
    return f"run{'s' if len(numbers) > 1 else ''} {named_in_message(numbers)}"


def _all_or_none(version: ProcedureVersion, batch: RunBatch, runs: list[Run]) -> str:
    return (
        f"Runs in a batch share one procedure version, so “{version}” goes to all {len(runs)} runs "
        f"of batch “{batch}” or to none"
    )


def _refuse_by_state(run: Run, batch: RunBatch | None, runs: list[Run], version: ProcedureVersion) -> None:
    if run.procedure_version_id:
        raise ProcedureLocked(
            f"Run {run.number} already has procedure “{run.procedure_version}”; "
            "a run's procedure cannot be changed.",
            field="procedure",
        )
    if run.status != RunStatus.TODO:
        raise ProcedureLocked(
            f"Run {run.number} is {run.get_status_display().lower()}; {NO_CHANGE_ONCE_STARTED}",
            field="procedure",
        )
    if batch is None:
        return
    problems = []
    # The batch rule, broken only by hand (the admin): said as everywhere else.
    groups: dict[ProcedureVersion | None, list[int]] = {}
    for each in runs:
        groups.setdefault(each.procedure_version, []).append(each.number)
    if conflict := mixed_versions_message(groups, "run"):
        problems.append(conflict)
    started = [each for each in runs if each.status != RunStatus.TODO]
    if started:
        states = "; ".join(f"run {each.number} is {each.get_status_display().lower()}" for each in started)
        problems.append(f"{_all_or_none(version, batch, runs)}: {states}; {NO_CHANGE_ONCE_STARTED}")
    if problems:
        raise ProcedureLocked(*problems, field="procedure")


def _check_version(
    actor: User, batch: RunBatch | None, runs: list[Run], version: ProcedureVersion
) -> tuple[ProcedureVersion, bool]:
    """The version as it is now, and whether it makes the runs export controlled; or why not.

    Its family stays locked until commit, as in create_runs, so a release cannot supersede
    it between this check and the copy of its steps.
    """
    family = _families_locked(actor, {version.pk})
    version = family.get(version.pk)
    if version is None:
        raise RunChangeError("The procedure no longer exists or is not visible to you.", field="procedure")
    unapproved = version.unapproved_steps.exists()
    if version.status != VersionStatus.RELEASED or unapproved:
        raise RunChangeError(
            f"{UNRELEASED_PROCEDURE}: “{version}” is {version.get_status_display().lower()}"
            + (" and has unapproved steps." if unapproved else "."),
            field="procedure",
        )
    linked = set(version.parts.values_list("pk", flat=True))
    unlinked: dict = {}
    for each in runs:
        if each.part_id not in linked:
            unlinked.setdefault(each.part, []).append(each.number)
    if unlinked and batch is None:
        message = f"Procedure “{version}” is not linked to part {runs[0].part}."
        raise RunChangeError(message, field="procedure")
    if unlinked:
        parts = " or ".join(f"part {part} ({_named(numbers)})" for part, numbers in unlinked.items())
        raise RunChangeError(
            f"{_all_or_none(version, batch, runs)}, and it is not linked to {parts}.", field="procedure"
        )
    # Export control belongs to the whole family (see procedures.models), as at creation.
    controlled = any(each.export_controlled for each in family.values())
    # The Details rule too: an export-controlled run goes only to export-cleared people.
    refusals = [
        f"{each.assigned_user} is not export-cleared and could not see run {each.number} once "
        f"“{version}” makes it export controlled; reassign it first."
        for each in runs
        if controlled and each.assigned_user is not None and not each.assigned_user.export_cleared
    ]
    if refusals:
        raise RunChangeError(*refusals, field="procedure")
    return version, controlled
