"""Creating runs from the planner's Review rows (drafts), all or none."""

import uuid
from collections.abc import Sequence

from django.db import transaction

from ion_runs.accounts.models import User
from runs.models import Run, RunDraft
from runs.services.creation import Problem, RunCreationError, RunRequest, _created_with, create_runs

LIST_CHANGED = (
    "The list of runs changed since this page was loaded (in another tab?). Nothing was created: "
    "check the runs below and press Create again."
)


def create_runs_from_drafts(
    *, user: User, draft_ids: Sequence[uuid.UUID], batch_name: str = "", token: uuid.UUID
) -> list[Run]:
    """Create the planner's review rows; they are removed in the same transaction.

    Raises RunCreationError whose `rows` are keyed by draft id.
    """
    with transaction.atomic(durable=True):
        if already := _created_with(user, token):
            return already
        # Every row of the planner is locked, so a second tab creating the same rows waits
        # here, then finds them made into runs. A row added or removed since the page showed
        # the list makes the two differ: then nothing is created.
        drafts = list(
            RunDraft.objects.select_for_update()
            .filter(owner=user, removed_at__isnull=True)
            .order_by("position", "created_at")
        )
        if {d.pk for d in drafts} != set(draft_ids):
            done = list(Run.objects.filter(request_key__in=draft_ids, created_by=user).order_by("number"))
            if done and len(done) == len(set(draft_ids)):
                return done
            raise RunCreationError(batch=[LIST_CHANGED])
        # Rows imported from a spreadsheet keep their problems until edited (or removed).
        if unresolved := {
            d.pk: [Problem(m) for m in d.data["import_problems"]]
            for d in drafts
            if d.data.get("import_problems")
        }:
            raise RunCreationError(unresolved)
        try:
            runs = create_runs(
                user=user,
                requests=[RunRequest.from_draft(d) for d in drafts],
                batch_name=batch_name,
                token=token,
            )
        except RunCreationError as error:
            error.rows = {drafts[i].pk: ms for i, ms in error.rows.items()}
            raise
        RunDraft.objects.filter(pk__in=[d.pk for d in drafts]).delete()
        return runs
