from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_GET, require_safe


@login_required
@require_GET
def home(request):
    return render(request, "home.html")


@require_safe
def favicon(request):
    """Browsers ask /favicon.ico of pages that link no icon (the admin's, an API answer)."""
    # Not permanent: the static address carries a content hash that changes with the icon.
    return redirect(static("favicon.svg"))
