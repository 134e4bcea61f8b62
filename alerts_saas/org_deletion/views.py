"""Deleting the organization: the confirmation page (GET) and the deletion (POST), owners
only. The rules and the counting are in `org_deletion.deletion`."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from alerts_saas.accounts.access import CURRENT_ORG_SESSION_KEY, TenantRequest, tenant_view
from alerts_saas.accounts.models import Role
from alerts_saas.alerts.models import Alert
from alerts_saas.org_deletion import deletion
from integrations.pagerduty.left_open import left_open

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
        # Incidents failed resolves left open in PagerDuty: deleting doesn't close them.
        "left_open": left_open(organization.pk),
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
    if not done.alerts and not done.already_off:
        messages.info(request, "No alert is firing now.")
    else:
        messages.success(request, _disabled_words(done))
    return redirect("org_deletion:delete", slug=organization.slug)


def _names(alerts: list[Alert]) -> str:
    names = ", ".join(f"“{a.name}”" for a in alerts[:NAMED])
    more = len(alerts) - NAMED
    return f"{names} and {more} more" if more > 0 else names


def _disabled_words(done: deletion.Disabled) -> str:
    """Names the alerts disabled now only; those already disabled had firings cleared."""
    said = []
    n = len(done.alerts)
    if n:
        again = "it on its page" if n == 1 else "them on their pages"
        said.append(
            f"Disabled {_names(done.alerts)}: {'it' if n == 1 else 'they'} can't fire again "
            f"(enable {again} if you keep the organization)."
        )
    if done.already_off:
        one, cleared = len(done.already_off) == 1, done.already_off_firings
        whose = "its" if one else "their"
        firings = (
            f"{whose} open firing is" if cleared == 1 else f"{whose} {cleared} open firings are"
        )
        said.append(
            f"{_names(done.already_off)} {'was' if one else 'were'} already disabled: "
            f"{firings} cleared."
        )
    them = "it" if n + len(done.already_off) == 1 else "them"
    if done.resolves == 0:
        return f"{' '.join(said)} No incident was open in PagerDuty for {them}."
    incidents = "1 incident is" if done.resolves == 1 else f"{done.resolves} incidents are"
    return (
        f"{' '.join(said)} {incidents} being resolved in PagerDuty. Once that is sent, you can "
        "delete the organization here."
    )
