"""Deleting a service, disconnecting an account, and test events."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from alerts_saas.accounts.access import TenantRequest, tenant_get, tenant_view
from alerts_saas.accounts.models import Role
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.history import FILTERS, filtered
from integrations.pagerduty.models import (
    Delivery,
    EventAction,
    PagerDutyAccount,
    PagerDutyService,
)
from integrations.pagerduty.removal import RemovalReport, disconnect_account, remove_service
from integrations.pagerduty.samples import test_dedup_key, test_event_payload


def _report(request: TenantRequest, report: RemovalReport) -> None:
    parts = [f"{report.service_name} was removed."]
    if report.resolved:
        parts.append(
            f"{report.resolved} open incident{'s' if report.resolved > 1 else ''} "
            "resolved in PagerDuty."
        )
    if report.resolves_pending:
        parts.append(
            f"{report.resolves_pending} resolve(s) queued; they are retried until "
            "PagerDuty takes them."
        )
    if report.integration_deleted:
        parts.append("Our integration was deleted from the PagerDuty service.")
    if report.integration_deferred:
        parts.append("Our integration will be deleted from PagerDuty once those resolves are in.")
    messages.success(request, " ".join(parts))
    if report.integration_error:
        messages.warning(
            request,
            f"Our integration on PagerDuty for {report.service_name} was "
            f"not deleted: {report.integration_error}",
        )


@tenant_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def delete_service(request: TenantRequest, pagerduty_service_id: int) -> HttpResponse:
    organization = request.tenant.organization
    service = tenant_get(request, PagerDutyService, pk=pagerduty_service_id)
    if request.method == "GET":
        context = {
            "service": service,
            "open_incidents": len(engine.open_dedup_keys(service)),
            "targeting_alerts": list(service.alerts.order_by("name")),
        }
        return render(request, "pagerduty/service_delete.html", context)
    _report(request, remove_service(service, request.user))
    return redirect("pagerduty:integrations", slug=organization.slug)


@tenant_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def disconnect(request: TenantRequest, pagerduty_account_id: int) -> HttpResponse:
    organization = request.tenant.organization
    account = tenant_get(request, PagerDutyAccount, pk=pagerduty_account_id)
    if request.method == "GET":
        services = list(account.services.all())
        return render(
            request, "pagerduty/account_disconnect.html", {"account": account, "services": services}
        )
    name = account.name
    for report in disconnect_account(account, request.user):
        _report(request, report)
    messages.success(
        request, f"PagerDuty account {name} was disconnected and its tokens were deleted."
    )
    return redirect("pagerduty:integrations", slug=organization.slug)


@tenant_view(Role.MEMBER)
@require_POST
def send_test_event(request: TenantRequest, pagerduty_service_id: int) -> HttpResponse:
    organization = request.tenant.organization
    service = tenant_get(request, PagerDutyService, pk=pagerduty_service_id)
    with transaction.atomic():
        delivery = engine.queue_event(
            service,
            EventAction.TRIGGER,
            test_dedup_key(),
            test_event_payload(service, request.user.email),
            is_test=True,
            created_by=request.user,
        )
    if request.htmx:
        return render(request, "pagerduty/_delivery.html", {"delivery": delivery})
    return redirect(delivery_url(organization.slug, delivery))


def delivery_url(slug: str, delivery: Delivery) -> str:
    return reverse("pagerduty:delivery", kwargs={"slug": slug, "delivery_id": delivery.pk})


@tenant_view(Role.MEMBER)
def delivery_status(request: TenantRequest, delivery_id: int) -> HttpResponse:
    """One delivery's live state; htmx polls this until it is final."""
    delivery = tenant_get(request, Delivery, pk=delivery_id)
    if not request.htmx:
        return render(request, "pagerduty/delivery.html", {"delivery": delivery})
    response = render(request, "pagerduty/_delivery.html", {"delivery": delivery})
    if delivery.is_final:
        # Lets the page refresh what depends on it (the services' "Last delivery").
        response["HX-Trigger"] = "deliveryFinished"
    return response


@tenant_view(Role.MEMBER)
@require_POST
def resolve_test_incident(request: TenantRequest, delivery_id: int) -> HttpResponse:
    """Resolve the incident a test trigger opened: same service, same dedup key."""
    organization = request.tenant.organization
    trigger = tenant_get(
        request, Delivery, pk=delivery_id, is_test=True, event_action=EventAction.TRIGGER
    )
    if trigger.service is None:
        messages.error(request, "That service was removed, and its test incident with it.")
        return redirect("pagerduty:integrations", slug=organization.slug)
    with transaction.atomic():
        resolve = engine.queue([engine.follow_up(trigger, EventAction.RESOLVE, request.user)])[0]
    if request.htmx:
        return render(request, "pagerduty/_delivery.html", {"delivery": resolve})
    return redirect(delivery_url(organization.slug, resolve))


@tenant_view(Role.MEMBER)
def service_deliveries(request: TenantRequest, pagerduty_service_id: int) -> HttpResponse:
    service = tenant_get(request, PagerDutyService, pk=pagerduty_service_id)
    deliveries, status = filtered(service.deliveries.all(), request.GET.get("status"))
    page = Paginator(deliveries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "pagerduty/service_deliveries.html",
        {"service": service, "page": page, "status": status, "status_filters": FILTERS},
    )
