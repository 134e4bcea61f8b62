"""The connect flow's pages: authorize, PagerDuty's callback, and the service picker."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alerts_saas.accounts.access import (
    SignedInRequest,
    TenantRequest,
    resolve_tenant,
    tenant_get,
    tenant_view,
)
from alerts_saas.accounts.models import Role
from alerts_saas.alerts.mended import mended_words, page_mended
from integrations.pagerduty import conf, oauth, paths, picker
from integrations.pagerduty.flow import ConnectFlow, safe_return_to, unsaved_form
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.provisioning import provision_services, reconnects, save_account
from integrations.pagerduty.reconnect import STOPPED, cannot_list
from integrations.pagerduty.rest import AccountApi, PagerDutyApiError
from integrations.pagerduty.views.banner import problems_now

log = logging.getLogger(__name__)


def _integrations_url(slug: str) -> str:
    return reverse("pagerduty:integrations", kwargs={"slug": slug})


@tenant_view(Role.ADMIN)
@require_POST
def authorize(request: TenantRequest) -> HttpResponse:
    """Send the user to PagerDuty to authorize; the form that sent them is kept unsaved."""
    return _authorize(request)


def _authorize(request: TenantRequest) -> HttpResponse:
    organization = request.tenant.organization
    default = _integrations_url(organization.slug)
    return_to = safe_return_to(request, request.POST.get("next"), organization.slug, default)
    if not conf.oauth_configured():
        messages.error(
            request,
            "Connecting with OAuth is not set up on this site "
            "(PAGERDUTY_CLIENT_ID). Paste an integration key instead.",
        )
        return redirect(return_to)
    # On SITE_URL, as registered with PagerDuty: never the Host this request named.
    authorization = oauth.authorization_request(settings.SITE_URL + reverse("pagerduty:callback"))
    ConnectFlow(request.session).begin(
        authorization,
        user_id=request.user.pk,
        organization_id=organization.pk,
        return_to=return_to,
        form=unsaved_form(request.POST),
    )
    return redirect(authorization.url)


@tenant_view(Role.ADMIN)
@require_POST
def choose_more(request: TenantRequest, pagerduty_account_id: int) -> HttpResponse:
    """ "Connect PagerDuty" for an account already connected: its service picker, without
    asking PagerDuty's consent again; the form that sent them is kept unsaved."""
    organization = request.tenant.organization
    account = tenant_get(request, PagerDutyAccount, pk=pagerduty_account_id)
    default = _integrations_url(organization.slug)
    return_to = safe_return_to(request, request.POST.get("next"), organization.slug, default)
    if account.needs_reconnect:
        return _authorize(request)  # its tokens no longer work: consent is needed again
    ConnectFlow(request.session).choose_more(
        account.pk,
        user_id=request.user.pk,
        organization_id=organization.pk,
        return_to=return_to,
        form=unsaved_form(request.POST),
    )
    return redirect(
        "pagerduty:select_services", slug=organization.slug, pagerduty_account_id=account.pk
    )


def _flow_error(
    request: HttpRequest, message: str, status: int = 400, back: str | None = None
) -> HttpResponse:
    return render(
        request, "pagerduty/connect_error.html", {"message": message, "back": back}, status=status
    )


@login_required
@require_GET
def callback(request: SignedInRequest) -> HttpResponse:
    """PagerDuty's redirect back to us: one fixed URI; the organization comes from the trip."""
    user = request.user
    flow = ConnectFlow(request.session)
    try:
        trip = flow.arrive(request.GET.get("state"), user.pk)
    except oauth.OAuthFlowError as exc:
        return _flow_error(request, str(exc))
    try:
        tenant = resolve_tenant(request, Role.ADMIN, organization_id=trip.organization_id)
    except Http404:
        return _flow_error(request, "You are no longer a member of that organization.", 404)
    if request.GET.get("error"):
        flow.keep_form(trip.form)
        if request.GET["error"] == "access_denied":
            messages.warning(request, "PagerDuty access was not granted. Nothing was connected.")
        else:
            description = request.GET.get("error_description") or request.GET["error"]
            messages.error(request, f"PagerDuty did not authorize the connection: {description}")
        return redirect(trip.return_to)
    code = request.GET.get("code")
    if not code:
        return _flow_error(
            request, "PagerDuty's reply had no authorization code.", back=trip.return_to
        )
    try:
        grant = oauth.exchange_code(
            code, code_verifier=trip.code_verifier, redirect_uri=trip.redirect_uri
        )
    except oauth.OAuthFlowError as exc:
        flow.keep_form(trip.form)
        return _flow_error(request, str(exc), back=trip.return_to)
    # Reconnected from Integrations (its button, or the picker's): its services are as they
    # were, so it goes back there; a first connect, or one for an alert, picks services.
    mended = trip.return_to == _integrations_url(tenant.organization.slug) and reconnects(
        tenant.organization, grant
    )
    account = save_account(tenant.organization, user, grant)
    problems_now(tenant.organization)  # an account reconnected mends
    log.info(
        "PagerDuty account %s connected to organization %s", account.pk, tenant.organization.pk
    )
    if mended:
        _say_reconnected(request, account)
        return redirect(trip.return_to)
    flow.choose_services(trip, account.pk)
    return redirect(
        "pagerduty:select_services",
        slug=tenant.organization.slug,
        pagerduty_account_id=account.pk,
    )


def _say_reconnected(request: HttpRequest, account: PagerDutyAccount) -> None:
    """Reconnected: "nothing more to do" only when none of its services is still refused or
    deleted in PagerDuty (the banner would say otherwise); else what is left, service by
    service, in the words Integrations uses."""
    mended = f"{account.name} reconnected: {STOPPED} work again."
    left = [_still_left(s) for s in account.services.filter(refused_at__isnull=False)]
    if not left:
        messages.success(
            request, f"{mended} Its services stay connected as they were; nothing more to do."
        )
        return
    messages.warning(request, " ".join([mended, *left]))


def _still_left(service: PagerDutyService) -> str:
    health = paths.service_health(service)
    mend = health.mend_here or health.mend  # said on Integrations, where this lands
    mend = mend[:1].lower() + mend[1:]
    if health.deleted:
        return f"{service.name} was deleted in PagerDuty: {mend}"
    return f"{service.name} is still refused by PagerDuty: {mend}"


@tenant_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def select_services(request: TenantRequest, pagerduty_account_id: int) -> HttpResponse:
    """The service picker: the account's services, to add our integration to. Found by name
    or team a page at a time; the ticks (`service`) travel with every search and page."""
    account = tenant_get(request, PagerDutyAccount, pk=pagerduty_account_id)
    params = request.POST if request.method == "POST" else request.GET
    query = " ".join(params.get("q", "").split())[:100]
    try:
        listed = AccountApi(account).service_list()
    except PagerDutyApiError as exc:
        account = _seen_refused(request, account)
        if account.needs_reconnect:  # not an outage: the page's job is the Reconnect button
            error, status = cannot_list(account.name), 200
        else:
            error, status = f"PagerDuty's services could not be listed: {exc.message}", 502
        return render(
            request,
            "pagerduty/select_services.html",
            {"account": account, "error": error, "query": query},
            status=status,
        )
    services = listed.services
    chosen_ids = set(params.getlist("service"))
    if request.method == "POST":
        chosen = [s for s in services if s["id"] in chosen_ids]
        if chosen:
            return _add_chosen(request, account, chosen)
        messages.error(request, "Choose at least one service to connect.")
    if picker.mark_removed(account, services, listed.complete):
        problems_now(request.tenant.organization)  # the banner says so on this very page
    rows = picker.rows_of(account, services, chosen_ids)
    context = {
        "account": account,
        "listing": picker.listing(request.path, rows, query, params.get("page")),
        "query": query,
        "return_to": ConnectFlow(request.session).choosing_return_to(account.pk),
    }
    template = "pagerduty/_service_rows.html" if request.htmx else "pagerduty/select_services.html"
    return render(request, template, context)


@tenant_view(Role.ADMIN)
@require_POST
def cancel_selection(request: TenantRequest, pagerduty_account_id: int) -> HttpResponse:
    """Leave the service picker: back where the flow started, with the form as it was."""
    account = tenant_get(request, PagerDutyAccount, pk=pagerduty_account_id)
    return_to = ConnectFlow(request.session).finish(account.pk, [])
    messages.info(request, f"No services were added from {account.name}.")
    return redirect(return_to or _integrations_url(request.tenant.organization.slug))


def _seen_refused(request: TenantRequest, account: PagerDutyAccount) -> PagerDutyAccount:
    """The account as a failed call left it. When PagerDuty refused to refresh access
    (`tokens.refresh_tokens` recorded it), the banner of the page shown next says so now,
    not after the queued check."""
    account.refresh_from_db(fields=["status", "status_detail", "refused_at"])
    if account.needs_reconnect:
        problems_now(request.tenant.organization)
    return account


def _add_chosen(
    request: TenantRequest, account: PagerDutyAccount, chosen: list[dict[str, Any]]
) -> HttpResponse:
    organization_id = request.tenant.organization.pk
    result = provision_services(
        account,
        chosen,
        request.user,
        lambda rows: page_mended(organization_id, [r.pk for r in rows]),
    )
    for name, why in result.failed:
        messages.error(request, f"{name} was not connected: {why}")
    if result.failed and not result.connected:
        _seen_refused(request, account)
    return_to = ConnectFlow(request.session).finish(account.pk, [s.pk for s in result.connected])
    integrations_url = _integrations_url(request.tenant.organization.slug)
    if result.connected:
        problems_now(request.tenant.organization)  # a refused service chosen again mends
        names = ", ".join(s.name for s in result.connected)
        if return_to and return_to != integrations_url:
            messages.success(request, f"Connected {names}. Remember to save the alert.")
        else:
            messages.success(request, f"Connected {names}.")
        for service in result.connected:
            if words := mended_words(service.name, result.mended.get(service.pk, 0)):
                messages.success(request, words)
    return redirect(return_to or integrations_url)
