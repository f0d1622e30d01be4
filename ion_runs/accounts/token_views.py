"""The "API tokens" page (SPEC §8): a user lists, creates and revokes their own tokens.

A token acts as its user, so only its user manages it here (admins use the admin): another
user's token is a 404, as if it did not exist.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from ion_runs.accounts.forms import ApiTokenForm
from ion_runs.accounts.models import ApiToken
from ion_runs.api import USE_API


def get_token_for_user(request, pk: int) -> ApiToken:
    return get_object_or_404(ApiToken, pk=pk, user=request.user)


@never_cache
@login_required
@permission_required(USE_API, raise_exception=True)
@require_http_methods(["GET", "POST"])
def api_tokens(request):
    """The user's tokens and a form for a new one. The new secret is in this one answer only:
    it is rendered, not redirected to, since nothing stores it to show again."""
    secret = created = None
    if request.method == "POST":
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            created, secret = ApiToken.issue(user=request.user, name=form.cleaned_data["name"])
            form = ApiTokenForm()
    else:
        form = ApiTokenForm()
    tokens = ApiToken.objects.filter(user=request.user)
    return render(
        request,
        "accounts/api_tokens.html",
        {"form": form, "tokens": tokens, "created": created, "secret": secret},
    )


@login_required
@permission_required(USE_API, raise_exception=True)
@require_http_methods(["GET", "POST"])
def revoke_api_token(request, pk: int):
    """GET asks to confirm; POST revokes and returns to the list."""
    token = get_token_for_user(request, pk)
    if request.method == "POST":
        token.revoke()
        messages.success(request, f"Revoked “{token.name}”: requests with it are refused from now on.")
        return redirect("accounts:api-tokens")
    return render(request, "accounts/revoke_api_token.html", {"token": token})
