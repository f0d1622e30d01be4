from django.contrib import admin
from django.urls import include, path, re_path

from ion_runs.accounts import views as account_views
from ion_runs.api import api, unknown_path

urlpatterns = [
    path("", account_views.home, name="home"),
    # Browsers ask for it by this address; pages link the static icon itself, so no name.
    path("favicon.ico", account_views.favicon),
    path("accounts/", include("ion_runs.accounts.urls")),
    path("runs/", include("runs.urls")),
    path("procedures/", include("procedures.urls")),
    path("inventory/", include("inventory.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    re_path(r"^api/v1/(?P<path>.*)$", unknown_path),
]
