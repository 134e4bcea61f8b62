"""Delivery history: filtering by status, shared by the alert and service pages."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.db.models.functions import Now
from django.http import QueryDict

from alerts_saas.cursors import Cursor, walk
from integrations.pagerduty.models import Delivery, PagerDutyService, Reason, retrying

RETRYING = "retrying"
PAGE_SIZE = 50
# The alert page lists its latest few deliveries, so it does not grow with the alert's
# history (a phone scrolled past hundreds to reach what is under them); ?deliveries=all
# lists them all, walked by cursor.
LATEST_SHOWN = 5
ALL_DELIVERIES = "deliveries"
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


UNSHOWN = ("routing_key", "body", "service__integration_key")


def filtered(deliveries: QuerySet[Delivery], status: str | None) -> tuple[QuerySet[Delivery], str]:
    """Deliveries with the given status ('' for all; 'retrying' = queued after a failure),
    without what a table of them never shows: the keys, each decrypted as its row loads
    (two per row), and the event's body."""
    status = status if status in {value for value, _ in FILTERS} else ""
    deliveries = (
        deliveries.select_related("service", "alert").defer(*UNSHOWN).order_by("-created_at", "-pk")
    )
    if status == RETRYING:
        return deliveries.filter(retrying()), status
    if status == Delivery.Status.QUEUED:
        return deliveries.filter(
            status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING]
        ), status
    if status:
        return deliveries.filter(status=status), status
    return deliveries, status


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """A page of a service's deliveries, walked by cursor (`alerts_saas.cursors`): no
    total, which would count the service's whole history on every page."""

    object_list: list[Delivery]
    older: Cursor | None  # where the next page starts, when there is one
    from_start: bool  # the newest page (no cursor given)
    cursor_paged: bool = True  # `_delivery_table.html`: "Newest" and "Older", no numbers
    shortened: bool = False  # the latest few only, with "Show all deliveries" (no count)


def service_page(
    service: PagerDutyService, status: str | None, before: str | None
) -> tuple[HistoryPage, str]:
    """PAGE_SIZE of the service's deliveries with `status`, older than the cursor `before`
    (the newest for none or a malformed one): one query on the (service, organization,
    created_at) index, at any depth."""
    of_service = Delivery.objects.filter(organization_id=service.organization_id, service=service)
    rows, status = filtered(of_service, status)
    after = Cursor.parse(before)
    shown, older = walk(rows, after, PAGE_SIZE)
    return HistoryPage(shown, older, after is None), status


def alert_page(deliveries: QuerySet[Delivery], status: str, query: QueryDict) -> HistoryPage:
    """The alert page's deliveries (already `filtered`): the latest LATEST_SHOWN, with "Show
    all" when there are more; PAGE_SIZE walked by cursor once the person asks for all, a
    status or an older page. One query either way, and no count of the history."""
    after = Cursor.parse(query.get("before"))
    if after is not None or status or query.get(ALL_DELIVERIES) == "all":
        return HistoryPage(*walk(deliveries, after, PAGE_SIZE), after is None)
    shown, older = walk(deliveries, None, LATEST_SHOWN)
    return HistoryPage(shown, None, True, shortened=older is not None)
