"""What the traveler and label PDFs are made from: the runs with their steps, and where each
run's QR code points. Shared by the download views and the travelers job."""

from urllib.parse import urljoin

from django.db.models import Prefetch, prefetch_related_objects
from django.urls import reverse

from runs.access import RUN_PAGE_RELATED, hide_hidden_batches, visible_runs
from runs.models import Run, RunStep, RunStepField
from runs.paper.travelers import travelers_pdf


def printable_runs(user):
    """The runs `user` may print, with what a traveler shows of each besides its steps: what
    the run page shows (labels read part and unit only)."""
    return visible_runs(user).select_related(*RUN_PAGE_RELATED)


def travelers_for(user, runs: list[Run], *, url_for) -> bytes:
    hide_hidden_batches(user, runs)
    with_steps(runs)
    return travelers_pdf(runs, url_for=url_for)


def with_steps(runs: list[Run]) -> None:
    """Load every run's steps in order, with their fields and who recorded what: three queries."""
    fields = RunStepField.objects.order_by("position").select_related("recorded_by")
    steps = RunStep.objects.order_by("position").select_related("started_by", "finished_by")
    prefetch_related_objects(
        runs, Prefetch("steps", queryset=steps.prefetch_related(Prefetch("fields", fields)))
    )


def run_url(request):
    """The absolute address of a run's page, as its QR code opens it."""
    return lambda run: request.build_absolute_uri(reverse("runs:detail", args=[run.number]))


def run_url_on(site: str):
    """The same address from a worker, on the site the person asked from."""
    return lambda run: urljoin(site, reverse("runs:detail", args=[run.number]))
