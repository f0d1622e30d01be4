"""How a batch's runs stand, step by step (issue 19): "Torque cover: 18 of 20 complete"."""

import dataclasses

from django.db.models import Count, Min, Q
from django.urls import reverse

from runs.access import visible_runs
from runs.models import RunBatch, RunStatus, RunStep
from runs.models.steps import StepStatus


@dataclasses.dataclass
class StepProgress:
    position: int
    title: str
    total: int
    complete: int
    skipped: int
    failed: int
    held: int
    # Steps worked on their own, apart from the batch ("this run only").
    alone: int

    @property
    def done(self) -> int:
        return self.complete + self.skipped

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def step_progress(user, batch: RunBatch) -> tuple[list[StepProgress], str]:
    """Each step position across the batch's runs the user may see, and the address of the next
    step to work for the whole batch ("" when every step is done): two queries."""
    runs = visible_runs(user).filter(batch=batch).exclude(status=RunStatus.CANCELED)
    steps = RunStep.objects.filter(run__in=runs)
    rows = [
        StepProgress(**row)
        for row in steps.values("position")
        .annotate(
            title=Min("title"),
            total=Count("pk"),
            complete=Count("pk", filter=Q(status=StepStatus.COMPLETE)),
            skipped=Count("pk", filter=Q(status=StepStatus.CANCELED)),
            failed=Count("pk", filter=Q(status=StepStatus.FAILED)),
            held=Count("pk", filter=Q(status=StepStatus.HOLD)),
            alone=Count("pk", filter=Q(worked_alone=True)),
        )
        .order_by("position")
    ]
    unfinished = next((row for row in rows if row.done < row.total), None)
    if unfinished is None:
        return rows, ""
    waiting = steps.filter(position=unfinished.position).exclude(status__in=StepStatus.done())
    number = waiting.order_by("run__number").values_list("run__number", flat=True).first()
    return rows, reverse("runs:detail", args=[number]) + f"#step-{unfinished.position}"
