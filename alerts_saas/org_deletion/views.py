"""Deleting the organization: the confirmation page (GET) and the deletion (POST), owners
only. The rules and the counting are in `org_deletion.deletion`."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from alerts_saas.accounts.access import CURRENT_ORG_SESSION_KEY, TenantRequest, tenant_view
from alerts_saas.accounts.models import Role
from alerts_saas.org_deletion import deletion

NAMED = 3  # the disabled alerts named in the message; "and N more" after


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


@tenant_view(Role.OWNER)
@require_POST
def disable_firing(request: TenantRequest) -> HttpResponse:
    """The deletion page's "Disable the firing alerts": what lets a firing that would fire
    again (an absence alert whose events stopped) stop paging, its incidents resolved."""
    organization = request.tenant.organization
    done = deletion.disable_firing_alerts(organization)
    if not done.alerts:
        messages.info(request, "No alert is firing now.")
    else:
        messages.success(request, _disabled_words(done))
    return redirect("org_deletion:delete", slug=organization.slug)


def _disabled_words(done: deletion.Disabled) -> str:
    names = ", ".join(f"“{a.name}”" for a in done.alerts[:NAMED])
    more = len(done.alerts) - NAMED
    which = f"{names} and {more} more" if more > 0 else names
    n = len(done.alerts)
    again = "it on its page" if n == 1 else "them on their pages"
    said = (
        f"Disabled {which}: {'it' if n == 1 else 'they'} can't fire again (enable {again} "
        "if you keep the organization)."
    )
    if done.resolves == 0:
        return f"{said} No incident was open in PagerDuty for {'it' if n == 1 else 'them'}."
    incidents = "1 incident is" if done.resolves == 1 else f"{done.resolves} incidents are"
    return (
        f"{said} {incidents} being resolved in PagerDuty. Once that is sent, you can "
        "delete the organization here."
    )
