from django.urls import path

from runs import review, views, wizard

app_name = "runs"

urlpatterns = [
    path("", views.run_list, name="list"),
    path("<int:number>/", views.run_detail, name="detail"),
    path("my-work/", views.my_work, name="my-work"),
    path("teams/<int:team_id>/", views.team_queue, name="team-queue"),
    path("unassigned/", views.unassigned_pool, name="pool"),
    path("<int:number>/pick-up/", views.pick_up, name="pick-up"),
    path("schedule/", views.schedule, name="schedule"),
    path("new/", wizard.start_new_run, name="new"),
    path("new/<str:wizard_id>/<str:step>/", wizard.NewRunWizard.as_view(), name="wizard-step"),
    path("review/<uuid:draft_id>/", review.draft_row, name="draft-row"),
    path("created/<uuid:token>/", review.created, name="created"),
]
