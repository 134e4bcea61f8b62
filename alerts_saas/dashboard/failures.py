"""Deliveries that failed for good: the last few of the day on the dashboard, and all of
them (as long as history is kept) on their own page, newest first.

Each read is one query on the deliveries' (organization, created_at) index, newest first,
limited; the dashboard's counts the day's failures in the same query. No routing key is
loaded (it would be decrypted), nor the event's body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Case,
    Count,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
    Window,
)
from django.db.models.functions import Coalesce, JSONObject
from django.urls import reverse

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.paged import (
    DELIVERED,
    TRIGGER,
    Paging,
    Sent,
    paging_annotations,
    paging_of_row,
    sent_of,
)
from alerts_saas.cursors import Cursor, walk
from alerts_saas.json_values import moment
from integrations.pagerduty.left_open import LeftOpen, left_open_ids
from integrations.pagerduty.models import Delivery, EventAction, Reason

RECENT_SHOWN = 5
RECENT_SPAN = timedelta(hours=24)
PAGE_SIZE = 50
SHOWN_FIELDS = (
    "pk",
    "created_at",
    "event_action",
    "is_test",
    "service_name",
    "service_id",
    "firing_id",
    "alert_id",
    "alert__name",
    "attempts",
    "last_error",
    "response_status",
)


def error_words(delivery: Delivery) -> str:
    """Why it failed, as a person reads it."""
    error = delivery.last_error.strip()
    status = delivery.response_status
    if status is not None and 400 <= status < 500 and not error.startswith("Gave up"):
        return f"PagerDuty refused it ({status}): {error or 'no reason given'}"
    return error or "It could not be delivered."


@dataclass(frozen=True, slots=True)
class Paged:
    """The service a failed trigger's firing was paged through instead, and when."""

    service_name: str
    at: datetime
    later: bool  # after this trigger failed
    fallback: bool

    @classmethod
    def of(cls, delivery: Delivery) -> Paged | None:
        found: dict[str, Any] | None = getattr(delivery, "paged_through", None)
        if not found:
            return None
        at = moment(found["at"])
        if at is None:
            return None
        return cls(found["name"], at, at > delivery.created_at, found["reason"] == Reason.FALLBACK)


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed delivery as the dashboard shows it."""

    delivery: Delivery
    error: str
    url: str
    fixed_at: datetime | None = None  # when what it failed to do got through (`_fixed_at`)
    left_open: LeftOpen | None = None  # a resolve's: the incident it left open in PagerDuty
    paged: Paged | None = None  # a trigger's firing, paged through another service
    # A trigger's firing that paged nobody, or may not have: its triggers, to name their
    # services (`Sent.missed_reason`, `Sent.unconfirmed_reason`, as the alert page does).
    sent: Sent | None = None

    @property
    def paging(self) -> Paging | None:
        """A trigger's firing's `paging` (`alerts.paged`, the one rule); None for others."""
        d = self.delivery
        if d.event_action != EventAction.TRIGGER or d.firing_id is None:
            return None
        return paging_of_row(d)

    @property
    def nobody_paged(self) -> bool:
        """A trigger whose firing paged nobody: PagerDuty refused every trigger of it."""
        return self.paging == Paging.MISSED

    @property
    def not_confirmed(self) -> bool:
        """A trigger whose firing PagerDuty never confirmed it took: it may have paged
        nobody."""
        return self.paging == Paging.NOT_CONFIRMED

    @property
    def fired_at(self) -> datetime | None:
        return getattr(self.delivery, "fired_at", None)

    @property
    def what(self) -> str:
        """ "Trigger", "Test trigger", "Resolve"."""
        action = self.delivery.get_event_action_display()
        return f"Test {action.lower()}" if self.delivery.is_test else action

    @property
    def alert_name(self) -> str:
        alert = self.delivery.alert
        return alert.name if alert is not None else ""


def _failed(organization: Organization) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(organization=organization, status=Delivery.Status.FAILED)
        .select_related("alert")
        .only(*SHOWN_FIELDS)
        .annotate(**_firing_paged())
        .order_by("-created_at", "-pk")
    )


def _firing_paged() -> dict[str, Any]:
    """Per failure, whether its firing paged anyone after all (`alerts.paged`), in the same
    query: a failed trigger's firing paged through another service (the first PagerDuty
    accepted: "paged later through Checkout API 002"), and what `paged.paging` needs (its
    probes, and `held`), with when it fired. Probes of the deliveries' firing index. A
    trigger whose service was removed (service_id null) counts any accepted trigger of its
    firing: "another service" compared null-safe."""
    of_firing = Delivery.objects.filter(
        TRIGGER, organization_id=OuterRef("organization_id"), firing_id=OuterRef("firing_id")
    )
    found = JSONObject(name="service_name", reason="reason", at="created_at")
    accepted = of_firing.filter(DELIVERED).order_by("created_at", "pk")
    elsewhere = accepted.exclude(service_id=OuterRef("service_id")).values(found=found)[:1]
    any_accepted = accepted.values(found=found)[:1]
    a_trigger = Q(event_action=EventAction.TRIGGER, firing__isnull=False)
    return {
        "paged_through": Case(
            When(a_trigger & Q(service_id__isnull=True), then=Subquery(any_accepted)),
            When(a_trigger, then=Subquery(elsewhere)),
            default=None,
        ),
        **paging_annotations("firing_id"),
        "held": Coalesce(F("firing__held"), False),
        "fired_at": F("firing__opened_at"),
    }


def _failures(organization: Organization, rows: Sequence[Delivery]) -> list[Failure]:
    """The rows as shown, each failed resolve with the incident it left open in PagerDuty,
    if it did (`left_open`), each trigger whose firing paged nobody (or may not have) with
    what its firing sent (`sent_of`): two queries, for them all."""
    resolves = [d.pk for d in rows if d.event_action == EventAction.RESOLVE]
    left = left_open_ids(organization.pk, resolves)
    unpaged = [
        d.firing_id
        for d in rows
        if d.event_action == EventAction.TRIGGER
        and d.firing_id is not None
        and paging_of_row(d) in (Paging.MISSED, Paging.NOT_CONFIRMED)
    ]
    sent = sent_of(organization.pk, unpaged)
    return [
        Failure(
            d,
            error_words(d),
            reverse("pagerduty:delivery", args=[organization.slug, d.pk]),
            getattr(d, "fixed_at", None),
            left.get(d.pk),
            Paged.of(d),
            sent.get(d.firing_id) if d.firing_id is not None else None,
        )
        for d in rows
    ]


def _fixed_at() -> Case:
    """Per failure, when what it failed to do got done after all (None: not yet). A
    firing's trigger or resolve: when one of the same firing, action and service got
    through later (sent again), not merely any event to that service, which says nothing
    of whether that firing paged anyone. An event of no firing (a test): when any later
    delivery to its service got through, as the service then accepts events again. Index
    probes on the deliveries' firing and (service, created_at)."""
    later = Delivery.objects.filter(
        organization_id=OuterRef("organization_id"),
        service_id=OuterRef("service_id"),
        status=Delivery.Status.DELIVERED,
        created_at__gt=OuterRef("created_at"),
    ).order_by("created_at", "pk")
    again = later.filter(firing_id=OuterRef("firing_id"), event_action=OuterRef("event_action"))
    at = Coalesce("delivered_at", "created_at")
    return Case(
        When(firing__isnull=True, then=Subquery(later.values(at=at)[:1])),
        default=Subquery(again.values(at=at)[:1]),
    )


@dataclass(frozen=True, slots=True)
class RecentFailures:
    failures: list[Failure]
    total: int  # failed within RECENT_SPAN
    more_url: str
    unfixed: int = 0  # of them, with no later delivery to their service that got through
    sent_any: bool = True  # whether anything was ever sent: "no failure" means little before

    @property
    def more(self) -> int:
        return self.total - len(self.failures)


def sent_any(organization: Organization) -> bool:
    """Whether any event was ever sent to PagerDuty (one EXISTS on the deliveries'
    organization index), so that "nothing failed" is not said of nothing sent."""
    return Delivery.objects.filter(organization=organization).exists()


def recent_failures(organization: Organization, now: datetime) -> RecentFailures:
    """The newest RECENT_SHOWN failures of the last RECENT_SPAN, each with when a later
    delivery to its service got through (if one did), and how many there were, and were not
    fixed so: one query, and one for the incidents failed resolves left open."""
    rows = list(
        _failed(organization)
        .filter(created_at__gte=now - RECENT_SPAN)
        .annotate(fixed_at=_fixed_at())
        .annotate(
            total=Window(Count("pk")),
            unfixed=Window(Count("pk", filter=Q(fixed_at__isnull=True))),
        )[:RECENT_SHOWN]
    )
    slug = organization.slug
    return RecentFailures(
        _failures(organization, rows),
        rows[0].total if rows else 0,
        reverse("dashboard:failed_deliveries", args=[slug]),
        rows[0].unfixed if rows else 0,
        bool(rows) or sent_any(organization),
    )


@dataclass(frozen=True, slots=True)
class FailurePage:
    failures: list[Failure]
    older: Cursor | None  # where the next page starts, when there is one


def failure_page(organization: Organization, after: Cursor | None) -> FailurePage:
    """PAGE_SIZE failures, newest first, older than `after` (from the newest when None)."""
    shown, older = walk(_failed(organization), after, PAGE_SIZE)
    return FailurePage(_failures(organization, list(shown)), older)
