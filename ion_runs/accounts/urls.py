from django.contrib.auth import views as auth_views
from django.urls import path

from ion_runs.accounts import token_views

app_name = "accounts"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api-tokens/", token_views.api_tokens, name="api-tokens"),
    path("api-tokens/<int:pk>/revoke/", token_views.revoke_api_token, name="api-token-revoke"),
]
