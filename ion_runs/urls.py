from django.contrib import admin
from django.urls import include, path, re_path

from inventory.api import router as inventory_router
from ion_runs.accounts import views as account_views
from ion_runs.api import api, unknown_path
from ion_runs.jobs.api import router as jobs_router
from procedures.api import router as procedures_router
from runs.api import batches_router
from runs.api import router as runs_router

api.add_router("/runs", runs_router)
api.add_router("/batches", batches_router)
api.add_router("/jobs", jobs_router)
api.add_router("/", inventory_router)
api.add_router("/", procedures_router)

urlpatterns = [
    path("", account_views.home, name="home"),
    # Browsers ask for it by this address; pages link the static icon itself, so no name.
    path("favicon.ico", account_views.favicon),
    path("accounts/", include("ion_runs.accounts.urls")),
    path("runs/", include("runs.urls")),
    path("procedures/", include("procedures.urls")),
    path("inventory/", include("inventory.urls")),
    path("jobs/", include("ion_runs.jobs.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    re_path(r"^api/v1/(?P<path>.*)$", unknown_path),
]
