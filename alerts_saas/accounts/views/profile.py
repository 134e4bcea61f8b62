"""The signed-in person's own settings: their time zone."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from alerts_saas.accounts.access import SignedInRequest
from alerts_saas.accounts.forms import ProfileForm
from alerts_saas.accounts.times import zone_of


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: SignedInRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Saved. Times are now shown in {request.user.time_zone}.")
        return redirect("accounts:profile")
    now = timezone.localtime(timezone.now(), zone_of(request.user.time_zone))
    status = 400 if form.errors else 200
    return render(request, "accounts/profile.html", {"form": form, "now": now}, status=status)
