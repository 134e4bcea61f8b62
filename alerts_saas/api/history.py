"""/services, /firings, /deliveries: what the organization pages and what it sent, read
only, a page at a time, newest first."""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import QuerySet
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from alerts_saas.alerts import paged
from alerts_saas.alerts.models import Firing
from alerts_saas.alerts.mutes import Hold, holds
from alerts_saas.api.auth import READ, TokenRequest
from alerts_saas.api.fields import Id, NoNul, PagerDutyServiceId
from alerts_saas.api.history_schemas import (
    DeliveryOut,
    DeliveryPage,
    FiringOut,
    FiringPage,
    ServiceHealthOut,
    ServiceOut,
    ServicePage,
)
from alerts_saas.api.paging import HistoryPaging, Paging, history_page_of, page_of
from alerts_saas.api.schemas import InvalidOut
from alerts_saas.ingest.parsing import Refused
from alerts_saas.ingest.schema import ErrorOut
from integrations.pagerduty.models import Delivery, PagerDutyService
from integrations.pagerduty.paths import service_health

router = Router()

ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut}
LISTED: dict[int, Any] = {**ERRORS, 400: InvalidOut}


def _services(request: TokenRequest) -> QuerySet[PagerDutyService]:
    return PagerDutyService.objects.filter(organization=request.auth.organization).select_related(
        "account"
    )


def _service(service: PagerDutyService) -> ServiceOut:
    health = service_health(service)
    return ServiceOut(
        id=service.pk,
        name=service.name,
        region=service.region,
        pagerduty_service_id=service.pd_service_id,
        account=service.account.name if service.account else None,
        html_url=service.html_url,
        is_fallback=service.is_fallback,
        masked_key=service.masked_key,
        health=ServiceHealthOut(
            code=health.state.value, label=health.label, words=health.words, since=health.since
        ),
        created_at=service.created_at,
    )


class ServiceFilters(Schema):
    pagerduty_service_id: PagerDutyServiceId | None = Field(
        default=None,
        description='Only the services with this PagerDuty service id ("P…"): how to find '
        "Tripwire's `id` for an alert's `targets`. A list: two connected PagerDuty accounts "
        "may each have a service with that id.",
    )


@router.get("/services", auth=READ, response={200: ServicePage, **LISTED}, tags=["Services"])
def list_services(
    request: TokenRequest, filters: Query[ServiceFilters], paging: Query[Paging]
) -> dict[str, Any]:
    """The PagerDuty services alerts can page (their ids go in an alert's `targets`), by
    name, with whether each can page: PagerDuty refusing its key, its account needing
    reconnecting, its deliveries failing."""
    rows = _services(request)
    if filters.pagerduty_service_id is not None:
        rows = rows.filter(pd_service_id=filters.pagerduty_service_id)
    services, facts = page_of(request, rows.order_by("name", "pk"), paging)
    return {**facts, "items": [_service(s) for s in services]}


@router.get(
    "/services/{service_id}",
    auth=READ,
    response={200: ServiceOut, **ERRORS},
    tags=["Services"],
)
def get_service(request: TokenRequest, service_id: int) -> ServiceOut:
    """One service, by Tripwire's id (its `id`, as in an alert's `targets`), not PagerDuty's
    (`pagerduty_service_id`: `GET /services?pagerduty_service_id=P…` finds it by that)."""
    service = _services(request).filter(pk=service_id).first()
    if service is None:
        raise Refused(404, f"There is no service {service_id} in this organization.")
    return _service(service)


class FiringFilters(Schema):
    alert_id: Id | None = None
    open: bool | None = Field(
        default=None, description="true: only the open one(s); false: cleared."
    )
    group: NoNul | None = Field(
        default=None, description="Only the firings of this value (a host, say), exactly."
    )
    held: bool | None = Field(
        default=None, description="true: only those a mute window holds from paging."
    )


def _firings(request: TokenRequest) -> QuerySet[Firing]:
    # Whether each paged anyone (`paged`): probes in the page's own query.
    return (
        Firing.objects.filter(organization=request.auth.organization)
        .select_related("alert", "cleared_by", "cleared_by_token")
        .annotate(**paged.paging_annotations())
    )


def _firing(firing: Firing, hold: Hold | None) -> FiringOut:
    paging = paged.paging_of_row(firing)
    return FiringOut(
        id=firing.pk,
        alert_id=firing.alert_id,
        alert_name=firing.alert.name,
        group=firing.group,
        severity=firing.severity,  # type: ignore[arg-type]  # the model's choices
        opened_at=firing.opened_at,
        count_at_open=firing.count_at_open,
        is_open=firing.is_open,
        held=firing.held,
        held_until=hold.until if hold is not None else None,
        held_by=list(hold.window_ids) if hold is not None else [],
        condition_cleared_at=firing.condition_cleared_at,
        cleared_at=firing.cleared_at,
        clear_reason=firing.clear_reason,
        cleared_by=firing.cleared_by.email if firing.cleared_by else None,
        cleared_by_token=firing.cleared_by_token.name if firing.cleared_by_token else None,
        count_at_clear=firing.count_at_clear,
        paged=paging in (paged.Paging.PAGED, paged.Paging.FALLBACK),
        paging=paging.value,
    )


@router.get("/firings", auth=READ, response={200: FiringPage, **LISTED}, tags=["History"])
def list_firings(
    request: TokenRequest, filters: Query[FiringFilters], paging: Query[HistoryPaging]
) -> dict[str, Any]:
    """When alerts fired and cleared, the latest first; a held one says until when a mute
    holds it and which windows (`held_until`, `held_by`). Counted up to 10,000; walk
    further back with `before`."""
    rows = _firings(request)
    if filters.alert_id is not None:
        rows = rows.filter(alert_id=filters.alert_id)
    if filters.open is not None:
        rows = rows.filter(cleared_at__isnull=filters.open)
    if filters.group is not None:
        rows = rows.filter(group=filters.group)
    if filters.held is not None:
        rows = rows.filter(held=filters.held)
    firings, facts = history_page_of(request, rows, paging, "opened_at", "firings")
    held = holds(firings, timezone.now())  # the page's held ones, in two queries
    return {**facts, "items": [_firing(f, held.get(f.pk)) for f in firings]}


@router.get(
    "/firings/{firing_id}", auth=READ, response={200: FiringOut, **ERRORS}, tags=["History"]
)
def get_firing(request: TokenRequest, firing_id: int) -> FiringOut:
    firing = _firings(request).filter(pk=firing_id).first()
    if firing is None:
        raise Refused(404, f"There is no firing {firing_id} in this organization.")
    return _firing(firing, holds([firing], timezone.now()).get(firing.pk))


class DeliveryFilters(Schema):
    alert_id: Id | None = None
    firing_id: Id | None = None
    service_id: Id | None = None
    status: Literal["queued", "sending", "delivered", "failed"] | None = None


# What the list reads: not the encrypted routing key.
DELIVERY_FIELDS = [
    name for name in DeliveryOut.model_fields if name not in ("next_attempt_at", "created_by_token")
]


def _deliveries(request: TokenRequest) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(organization=request.auth.organization)
        .select_related("created_by_token")
        .only(*DELIVERY_FIELDS, "next_attempt_at", "created_by_token__name")
    )


def _delivery(delivery: Delivery) -> DeliveryOut:
    fields = {name: getattr(delivery, name) for name in DELIVERY_FIELDS}
    waiting = delivery.status == Delivery.Status.QUEUED
    token = delivery.created_by_token
    return DeliveryOut(
        **fields,
        next_attempt_at=delivery.next_attempt_at if waiting else None,
        created_by_token=token.name if token is not None else None,
    )


@router.get("/deliveries", auth=READ, response={200: DeliveryPage, **LISTED}, tags=["History"])
def list_deliveries(
    request: TokenRequest, filters: Query[DeliveryFilters], paging: Query[HistoryPaging]
) -> dict[str, Any]:
    """Every event sent to PagerDuty (triggers, resolves, tests) and what became of it:
    queued, sending, delivered, or failed and why. The latest first. Counted up to
    10,000; walk further back with `before`."""
    rows = _deliveries(request)
    for name in ("alert_id", "firing_id", "service_id", "status"):
        value = getattr(filters, name)
        if value is not None:
            rows = rows.filter(**{name: value})
    deliveries, facts = history_page_of(request, rows, paging, "created_at", "deliveries")
    return {**facts, "items": [_delivery(d) for d in deliveries]}


@router.get(
    "/deliveries/{delivery_id}", auth=READ, response={200: DeliveryOut, **ERRORS}, tags=["History"]
)
def get_delivery(request: TokenRequest, delivery_id: int) -> DeliveryOut:
    delivery = _deliveries(request).filter(pk=delivery_id).first()
    if delivery is None:
        raise Refused(404, f"There is no delivery {delivery_id} in this organization.")
    return _delivery(delivery)
