"""Incidents Tripwire resolved on its side but could not resolve in PagerDuty: a resolve
(a firing's, or a test's automatic one) that failed for good (PagerDuty refused it, the key
being removed, say, or retries ran out) after its trigger got through, with no later resolve
of the same incident delivered. PagerDuty keeps paging until someone resolves it there.

Read in one query, scoped to an organization. What PagerDuty's incidents webhook said of
the incident, if the service syncs it, is used: resolved there, it is not listed; known open,
it is said to be open, with its link; not known, only that Tripwire's resolve did not close it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from integrations.pagerduty.incidents.models import Incident, IncidentStatus
from integrations.pagerduty.models import Delivery, EventAction

SHOWN = 50  # the most listed at once (the organization-deletion page)


@dataclass(frozen=True, slots=True)
class LeftOpen:
    """One incident a failed resolve left open in PagerDuty."""

    delivery_id: int
    firing_id: int | None
    service_name: str
    is_test: bool
    failed_at: datetime
    incident_url: str = ""
    known_open: bool = False  # PagerDuty's incidents webhook says it is open

    @property
    def state(self) -> str:
        """How open it is, as far as Tripwire knows, after "the incident in <service>"."""
        if self.known_open:
            return "is still open in PagerDuty: resolve it there"
        return (
            "is still open in PagerDuty unless someone resolved it there (Tripwire's resolve "
            "failed): check it and resolve it there"
        )

    @property
    def words(self) -> str:
        """For a list of failed deliveries, after the failure's own words."""
        test = "test " if self.is_test else ""
        return f"The {test}incident in {self.service_name} {self.state}."

    @property
    def firing_words(self) -> str:
        """For a cleared firing's row."""
        return f"Resolved in Tripwire; the incident in {self.service_name} {self.state}."


def _same(**more: object) -> QuerySet[Delivery]:
    """Deliveries of the outer failed resolve's incident (organization, service, key)."""
    return Delivery.objects.filter(
        organization_id=OuterRef("organization_id"),
        service_id=OuterRef("service_id"),
        dedup_key=OuterRef("dedup_key"),
        **more,
    )


def _left_open(organization_id: int) -> QuerySet[Delivery]:
    delivered = Delivery.Status.DELIVERED
    opened = _same(event_action=EventAction.TRIGGER, status=delivered, pk__lt=OuterRef("pk"))
    closed = _same(event_action=EventAction.RESOLVE, status=delivered, pk__gt=OuterRef("pk"))
    incident = Incident.objects.filter(
        organization_id=OuterRef("organization_id"),
        service_id=OuterRef("service_id"),
        dedup_key=OuterRef("dedup_key"),
    ).order_by("-status_changed_at", "-pk")
    return (
        Delivery.objects.filter(
            organization_id=organization_id,
            status=Delivery.Status.FAILED,
            event_action=EventAction.RESOLVE,
            service_id__isnull=False,
        )
        .filter(Exists(opened))
        .exclude(Exists(closed))
        .annotate(
            incident_status=Subquery(incident.values("status")[:1]),
            incident_url=Subquery(incident.values("html_url")[:1]),
        )
        .filter(Q(incident_status__isnull=True) | ~Q(incident_status=IncidentStatus.RESOLVED))
        .order_by("-created_at", "-pk")
    )


def left_open(
    organization_id: int, firing_ids: Iterable[int] | None = None, limit: int = SHOWN
) -> list[LeftOpen]:
    """The incidents failed resolves left open, newest first; of these firings only, when
    given. One query."""
    rows = _left_open(organization_id)
    if firing_ids is not None:
        rows = rows.filter(firing_id__in=list(firing_ids))
    return _rows(rows, limit)


def left_open_ids(organization_id: int, delivery_ids: Iterable[int]) -> dict[int, LeftOpen]:
    """Which of these failed deliveries left an incident open, by delivery id. One query."""
    ids = list(delivery_ids)
    if not ids:
        return {}
    rows = _left_open(organization_id).filter(pk__in=ids)
    return {row.delivery_id: row for row in _rows(rows, len(ids))}


def _rows(rows: QuerySet[Delivery], limit: int) -> list[LeftOpen]:
    fields = ("pk", "firing_id", "service_name", "is_test", "created_at")
    return [
        LeftOpen(pk, firing, name, test, at, url or "", status is not None)
        for pk, firing, name, test, at, status, url in rows.values_list(
            *fields, "incident_status", "incident_url"
        )[:limit]
    ]
