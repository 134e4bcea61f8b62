"""Deleting the organization: the confirmation page (GET) and the deletion (POST), owners
only. The rules and the counting are in `org_deletion.deletion`."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from alerts_saas.accounts.access import CURRENT_ORG_SESSION_KEY, TenantRequest, tenant_view
from alerts_saas.accounts.models import Role
from alerts_saas.org_deletion import deletion


@tenant_view(Role.OWNER)
@require_http_methods(["GET", "POST"])
def org_delete(request: TenantRequest) -> HttpResponse:
    organization = request.tenant.organization
    typed = ""
    error = ""
    if request.method == "POST":
        typed = request.POST.get("name", "")
        name = organization.name
        try:
            deletion.delete_organization(organization, request.user, typed)
        except deletion.DeletionRefused as exc:
            error = str(exc)
        else:
            request.session.pop(CURRENT_ORG_SESSION_KEY, None)
            messages.success(request, f"“{name}” was deleted.")
            return redirect("home")
    paging = deletion.paging_now(organization)
    context = {
        "paging": paging,
        "contents": None if paging.blocks else deletion.contents(organization),
        "typed": typed,
        "error": error,
    }
    return render(request, "accounts/org_delete.html", context, status=400 if error else 200)
