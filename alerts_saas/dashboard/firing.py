"""The firing alerts, those that page nobody first: since when and for how long, how many
matching events the window holds now, whether the firing reached someone (what its
deliveries say first, then its path now: `reach`), and what was last sent to each of its
services.

Four queries whatever the history (the shown open firings by the partial index of open
firings, each ranked by whether it reached someone; how many alerts, and firings, are open
in all; the shown alerts' targets; the shown firings' deliveries, which also say which
fallback paged them), two for their incidents in PagerDuty, and one read of the count
store. Whether PagerDuty accepted a firing's trigger is asked once per firing in each
query that ranks (`_rank`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict

import redis
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
    prefetch_related_objects,
)
from django.urls import reverse

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.counting import counts
from alerts_saas.alerts.firings import counter_of
from alerts_saas.alerts.health import RANK, AlertHealth, health_of, targets_with_accounts
from alerts_saas.alerts.incident_notes import firing_notes
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.reach import FiringReach, accepted_triggers, reaches_someone
from alerts_saas.alerts.state import duration_label
from integrations.pagerduty.models import Delivery, EventAction, retrying

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

log = logging.getLogger(__name__)

SHOWN = 10  # firing alerts listed; the alert list's "firing" filter has them all


@dataclass(frozen=True, slots=True)
class LatestDelivery:
    """A firing's newest delivery to one service: "Trigger to Checkout API: delivered"."""

    pk: int
    action: str
    service_name: str
    status: str
    retrying: bool
    error: str
    at: datetime  # shown with {% timestamp ... "ago" %}
    attempts: int = 0  # its failed attempts (`Delivery.failed_attempts`)
    next_at: datetime | None = None  # when a retrying one is tried again; None: being sent
    last_answer: str = ""  # what went wrong the last time (`Delivery.last_answer`)

    @property
    def state(self) -> str:
        if self.retrying:
            return "retrying"
        return {"sending": "queued"}.get(self.status, self.status)

    @property
    def badge(self) -> str:
        return {"delivered": "badge-ok", "failed": "badge-bad"}.get(self.status, "badge-warn")

    @property
    def words(self) -> str:
        return f"{self.action.capitalize()} to {self.service_name}"


@dataclass(frozen=True, slots=True)
class SentGroup:
    """The services whose newest delivery for a firing is the same event in the same state
    (failing, with the same error), said on one line: "Trigger to Checkout API, Payments
    +2", the full list a tap away."""

    deliveries: tuple[LatestDelivery, ...]  # newest first

    NAMED = 2  # services named on the line; the rest are counted ("+2")

    @property
    def first(self) -> LatestDelivery:
        return self.deliveries[0]

    @property
    def named(self) -> tuple[LatestDelivery, ...]:
        return self.deliveries[: self.NAMED]

    @property
    def more(self) -> int:
        return max(0, len(self.deliveries) - self.NAMED)


# Worst first: what failed, then what still tries, then what waits, then what got through.
_SENT_ORDER = ("failed", "retrying", "queued", "delivered")


@dataclass(frozen=True, slots=True)
class FiringAlert:
    alert: Alert
    firing: Firing
    duration: str
    count_now: int | None  # matching events in the window now; None when it can't be read
    health: AlertHealth
    sent: tuple[SentGroup, ...]  # what each service was last sent, worst first
    url: str
    incident_note: str = ""  # PagerDuty's word on the firing's incident
    reaches: bool = True  # it reached someone, or its alert reaches someone now (`reach`)
    fallback_paged: str = ""  # the fallback PagerDuty accepted its trigger for, if only it
    unpaged: bool = False  # no trigger accepted yet, one retrying after failed attempts

    @property
    def pages_nobody(self) -> bool:
        return not self.reaches

    @property
    def not_paged_yet(self) -> bool:
        """It can page someone, but PagerDuty has accepted none of its triggers yet and
        one is being tried again: nobody knows of it until a retry gets through."""
        return self.reaches and self.unpaged

    @property
    def retry(self) -> LatestDelivery | None:
        """The trigger being tried again, for the words of a firing not paged yet."""
        if not self.not_paged_yet:
            return None
        retrying = (d for g in self.sent for d in g.deliveries if d.retrying)
        return next((d for d in retrying if d.action == EventAction.TRIGGER), None)

    @property
    def path_words(self) -> str:
        """What is wrong with its path, in a few words ("Search API: Invalid routing key."):
        what it means and what to do are said once, under "Broken paging paths", not again
        in every firing (some 80 words each, on a phone). An alert with no service at all
        keeps its words, already short."""
        health = self.health
        if not health.reason:
            return health.words
        words = [f"{health.reason}."]
        others = len(health.troubles) - 1
        if others:
            words.append(f"({others} more service{'s' if others > 1 else ''} too.)")
        if health.others_fine:
            words.append("Its other services still page.")
        if health.fallback:
            words.append(health.fallback_words)
        return " ".join(words)

    @property
    def condition(self) -> str:
        """What the count is held against: "fires at 10" or "fires below 5"."""
        word = "below" if self.alert.is_absence else "at"
        return f"fires {word} {self.alert.threshold}"


@dataclass(frozen=True, slots=True)
class FiringSection:
    alerts: list[FiringAlert]  # one per firing: an alert that groups fires once per value
    total: int  # alerts firing in all, as the alert list counts them
    nobody: int  # of them, the alerts that can page nobody (all shown first)
    list_url: str  # the alert list, firing ones only
    firings: int = 0  # open firings in all: more than `total` when an alert fires per value
    waiting: int = 0  # of the alerts, those with a firing not paged yet (`not_paged_yet`)

    @property
    def more(self) -> int:
        """Firings not shown here."""
        return self.firings - len(self.alerts)

    @property
    def first_waiting(self) -> FiringAlert | None:
        """The first shown firing not paged yet, whose retry the headline tells."""
        return next((a for a in self.alerts if a.not_paged_yet and a.retry), None)


def _retrying_triggers() -> QuerySet[Delivery]:
    """The row's firing's triggers with a failed attempt, not settled: waiting to be tried
    again or being tried again (`retrying`, as the alert page's "not paged yet")."""
    return Delivery.objects.filter(
        retrying(),
        organization_id=OuterRef("organization_id"),
        firing_id=OuterRef("pk"),
        event_action=EventAction.TRIGGER,
    )


# A firing's rank, worst first: the list's order, and what its flags are read from.
NOBODY_RETRYING = 0  # it reaches nobody (`reach`), a trigger retrying after failures
NOBODY = 1  # it reaches nobody
NOT_PAGED_YET = 2  # it can page, but PagerDuty accepted none of its triggers yet and
# one is being retried after failed attempts: PagerDuty failing now
PAGES = 3  # an incident PagerDuty opened for it is open, or it can page and nothing fails


def _rank() -> Case:
    """Per firing row, its rank (above) in one expression, so that whether PagerDuty
    accepted a trigger of it (`accepted_triggers`) is asked once per firing: a
    firing with an open incident reached someone, else its alert's path now says
    (`reaches_someone`, the rule of `reach`)."""
    retrying = Exists(_retrying_triggers())
    return Case(
        When(Exists(accepted_triggers()), then=Value(PAGES)),
        When(
            reaches_someone("alert_id"),
            then=Case(When(retrying, then=Value(NOT_PAGED_YET)), default=Value(PAGES)),
        ),
        When(retrying, then=Value(NOBODY_RETRYING)),
        default=Value(NOBODY),
        output_field=IntegerField(),
    )


class _Ranked(TypedDict):
    rank: int


class _Counts(TypedDict):
    firings: int
    total: int
    nobody: int
    waiting: int


def _counts(rows: QuerySet[Firing]) -> _Counts:
    """How many firings `rows` hold, and how many alerts (one alert fires per value it
    groups by): in all, that reach nobody, and not paged yet. One query, each firing
    ranked once: Django ranks them in a subquery the counts read, DISTINCT (on the
    firing's id: no row merged) so that PostgreSQL does not fold it into the counts,
    ranking again for each count."""
    alerts = "alert_id"
    ranked = rows.values("pk", "alert_id").annotate(rank=_rank()).distinct()
    return ranked.aggregate(  # type: ignore[return-value]
        firings=Count("pk"),
        total=Count(alerts, distinct=True),
        nobody=Count(alerts, distinct=True, filter=Q(rank__lt=NOT_PAGED_YET)),
        waiting=Count(alerts, distinct=True, filter=Q(rank=NOT_PAGED_YET)),
    )


def _open_firings(
    organization: Organization,
) -> tuple[list[WithAnnotations[Firing, _Ranked]], _Counts]:
    """The SHOWN firings to list, of enabled alerts, each with its `rank`: those that
    reach nobody first, then those not paged yet, then the newest; and the counts."""
    rows = Firing.objects.filter(
        organization=organization, cleared_at__isnull=True, alert__enabled=True
    )
    ranked = rows.select_related("alert").annotate(rank=_rank())
    shown = list(ranked.order_by("rank", "-opened_at", "-pk")[:SHOWN])
    return shown, _counts(rows)


# What the shown firings' cards read of their deliveries (`LatestDelivery`, `FiringReach`).
_READ = (
    "firing_id",
    "service_id",
    "event_action",
    "service_name",
    "status",
    "attempts",
    "last_error",
    "created_at",
    "next_attempt_at",
    "response_status",
    "dedup_key",
    "reason",
)


def _deliveries(firing_ids: list[int]) -> dict[int, list[Delivery]]:
    """Each firing's deliveries, newest first (one query on the deliveries' firing index;
    a firing has a trigger and perhaps a resolve per target)."""
    found: dict[int, list[Delivery]] = {}
    rows = Delivery.objects.filter(firing_id__in=firing_ids).order_by(
        "firing_id", "-created_at", "-pk"
    )
    for row in rows.only(*_READ):
        found.setdefault(row.firing_id or 0, []).append(row)
    return found


def _newest_per_service(deliveries: list[Delivery]) -> list[LatestDelivery]:
    """A firing's newest delivery to each service, newest first."""
    newest: dict[object, LatestDelivery] = {}
    for d in deliveries:
        key = d.service_id or d.service_name  # a removed service's keep its name only
        if key not in newest:
            newest[key] = LatestDelivery(
                d.pk,
                d.event_action,
                d.service_name,
                d.status,
                d.is_retrying,
                d.last_error,
                d.created_at,
                d.failed_attempts,
                None if d.status == Delivery.Status.SENDING else d.next_attempt_at,
                d.last_answer,
            )
    return list(newest.values())


def _grouped(newest: list[LatestDelivery]) -> tuple[SentGroup, ...]:
    """One line per event and state (and error), worst first, so that one badge is true of
    every service it names."""
    groups: dict[tuple[str, str, str], list[LatestDelivery]] = {}
    for delivery in newest:
        failing = delivery.state in ("failed", "retrying")
        key = (delivery.action, delivery.state, delivery.error if failing else "")
        groups.setdefault(key, []).append(delivery)
    ordered = sorted(groups.values(), key=lambda group: _SENT_ORDER.index(group[0].state))
    return tuple(SentGroup(tuple(group)) for group in ordered)


def _counts_now(open_firings: Sequence[Firing], now: datetime) -> dict[int, int]:
    """Each firing's count in its window now (its value's, for an alert that groups), by
    firing: one read of the count store; empty when the store can't be read: the page says
    so rather than failing."""
    sets = {firing.pk: counter_of(firing.alert, firing) for firing in open_firings}
    if not sets:
        return {}
    try:
        totals = counts().totals(sets.values(), now.timestamp())
    except redis.RedisError:
        log.warning("Reading the counts of %d firing alerts failed", len(sets), exc_info=True)
        return {}
    return {pk: totals[counter] for pk, counter in sets.items()}


def firing_section(organization: Organization, now: datetime) -> FiringSection:
    slug = organization.slug
    firings, counted = _open_firings(organization)
    alerts = [firing.alert for firing in firings]
    prefetch_related_objects(alerts, targets_with_accounts())
    healths = health_of(alerts, slug)
    deliveries = _deliveries([f.pk for f in firings]) if firings else {}
    now_counts = _counts_now(firings, now)
    notes = firing_notes(organization.pk, [f.pk for f in firings])
    shown = [
        FiringAlert(
            alert=firing.alert,
            firing=firing,
            duration=duration_label((now - firing.opened_at).total_seconds()),
            count_now=now_counts.get(firing.pk),
            health=healths[firing.alert_id],
            sent=_grouped(_newest_per_service(deliveries.get(firing.pk, []))),
            url=reverse("alerts:detail", args=[slug, firing.alert_id]),
            incident_note=notes.get(firing.pk, ""),
            reaches=firing.rank >= NOT_PAGED_YET,
            fallback_paged=FiringReach.of(deliveries.get(firing.pk, [])).fallback,
            unpaged=firing.rank in (NOBODY_RETRYING, NOT_PAGED_YET),
        )
        for firing in firings
    ]
    shown.sort(key=lambda a: (a.reaches, not a.not_paged_yet, RANK.index(a.health.health)))
    list_url = reverse("alerts:list", args=[slug]) + "?state=firing"
    return FiringSection(
        shown,
        counted["total"],
        counted["nobody"],
        list_url,
        counted["firings"],
        counted["waiting"],
    )
