"""What PagerDuty says of the open firings of a page of alerts: one line each for the list
and the dashboard ("Acknowledged by Alice 4 min ago"). An alert firing for several values
has an incident per value: the list names each of the first few ("web-1 acknowledged by
Alice 4 min ago · web-2 resolved in PagerDuty by Bob just now · and 5 more"). A firing that
paged several services reads as one only when all are in one state; else each says its own
("Acknowledged in Checkout API by Sam just now; Edge Gateway: not known (a pasted key tells
Tripwire nothing back)"): one acknowledgement is never the whole alert's."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Generic, TypedDict, TypeVar

from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber

from alerts_saas.alerts.models import Firing
from integrations.pagerduty.incidents.lookup import incidents_of
from integrations.pagerduty.incidents.models import Incident, IncidentStatus
from integrations.pagerduty.incidents.words import incident_words
from integrations.pagerduty.models import Delivery, EventAction

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

# The values the list names per alert firing for several; the rest are counted.
VALUES_SHOWN = 3


def incident_notes(organization_id: int, alert_ids: Collection[int]) -> dict[int, str]:
    """Per firing alert of `alert_ids`, its open firing's incidents in words
    (`_firing_words`); for an alert firing for several values, each of the first
    `VALUES_SHOWN` to fire with its own. Two queries, on indexes, however many values fire."""
    if not alert_ids:
        return {}
    open_firings = Firing.objects.filter(
        organization_id=organization_id, alert_id__in=list(alert_ids), cleared_at__isnull=True
    )
    first = open_firings.annotate(
        place=Window(RowNumber(), partition_by=[F("alert_id")], order_by=["opened_at", "pk"])
    ).filter(place__lte=VALUES_SHOWN)
    how_many = (
        open_firings.filter(alert_id=OuterRef("firing__alert_id"))
        .order_by()
        .values("alert_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    triggers = Delivery.objects.filter(
        organization_id=organization_id, firing_id__in=first.values("pk")
    ).annotate(
        of_alert=F("firing__alert_id"),
        opened_at=F("firing__opened_at"),
        group=F("firing__group"),
        open_count=Subquery(how_many[:1]),
    )
    paged = _per_firing(organization_id, triggers)
    per_alert: dict[int, list[tuple[_Told, str]]] = {}
    for told, said in sorted(
        ((_Told.of(found[0].trigger), _firing_words(found)) for found in paged.values()),
        key=lambda p: p[0].order,
    ):
        if said:
            per_alert.setdefault(told.alert_id, []).append((told, said))
    notes: dict[int, str] = {}
    for alert_id, found in per_alert.items():
        firing = found[0][0].open_count
        if firing == 1:
            notes[alert_id] = found[0][1]
            continue
        words = [f"{t.group or 'no value'} {_lower_first(w)}" for t, w in found]
        more = firing - len(found)
        notes[alert_id] = " · ".join([*words, *([f"and {more:,} more"] if more > 0 else [])])
    return notes


class _Read(TypedDict):
    """The annotations `incident_notes`' query puts on each trigger."""

    of_alert: int
    opened_at: datetime
    group: str
    open_count: int


@dataclass(frozen=True)
class _Told:
    """What `incident_notes`' query read beside a trigger: its firing's alert, start and
    value, and how many of that alert's firings are open."""

    alert_id: int
    order: tuple[datetime, int]
    group: str
    open_count: int

    @classmethod
    def of(cls, trigger: WithAnnotations[Delivery, _Read]) -> _Told:
        return cls(
            trigger.of_alert, (trigger.opened_at, trigger.pk), trigger.group, trigger.open_count
        )


def firing_notes(organization_id: int, firing_ids: Collection[int]) -> dict[int, str]:
    """The same per open firing: each value of an alert that groups has its own incident."""
    if not firing_ids:
        return {}
    triggers = Delivery.objects.filter(
        organization_id=organization_id, firing_id__in=list(firing_ids)
    )
    paged = _per_firing(organization_id, triggers)
    notes = {key: _firing_words(found) for key, found in paged.items()}
    return {key: words for key, words in notes.items() if words}


_D = TypeVar("_D", bound=Delivery)  # a trigger, with what its query annotated


@dataclass(frozen=True)
class _Paged(Generic[_D]):
    """One service a firing paged: its trigger, and the incident if Tripwire knows it."""

    trigger: _D
    incident: Incident | None

    @property
    def pasted(self) -> bool:
        service = self.trigger.service
        return service is not None and service.account_id is None

    @property
    def changed(self) -> float:
        return self.incident.status_changed_at.timestamp() if self.incident else 0.0


def _per_firing(organization_id: int, deliveries: QuerySet[_D]) -> dict[int, list[_Paged[_D]]]:
    """Per firing, each service its triggers paged (the incident that changed last where one
    service had several), latest change first and the services with no incident known
    last. Two queries."""
    triggers = list(
        deliveries.filter(event_action=EventAction.TRIGGER)
        .select_related("service")
        .only(
            "alert_id",
            "firing_id",
            "service_id",
            "service_name",
            "dedup_key",
            "event_action",
            "status",
            "service__account_id",
        )
    )
    incidents = incidents_of(organization_id, triggers)
    per_service: dict[tuple[int, int | str], _Paged[_D]] = {}
    for trigger in triggers:
        if trigger.firing_id is None:
            continue
        key = (trigger.firing_id, trigger.service_id or trigger.service_name)
        paged = _Paged(trigger, incidents.get((trigger.service_id or 0, trigger.dedup_key)))
        seen = per_service.get(key)
        if seen is None or paged.changed > seen.changed:
            per_service[key] = paged
    found: dict[int, list[_Paged[_D]]] = {}
    for (firing_id, _), paged in per_service.items():
        found.setdefault(firing_id, []).append(paged)
    for services in found.values():
        services.sort(key=lambda p: (-p.changed, p.trigger.service_name))
    return found


def _firing_words(paged: list[_Paged[_D]]) -> str:
    """The firing's incident in words when every service it paged is in one state ("all
    acknowledged" is the whole story); else each service's own, so an acknowledgement in
    one never reads as the alert's. Nothing when Tripwire knows no incident of it."""
    known = [p.incident for p in paged if p.incident is not None]
    if not known:
        return ""
    if len(known) == len(paged) and len({i.status for i in known}) == 1:
        return incident_words(max(known, key=lambda i: i.status_changed_at))
    return "; ".join(_service_words(p) for p in paged)


def _service_words(paged: _Paged[_D]) -> str:
    """One service's part: "Acknowledged in Checkout API by Sam just now", "Payments: still
    triggered, nobody assigned", "Edge Gateway: not known (a pasted key …)"."""
    name, incident = paged.trigger.service_name, paged.incident
    if incident is None:
        return f"{name}: {_unknown(paged)}"
    rest = incident_words(incident, beside_badge=True)
    if incident.status == IncidentStatus.ACKNOWLEDGED:
        return f"Acknowledged in {name} {rest}"
    if incident.status == IncidentStatus.RESOLVED:
        return f"{name}: resolved {rest}"
    return f"{name}: still triggered, {rest}"


def _unknown(paged: _Paged[_D]) -> str:
    """Why Tripwire can't say where the service's incident stands."""
    if paged.trigger.status == Delivery.Status.FAILED:
        return "not paged (the event failed)"
    if paged.pasted:
        return "not known (a pasted key tells Tripwire nothing back)"
    if paged.trigger.service_id is None:
        return "not known (the service was removed from Tripwire)"
    return "no incident seen yet"


def _lower_first(words: str) -> str:
    """ "Acknowledged by Alice" as it reads after a value: "web-1 acknowledged by Alice"."""
    return words[:1].lower() + words[1:]
