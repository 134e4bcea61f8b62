"""Test events, a delivery's state, and a service's deliveries."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from alerts_saas.accounts.access import TenantRequest, tenant_get, tenant_view
from alerts_saas.accounts.models import Role
from alerts_saas.alerts import guarded_tests
from alerts_saas.audit.test_pages import record_test_pages
from integrations.pagerduty import autoresolve
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.history import FILTERS, service_page
from integrations.pagerduty.incidents.oncall import on_call, on_call_cached
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
from integrations.pagerduty.panels import panel
from integrations.pagerduty.samples import SAMPLE_SEVERITY, test_dedup_key, test_event_payload


@tenant_view(Role.MEMBER)
@require_POST
def send_test_event(request: TenantRequest, pagerduty_service_id: int) -> HttpResponse:
    """ "Send test event": the first press asks who it pages (`guarded_tests.confirmation`,
    as "Send test alert" does), and sends nothing; "Yes, send the test event" posts
    `confirm`. htmx gets the question as a <dialog> under the row, or the sent event's
    panel; without JavaScript the question is a page of its own."""
    organization = request.tenant.organization
    service = tenant_get(request, PagerDutyService, pk=pagerduty_service_id)
    if request.POST.get("confirm") != "1":
        return _ask(request, service)
    with transaction.atomic():
        [delivery] = autoresolve.queue_tests(
            [
                engine.build_event(
                    service,
                    EventAction.TRIGGER,
                    test_dedup_key(),
                    test_event_payload(service, request.user.email),
                    is_test=True,
                    created_by=request.user,
                )
            ]
        )
        record_test_pages([delivery], "Integrations")
    if request.htmx:
        return _panel(request, delivery)
    return redirect(delivery_url(organization.slug, delivery))


def _ask(request: TenantRequest, service: PagerDutyService) -> HttpResponse:
    known = on_call([service]).get(service.pk)
    context = {
        "service": service,
        "question": guarded_tests.confirmation([(service, known)], SAMPLE_SEVERITY),
    }
    if request.htmx:
        return render(request, "pagerduty/_test_event_confirm.html", context)
    return render(request, "pagerduty/test_event_confirm.html", context)


def delivery_url(slug: str, delivery: Delivery) -> str:
    return reverse("pagerduty:delivery", kwargs={"slug": slug, "delivery_id": delivery.pk})


def _panel(request: TenantRequest, delivery: Delivery, *, full: bool = False) -> HttpResponse:
    """A delivery's panel (`_delivery.html`), with its test incident if it opened one;
    `full` on the delivery's own page (its times, alert and attempts too)."""
    read = panel(delivery)
    context = {**read.context(), "full": full, "pages_now": _pages_now(delivery)}
    response = render(request, "pagerduty/_delivery.html", context)
    # The panel says what it showed when it asks again: once the delivery is final, a change
    # (delivered; later, resolved automatically) lets the page refresh what depends on it
    # (the services' "Last delivery"), once per change.
    shown = request.GET.get("shown")
    if delivery.is_final and shown != autoresolve.panel_key(delivery, read.incident):
        response["HX-Trigger"] = "deliveryFinished"
    return response


def _pages_now(delivery: Delivery) -> str:
    """Whom a delivered test trigger pages, by the on-call reading; "" unless known."""
    service = delivery.service
    if not (delivery.is_test and delivery.event_action == EventAction.TRIGGER) or not service:
        return ""
    if delivery.status != Delivery.Status.DELIVERED:
        return ""
    # Polled every few seconds until the test incident is resolved: read at most every
    # CACHED_SECONDS, or when a refresh wrote a new reading.
    return guarded_tests.paged(on_call_cached([service]).get(service.pk))


@tenant_view(Role.MEMBER)
def delivery_status(request: TenantRequest, delivery_id: int) -> HttpResponse:
    """One delivery's live state; htmx polls this until it is final (and, for a test
    trigger, until its incident's automatic resolve is through). Its own page (and the
    panel that page polls, `full`) names its alert and firing, read with it."""
    full = not request.htmx or request.GET.get("full") == "1"
    # Its service is read on every poll (the panel's words, whom a test trigger pages).
    rows = Delivery.objects.select_related("service")
    if full:
        rows = rows.select_related("alert", "firing")
    delivery = tenant_get(request, rows.all(), pk=delivery_id)
    if not request.htmx:
        return render(request, "pagerduty/delivery.html", panel(delivery).context())
    return _panel(request, delivery, full=full)


@tenant_view(Role.MEMBER)
@require_POST
def resolve_test_incident(request: TenantRequest, delivery_id: int) -> HttpResponse:
    """Resolve the incident a test trigger opened, now: same service, same dedup key. The
    automatic resolve becomes this one if it has not gone yet (`autoresolve.resolve_now`).
    htmx gets the trigger's panel back, which shows the resolve."""
    organization = request.tenant.organization
    trigger = tenant_get(
        request, Delivery, pk=delivery_id, is_test=True, event_action=EventAction.TRIGGER
    )
    if trigger.service is None:
        messages.error(request, "That service was removed, and its test incident with it.")
        return redirect("pagerduty:integrations", slug=organization.slug)
    autoresolve.resolve_now(trigger, request.user)
    if request.htmx:
        return _panel(request, trigger)
    return redirect(delivery_url(organization.slug, trigger))


@tenant_view(Role.MEMBER)
def service_deliveries(request: TenantRequest, pagerduty_service_id: int) -> HttpResponse:
    service = tenant_get(request, PagerDutyService, pk=pagerduty_service_id)
    page, status = service_page(service, request.GET.get("status"), request.GET.get("before"))
    return render(
        request,
        "pagerduty/service_deliveries.html",
        {"service": service, "page": page, "status": status, "status_filters": FILTERS},
    )
