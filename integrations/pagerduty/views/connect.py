"""Connect PagerDuty: authorize, callback, select services, connect."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alerts_saas.accounts.access import tenant_view
from alerts_saas.accounts.models import Membership, Role
from integrations.pagerduty import conf, flow, oauth
from integrations.pagerduty.connect import connect_services, our_integration, save_account
from integrations.pagerduty.models import PagerDutyAccount
from integrations.pagerduty.rest import AccountApi, PagerDutyApiError

log = logging.getLogger(__name__)


def _integrations_url(slug: str) -> str:
    return reverse("pagerduty:integrations", kwargs={"slug": slug})


@tenant_view(Role.ADMIN)
@require_POST
def connect_start(request: HttpRequest) -> HttpResponse:
    """Send the user to PagerDuty to authorize; the form that sent them is kept as a draft."""
    organization = request.tenant.organization
    default = _integrations_url(organization.slug)
    return_to = flow.safe_return_to(request, request.POST.get("next"), organization.slug, default)
    if not conf.oauth_configured():
        messages.error(
            request,
            "Connecting with OAuth is not set up on this site "
            "(PAGERDUTY_CLIENT_ID). Paste an integration key instead.",
        )
        return redirect(return_to)
    url = oauth.start(
        request.session,
        user_id=request.user.pk,
        organization_id=organization.pk,
        redirect_uri=request.build_absolute_uri(reverse("pagerduty:callback")),
        return_to=return_to,
        draft=flow.draft_from(request.POST),
    )
    return redirect(url)


def _flow_error(
    request: HttpRequest, message: str, status: int = 400, back: str | None = None
) -> HttpResponse:
    return render(
        request, "pagerduty/connect_error.html", {"message": message, "back": back}, status=status
    )


@login_required
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """PagerDuty's redirect back to us: one fixed URI; the organization comes from the session."""
    try:
        auth = oauth.consume(request.session, request.GET.get("state"), request.user.pk)
    except oauth.OAuthFlowError as exc:
        return _flow_error(request, str(exc))
    membership = (
        Membership.objects.filter(organization_id=auth.organization_id, user=request.user)
        .select_related("organization")
        .first()
    )
    if membership is None:
        return _flow_error(request, "You are no longer a member of that organization.", 404)
    if not membership.has_role(Role.ADMIN):
        raise PermissionDenied("Only owners and admins can connect PagerDuty.")
    if request.GET.get("error"):
        flow.restore_later(request.session, auth.draft)
        if request.GET["error"] == "access_denied":
            messages.warning(request, "PagerDuty access was not granted. Nothing was connected.")
        else:
            description = request.GET.get("error_description") or request.GET["error"]
            messages.error(request, f"PagerDuty did not authorize the connection: {description}")
        return redirect(auth.return_to)
    code = request.GET.get("code")
    if not code:
        return _flow_error(
            request, "PagerDuty's reply had no authorization code.", back=auth.return_to
        )
    try:
        grant = oauth.exchange_code(auth, code)
    except oauth.OAuthFlowError as exc:
        flow.restore_later(request.session, auth.draft)
        return _flow_error(request, str(exc), back=auth.return_to)
    account = save_account(membership.organization, request.user, grant)
    flow.remember_return(request.session, account.pk, auth.return_to, auth.draft)
    log.info(
        "PagerDuty account %s connected to organization %s", account.pk, membership.organization_id
    )
    return redirect(
        "pagerduty:select_services",
        slug=membership.organization.slug,
        pagerduty_account_id=account.pk,
    )


@tenant_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def select_services(request: HttpRequest, pagerduty_account_id: int) -> HttpResponse:
    organization = request.tenant.organization
    account = get_object_or_404(
        PagerDutyAccount, pk=pagerduty_account_id, organization=organization
    )
    query = request.GET.get("q", "").strip()
    try:
        # Connecting looks the chosen ids up among all services, whatever was searched.
        services = AccountApi(account).services("" if request.method == "POST" else query)
    except PagerDutyApiError as exc:
        return render(
            request,
            "pagerduty/select_services.html",
            {"account": account, "error": exc.message, "query": query},
            status=502,
        )
    if request.method == "POST":
        chosen_ids = set(request.POST.getlist("service"))
        chosen = [s for s in services if s["id"] in chosen_ids]
        if not chosen:
            messages.error(request, "Choose at least one service to connect.")
        else:
            return _connect(request, account, chosen)
    connected = set(account.services.values_list("pd_service_id", flat=True))
    rows = [
        {
            "service": s,
            "connected": s["id"] in connected,
            "has_integration": our_integration(s, organization) is not None,
        }
        for s in services
    ]
    pending = flow.peek_return(request.session, account.pk)
    context = {
        "account": account,
        "rows": rows,
        "query": query,
        "return_to": pending["return_to"] if pending else None,
    }
    template = "pagerduty/_service_rows.html" if request.htmx else "pagerduty/select_services.html"
    return render(request, template, context)


@tenant_view(Role.ADMIN)
@require_POST
def select_cancel(request: HttpRequest, pagerduty_account_id: int) -> HttpResponse:
    """Leave service selection: back where the flow started, with the draft as it was."""
    organization = request.tenant.organization
    account = get_object_or_404(
        PagerDutyAccount, pk=pagerduty_account_id, organization=organization
    )
    return_to = flow.finish_return(request.session, account.pk, [])
    messages.info(request, f"No services were added from {account.name}.")
    return redirect(return_to or _integrations_url(organization.slug))


def _connect(request: HttpRequest, account: PagerDutyAccount, chosen: list) -> HttpResponse:
    result = connect_services(account, chosen, request.user)
    for name, why in result.failed:
        messages.error(request, f"{name} was not connected: {why}")
    return_to = flow.finish_return(request.session, account.pk, [s.pk for s in result.connected])
    slug = request.tenant.organization.slug
    if result.connected:
        names = ", ".join(s.name for s in result.connected)
        if return_to and return_to != _integrations_url(slug):
            messages.success(request, f"Connected {names}. Remember to save the alert.")
        else:
            messages.success(request, f"Connected {names}.")
    return redirect(return_to or _integrations_url(slug))
