"""Incidents Tripwire opened that stay open in PagerDuty although Tripwire is done with them.

`left_open`: a resolve (a firing's, a test's automatic one, a removal's) that failed for
good (PagerDuty refused it, the key being removed, say, or retries ran out) after its
trigger got through, with no later resolve of the same incident delivered. PagerDuty keeps
paging until someone resolves it there. Read in one query, scoped to an organization; the
incident is found by its dedup key (each names its service), so one whose service was
removed from Tripwire since is still listed. What PagerDuty's incidents webhook said of the
incident, if the service syncs it, is used: resolved there, it is not listed; known open, it
is said to be open, with its link; not known, only that Tripwire's resolve did not close it.

`still_open` and `stays_open`, for a removal's confirmation (`removal.Plan`): the incidents
still open on the services, and those a resolve can't close because PagerDuty already
refuses their service's key, said up front, each with its link.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from integrations.pagerduty.incidents.models import Incident, IncidentStatus
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService

SHOWN = 50  # the most listed at once (the organization-deletion page)


def incident_name(is_test: bool, service_name: str) -> str:
    """'The test incident in Checkout API 001', 'The incident in …'."""
    return f"The {'test ' if is_test else ''}incident in {service_name}"


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
        return f"{incident_name(self.is_test, self.service_name)} {self.state}."

    @property
    def firing_words(self) -> str:
        """For a cleared firing's row."""
        return f"Resolved in Tripwire; the incident in {self.service_name} {self.state}."


@dataclass(frozen=True, slots=True)
class StaysOpen:
    """An open incident a removal's resolve can't close: PagerDuty refuses its key."""

    service_name: str
    is_test: bool
    opened_at: datetime
    dedup_key: str
    incident_url: str = ""  # the incident in PagerDuty, when the incident sync knows it
    service_url: str = ""  # else its service's page in PagerDuty, when known

    @property
    def name(self) -> str:
        return incident_name(self.is_test, self.service_name)

    @property
    def url(self) -> str:
        return self.incident_url or self.service_url

    @property
    def link_words(self) -> str:
        """What the link opens."""
        if self.incident_url:
            return "Open it in PagerDuty"
        return f"{self.service_name} in PagerDuty" if self.service_url else ""


def still_open(triggers: Sequence[Delivery]) -> tuple[tuple[Delivery, ...], dict[int, str]]:
    """The triggers whose incident PagerDuty has not told us it resolved (the newest
    incident it reported for the trigger's service and dedup key, resolved at or after the
    trigger was sent, closed it: by hand there, say), and the incident's link by trigger id
    where the incident sync knows it. One query."""
    if not triggers:
        return (), {}
    known = Incident.objects.filter(
        organization_id=triggers[0].organization_id,
        service_id__in={t.service_id for t in triggers},
        dedup_key__in={t.dedup_key for t in triggers},
    ).order_by("created_at", "pk")
    newest: dict[tuple[int | None, str], Incident] = {(i.service_id, i.dedup_key): i for i in known}
    still: list[Delivery] = []
    urls: dict[int, str] = {}
    for trigger in triggers:
        incident = newest.get((trigger.service_id, trigger.dedup_key))
        if incident is None or incident.status != IncidentStatus.RESOLVED:
            if incident is not None and incident.html_url:
                urls[trigger.pk] = incident.html_url
        elif incident.status_changed_at >= trigger.created_at:
            continue  # resolved in PagerDuty after this trigger
        still.append(trigger)
    return tuple(still), urls


def stays_open(
    services: Iterable[PagerDutyService],
    triggers: Iterable[Delivery],
    urls: Mapping[int, str],
    refused_keys: Collection[str] = (),
) -> tuple[StaysOpen, ...]:
    """Of the open incidents `triggers` opened on `services`, those a resolve can't close:
    on a service whose key PagerDuty refuses (Tripwire knows it already), or whose resolve
    PagerDuty just refused (`refused_keys`, their dedup keys). No query."""
    by_id = {service.pk: service for service in services}
    stuck = []
    for trigger in triggers:
        service = by_id.get(trigger.service_id or 0)
        refused = service is not None and service.refused_at is not None
        if refused or trigger.dedup_key in refused_keys:
            stuck.append(
                StaysOpen(
                    trigger.service_name,
                    trigger.is_test,
                    trigger.created_at,
                    trigger.dedup_key,
                    urls.get(trigger.pk, ""),
                    service.html_url if service is not None else "",
                )
            )
    return tuple(stuck)


def _same(**more: object) -> QuerySet[Delivery]:
    """Deliveries of the outer failed resolve's incident: its organization and dedup key,
    which names the service (its service may be removed from Tripwire since)."""
    return Delivery.objects.filter(
        organization_id=OuterRef("organization_id"), dedup_key=OuterRef("dedup_key"), **more
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
    """The incidents failed resolves left open, newest first, each once (by its latest
    failed resolve: a removal's after the automatic one, say); of these firings only, when
    given. One query."""
    failed_since = _same(
        event_action=EventAction.RESOLVE, status=Delivery.Status.FAILED, pk__gt=OuterRef("pk")
    )
    rows = _left_open(organization_id).exclude(Exists(failed_since))
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


def left_open_of_tests(triggers: Iterable[Delivery]) -> dict[int, LeftOpen]:
    """Which failed resolves of these test triggers' incidents (an automatic one, a
    person's) left them open, by the resolve's id: the test panels of a page read it once
    (`{% left_open_of d left_open %}`), not a query a panel. One query, none without tests."""
    tests = [d for d in triggers if d.is_test]
    if not tests:
        return {}
    keys = {d.dedup_key for d in tests}
    rows = _left_open(tests[0].organization_id).filter(is_test=True, dedup_key__in=keys)
    return {row.delivery_id: row for row in _rows(rows, SHOWN)}


def _rows(rows: QuerySet[Delivery], limit: int) -> list[LeftOpen]:
    fields = ("pk", "firing_id", "service_name", "is_test", "created_at")
    return [
        LeftOpen(pk, firing, name, test, at, url or "", status is not None)
        for pk, firing, name, test, at, status, url in rows.values_list(
            *fields, "incident_status", "incident_url"
        )[:limit]
    ]
