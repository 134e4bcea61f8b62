"""What PagerDuty says of the open firings of a page of alerts: one line each for the list
and the dashboard ("Acknowledged by Alice 4 min ago"). An alert firing for several values
has an incident per value: the list names each of the first few ("web-1 acknowledged by
Alice 4 min ago · web-2 resolved in PagerDuty by Bob just now · and 5 more")."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict, TypeVar

from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber

from alerts_saas.alerts.models import Firing
from integrations.pagerduty.incidents.lookup import incidents_of
from integrations.pagerduty.incidents.models import Incident
from integrations.pagerduty.incidents.words import incident_words
from integrations.pagerduty.models import Delivery, EventAction

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

# The values the list names per alert firing for several; the rest are counted.
VALUES_SHOWN = 3


def incident_notes(organization_id: int, alert_ids: Collection[int]) -> dict[int, str]:
    """Per firing alert of `alert_ids`, its open firing's incident in words (the one that
    changed last where it paged several services); for an alert firing for several values,
    each of the first `VALUES_SHOWN` to fire with its own. Two queries, on indexes, however
    many values fire."""
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
    latest = _latest(organization_id, triggers, "firing_id")
    per_alert: dict[int, list[tuple[_Told, Incident]]] = {}
    for told, incident in sorted(
        ((_Told.of(t), i) for t, i in latest.values()), key=lambda p: p[0].order
    ):
        per_alert.setdefault(told.alert_id, []).append((told, incident))
    notes: dict[int, str] = {}
    for alert_id, found in per_alert.items():
        firing = found[0][0].open_count
        if firing == 1:
            notes[alert_id] = incident_words(found[0][1])
            continue
        words = [f"{t.group or 'no value'} {_lower_first(incident_words(i))}" for t, i in found]
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
    triggers = Delivery.objects.filter(firing_id__in=list(firing_ids))
    found = _latest(organization_id, triggers, "firing_id")
    return {key: incident_words(incident) for key, (_, incident) in found.items()}


_D = TypeVar("_D", bound=Delivery)  # a trigger, with what its query annotated


def _latest(
    organization_id: int, deliveries: QuerySet[_D], by: str
) -> dict[int, tuple[_D, Incident]]:
    """Per `by` (a firing), the incident of its triggers that changed last, and its trigger."""
    triggers = list(
        deliveries.filter(event_action=EventAction.TRIGGER).only(
            "alert_id", "firing_id", "service_id", "dedup_key", "event_action"
        )
    )
    incidents = incidents_of(organization_id, triggers)
    latest: dict[int, tuple[_D, Incident]] = {}
    for trigger in triggers:
        incident = (
            incidents.get((trigger.service_id, trigger.dedup_key)) if trigger.service_id else None
        )
        key = getattr(trigger, by)
        if incident is None or key is None:
            continue
        seen = latest.get(key)
        if seen is None or incident.status_changed_at > seen[1].status_changed_at:
            latest[key] = (trigger, incident)
    return latest


def _lower_first(words: str) -> str:
    """ "Acknowledged by Alice" as it reads after a value: "web-1 acknowledged by Alice"."""
    return words[:1].lower() + words[1:]
