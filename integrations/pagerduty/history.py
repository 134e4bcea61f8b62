"""Delivery history: filtering by status, shared by the alert and service pages."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.db.models.functions import Now

from integrations.pagerduty.models import Delivery, Reason

RETRYING = "retrying"
# A test incident's automatic resolve waiting for its time: not yet anyone's "last delivery".
WAITING_AUTOMATIC_RESOLVE = Q(
    reason=Reason.TEST_EXPIRED,
    status=Delivery.Status.QUEUED,
    attempts=0,
    next_attempt_at__gt=Now(),
)
FILTERS = [
    ("", "All"),
    (Delivery.Status.DELIVERED, "Delivered"),
    (RETRYING, "Retrying"),
    (Delivery.Status.QUEUED, "Queued"),
    (Delivery.Status.FAILED, "Failed"),
]


def filtered(deliveries: QuerySet[Delivery], status: str | None) -> tuple[QuerySet[Delivery], str]:
    """Deliveries with the given status ('' for all; 'retrying' = queued after a failure)."""
    status = status if status in {value for value, _ in FILTERS} else ""
    deliveries = deliveries.select_related("service", "alert").order_by("-created_at", "-pk")
    if status == RETRYING:
        return deliveries.filter(status=Delivery.Status.QUEUED, attempts__gt=0), status
    if status == Delivery.Status.QUEUED:
        return deliveries.filter(
            status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING]
        ), status
    if status:
        return deliveries.filter(status=status), status
    return deliveries, status
