"""The runs' background jobs (SPEC §13): large exports and imports, run by a worker.

Each task takes a job id; `run_job` claims the job, and the work below does what the request
would have done, reporting progress as it goes. The views and the API decide what is large
enough to be a job (settings `*_IN_BACKGROUND_ABOVE`). A large API create is a job of
`runs.api.create`, beside the endpoint whose answer it makes.
"""

import io
import tempfile

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import QueryDict
from django.tasks import task
from django.urls import reverse

from ion_runs.jobs.running import JobFailed, Progress, run_job
from runs.models import RunDraft
from runs.paper import printing
from runs.spreadsheets import exporting
from runs.spreadsheets.columns import columns_for
from runs.spreadsheets.importing import import_runs
from runs.spreadsheets.reading import UnreadableFile, read_upload


@task
def export_runs(job_id: int) -> None:
    run_job(job_id, _export)


def _export(progress: Progress) -> None:
    job = progress.job
    export = exporting.Export(job.owner, QueryDict(job.params["query"]))
    progress.set_total(count := export.runs.count())
    job.title = f"Export {count:,} runs as {job.params['format'].upper()}"
    job.export_controlled = export.runs.filter(export_controlled=True).exists()
    fmt = job.params["format"]
    rows = progress.iterate(export.rows(), every=1_000)
    with tempfile.TemporaryFile() as target:
        if fmt == "xlsx":
            exporting.write_xlsx(export.header, rows, target)
        else:
            for piece in exporting.csv_lines(export.header, rows):
                target.write(piece.encode())
        target.seek(0)
        progress.keep_file(export.filename(fmt), target)


@task
def import_spreadsheet(job_id: int) -> None:
    run_job(job_id, _import)


def _import(progress: Progress) -> None:
    """The stored upload read and checked as the import page does, its rows put on Review."""
    job = progress.job
    stored = job.params["upload"]
    try:
        with default_storage.open(stored, "rb") as upload:
            content = ContentFile(upload.read(), name=job.params["filename"])
        try:
            sheet = read_upload(content, columns_for(job.owner.organisation_id))
        except UnreadableFile as error:
            raise JobFailed([str(error)]) from None
        progress.set_total(len(sheet.rows))
        try:
            # Checked again here: the planner may have added rows (or another import) since.
            RunDraft.objects.make_room(
                job.owner, len(sheet.rows), doing=f"{sheet.filename} has {len(sheet.rows):,} rows"
            )
        except ValidationError as error:
            raise JobFailed(error.messages) from None
        result = import_runs(user=job.owner, sheet=sheet, progress=progress.iterate)
    finally:
        default_storage.delete(stored)
    job.result_data = {
        "imported": len(result.drafts),
        "invalid": result.invalid,
        "batch_name": result.batch_name,
        "filename": sheet.filename,
    }
    job.result_url = reverse("runs:import-landed", kwargs={"pk": job.pk})


@task
def print_travelers(job_id: int) -> None:
    run_job(job_id, _print_travelers)


def _print_travelers(progress: Progress) -> None:
    """The travelers of the runs asked for that the owner may still see, in the order asked."""
    job = progress.job
    ids = job.params["runs"]
    found = printing.printable_runs(job.owner).in_bulk(ids)
    runs = [found[pk] for pk in ids if pk in found]
    job.export_controlled = any(run.export_controlled for run in runs)
    pdf = printing.travelers_for(job.owner, runs, url_for=printing.run_url_on(job.params["site"]))
    progress.keep_file(job.params["filename"], io.BytesIO(pdf))
