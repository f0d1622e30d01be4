from django.urls import path

from runs import batches, review, run_actions, schedule, spreadsheet_views, views, wizard, work_pages
from runs.execution import views as execution
from runs.paper import views as paper
from runs.run_actions import change_run

app_name = "runs"

urlpatterns = [
    path("", work_pages.run_list, name="list"),
    path("<int:number>/", run_actions.run_detail, name="detail"),
    # Each small form of the run page posts to its own URL; one view makes any of the changes.
    path("<int:number>/reassign/", change_run, {"form_class": run_actions.ReassignForm}, name="run-reassign"),
    path("<int:number>/due-date/", change_run, {"form_class": run_actions.DueDateForm}, name="run-due-date"),
    path("<int:number>/rename/", change_run, {"form_class": run_actions.RenameForm}, name="run-rename"),
    path("<int:number>/batch/", change_run, {"form_class": run_actions.BatchForm}, name="run-batch"),
    path("<int:number>/cancel/", change_run, {"form_class": run_actions.CancelForm}, name="run-cancel"),
    path(
        "<int:number>/procedure/",
        change_run,
        {"form_class": run_actions.AddProcedureForm},
        name="run-procedure",
    ),
    # Working its steps (SPEC §12): each action of a step's panel posts to its own URL.
    path("<int:number>/steps/<int:position>/<slug:action>/", execution.step_action, name="step-action"),
    path(
        "<int:number>/steps/<int:position>/fields/<int:field_position>/file/",
        execution.step_file,
        name="step-file",
    ),
    path("<int:number>/reopen/", execution.reopen, name="run-reopen"),
    # Travelers and labels (SPEC §14): the PDFs of a run, a batch and the runs just created.
    path("<int:number>/traveler.pdf", paper.run_traveler, name="run-traveler"),
    path("<int:number>/labels.pdf", paper.run_labels, name="run-labels"),
    path("batches/<int:pk>/travelers.pdf", paper.batch_travelers, name="batch-travelers"),
    path("batches/<int:pk>/labels.pdf", paper.batch_labels, name="batch-labels"),
    path("created/<uuid:token>/travelers.pdf", paper.created_travelers, name="created-travelers"),
    path("created/<uuid:token>/labels.pdf", paper.created_labels, name="created-labels"),
    path("batches/", batches.batch_list, name="batches"),
    path("batches/new/", batches.batch_new, name="batch-new"),
    path("batches/<int:pk>/", batches.batch_detail, name="batch"),
    path("batches/<int:pk>/rename/", batches.batch_rename, name="batch-rename"),
    path("batches/<int:pk>/add/", batches.batch_add, name="batch-add"),
    path("batches/<int:pk>/remove/<int:number>/", batches.batch_remove, name="batch-remove"),
    path("my-work/", work_pages.my_work, name="my-work"),
    path("teams/<int:team_id>/", work_pages.team_queue, name="team-queue"),
    path("unassigned/", work_pages.unassigned_pool, name="pool"),
    path("<int:number>/pick-up/", views.pick_up, name="pick-up"),
    path("schedule/", schedule.schedule, name="schedule"),
    path("new/", wizard.start_new_run, name="new"),
    path("new/<str:wizard_id>/<str:step>/", wizard.NewRunWizard.as_view(), name="wizard-step"),
    path("review/<uuid:draft_id>/", review.draft_row, name="draft-row"),
    path("created/<uuid:token>/", review.created, name="created"),
    path("import/", spreadsheet_views.import_page, name="import"),
    path("import/template.<str:fmt>", spreadsheet_views.import_template, name="import-template"),
    path("import/jobs/<int:pk>/review/", spreadsheet_views.import_landed, name="import-landed"),
    path("export.<str:fmt>", spreadsheet_views.export, name="export"),
]
