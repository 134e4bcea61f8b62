"""The alert list: one page of alerts, found by name and filtered by state, firing ones
first, each row put in words before the template renders it.

The page costs the same four queries whatever the number of alerts and however long their
history: one for the counts (the total, the firing ones, each filter's), one for the page's
alerts in order, one for what only the page's rows show (the open firing's start, the last
delivery: index probes per alert shown) and one for the services they page, with what
their health needs (health.py: whether each alert can page anyone).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from alerts_saas.accounts.times import time_html
from alerts_saas.alerts.conditions import describe
from alerts_saas.alerts.health import alert_health
from alerts_saas.alerts.incident_notes import incident_notes
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.state import AlertState, State, duration_label, state_of
from alerts_saas.alerts.views.rows import AlertLinks, AlertRow, LastDelivery
from integrations.pagerduty.history import WAITING_AUTOMATIC_RESOLVE
from integrations.pagerduty.models import Delivery, PagerDutyAccount, PagerDutyService

PAGE_SIZE = 50
MAX_SEARCH = 200  # an alert's name is at most this long


class Show(StrEnum):
    """Which alerts the list shows (its `state` parameter)."""

    ALL = "all"
    FIRING = "firing"
    ENABLED = "enabled"
    DISABLED = "disabled"
    NOBODY = "nobody"

    @property
    def label(self) -> str:
        return SHOW_LABELS[self]

    def found(self, count: int, search: str) -> str:
        """What a search found, in words: "1 firing alert matches “db”."."""
        one, many = SHOW_NOUNS[self]
        if count == 1:
            return f"1 {one} matches “{search}”."
        return f"{count or 'No'} {many} match “{search}”."

    @property
    def none_shown(self) -> str:
        """What it means that it shows nothing, when nothing is searched."""
        return SHOW_NONE[self]

    @property
    def condition(self) -> Q:
        """Which alerts it keeps, on `annotated()`'s aliases (empty for all)."""
        return SHOW_CONDITIONS[self]

    @classmethod
    def parse(cls, raw: str | None) -> Show:
        """The filter asked for; anything unknown shows all."""
        try:
            return cls(raw or cls.ALL)
        except ValueError:
            return cls.ALL


SHOW_LABELS = {
    Show.ALL: "All",
    Show.FIRING: "Firing",
    Show.ENABLED: "Enabled",
    Show.DISABLED: "Disabled",
    Show.NOBODY: "Pages nobody",
}
SHOW_NOUNS = {
    Show.ALL: ("alert", "alerts"),
    Show.FIRING: ("firing alert", "firing alerts"),
    Show.ENABLED: ("enabled alert", "enabled alerts"),
    Show.DISABLED: ("disabled alert", "disabled alerts"),
    Show.NOBODY: ("alert that pages nobody", "alerts that page nobody"),
}
SHOW_NONE = {
    Show.ALL: "No alerts yet.",
    Show.FIRING: "No alert is firing.",
    Show.ENABLED: "No alert is enabled: none of them can page.",
    Show.DISABLED: "No alert is disabled.",
    Show.NOBODY: "Every alert pages at least one PagerDuty service.",
}
SHOW_CONDITIONS = {
    Show.ALL: Q(),
    Show.FIRING: Q(is_firing=True),
    Show.ENABLED: Q(enabled=True),
    Show.DISABLED: Q(enabled=False),
    Show.NOBODY: Q(pages_someone=False),
}


# Fields the list neither shows nor reads: not loaded.
UNSHOWN = (
    "description",
    "summary_template",
    "source",
    "component",
    "group",
    "event_class",
    "created_by",
    "created_at",
    "updated_at",
)


def page_number(raw: str | None) -> int:
    """A page number as posted back; anything but a whole number above 0 is the first."""
    text = (raw or "").strip()
    return max(int(text), 1) if text.isascii() and text.isdigit() and 0 < len(text) < 7 else 1


def search_term(raw: str | None) -> str:
    """The name searched for, trimmed; an empty string searches nothing."""
    return (raw or "").strip()[:MAX_SEARCH]


def annotated(alerts: QuerySet[Alert]) -> QuerySet[Alert]:
    """`alerts` with what the filters and the order read, per alert: whether it is firing
    (enabled, with an open firing: read from the partial index of open firings) and whether
    it pages any service (the targets' index). Neither reads any history."""
    open_firing = Firing.objects.filter(alert=OuterRef("pk"), cleared_at__isnull=True)
    targets = Alert.targets.through.objects.filter(alert=OuterRef("pk"))
    return alerts.alias(
        has_open_firing=Exists(open_firing),
        pages_someone=Exists(targets),
    ).alias(
        is_firing=Case(
            When(enabled=True, has_open_firing=True, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def _matching(search: str) -> Q:
    return Q(name__icontains=search) if search else Q()


@dataclass(frozen=True)
class Group:
    """Alerts alike in what the filters read: `count` of them."""

    enabled: bool
    firing: bool
    pages_someone: bool
    matches: bool  # the search (if any) finds them
    count: int


# What each filter keeps, as SHOW_CONDITIONS says in SQL, for a group of alike alerts.
SHOW_KEEPS: dict[Show, Callable[[Group], bool]] = {
    Show.ALL: lambda g: True,
    Show.FIRING: lambda g: g.firing,
    Show.ENABLED: lambda g: g.enabled,
    Show.DISABLED: lambda g: not g.enabled,
    Show.NOBODY: lambda g: not g.pages_someone,
}


@dataclass(frozen=True)
class Counts:
    """How many alerts the organization has, how many fire, and how many each filter shows
    for the search."""

    total: int
    firing: int
    shown: dict[Show, int]

    @property
    def matching(self) -> int:
        """Alerts the search finds, whatever their state."""
        return self.shown[Show.ALL]

    @classmethod
    def of(cls, groups: list[Group]) -> Counts:
        return cls(
            total=sum(g.count for g in groups),
            firing=sum(g.count for g in groups if g.firing),
            shown={
                show: sum(g.count for g in groups if g.matches and SHOW_KEEPS[show](g))
                for show in Show
            },
        )


def counts(alerts: QuerySet[Alert], search: str) -> Counts:
    """All of the list's counts, from one query that counts the alerts (`alerts` from
    `annotated`) by what the filters and the search read: a handful of groups."""
    matches: Case | Value = Value(True)
    if search:
        matches = Case(When(_matching(search), then=Value(True)), default=Value(False))
    groups = (
        alerts.annotate(g_firing=F("is_firing"), g_pages=F("pages_someone"), g_matches=matches)
        .order_by()
        .values_list("enabled", "g_firing", "g_pages", "g_matches")
        .annotate(n=Count("pk"))
    )
    return Counts.of([Group(*group) for group in groups])


def page_of(alerts: QuerySet[Alert], search: str, show: Show, count: int, number: Any) -> Page:
    """The page asked for (`number`, as `Paginator.get_page` reads it: the first when not a
    number, the last when past the end) of the alerts the search and filter keep, firing ones
    first, then by name; `count` of them in all. Its alerts are read by one query."""
    kept = alerts.filter(_matching(search) & show.condition).defer(*UNSHOWN)
    ordered = kept.order_by(F("is_firing").desc(), "name", "pk")
    paginator = Paginator(ordered, PAGE_SIZE)
    paginator.__dict__["count"] = count  # already counted: Paginator.count is cached
    page = paginator.get_page(number)
    page.object_list = list(page.object_list)
    return page


@dataclass(frozen=True)
class Filter:
    """A state filter's link, with how many alerts it shows for the search."""

    show: Show
    count: int
    url: str
    current: bool

    @property
    def label(self) -> str:
        return self.show.label


@dataclass(frozen=True)
class Links:
    """The list's URLs, each keeping the search and the filter unless it changes them."""

    path: str
    search: str
    show: Show

    def to(self, search: str, show: Show, page: int = 1) -> str:
        params = {"q": search, "state": "" if show is Show.ALL else show.value}
        params["page"] = str(page) if page > 1 else ""
        query = urlencode({k: v for k, v in params.items() if v})
        return f"{self.path}?{query}" if query else self.path

    def page(self, number: int) -> str:
        return self.to(self.search, self.show, number)

    def filters(self, counts: Counts) -> list[Filter]:
        return [
            Filter(show, counts.shown[show], self.to(self.search, show), show is self.show)
            for show in Show
        ]

    @property
    def clear_search(self) -> str:
        return self.to("", self.show)

    @property
    def all_states(self) -> str:
        return self.to(self.search, Show.ALL)


@dataclass(frozen=True)
class RowFacts:
    """What only the rows shown read, beside the alert's own fields."""

    firing_since: datetime | None = None
    last_delivery_status: str = ""
    last_delivery_at: datetime | None = None


def _row_facts(alerts: QuerySet[Alert], ids: list[int]) -> dict[int, RowFacts]:
    """Per alert of `ids`: its open firing's start and its last delivery (one query; each an
    index probe, the last delivery by the deliveries' (alert, created_at) index)."""
    if not ids:
        return {}
    last = (
        Delivery.objects.filter(alert=OuterRef("pk"))
        .exclude(WAITING_AUTOMATIC_RESOLVE)
        .order_by("-created_at", "-pk")
    )
    open_firing = Firing.objects.filter(alert=OuterRef("pk"), cleared_at__isnull=True)
    found = (
        alerts.filter(pk__in=ids)
        .order_by()
        .annotate(
            firing_since=Subquery(open_firing.values("opened_at")[:1]),
            last_status=Subquery(last.values("status")[:1]),
            last_at=Subquery(last.values("created_at")[:1]),
        )
        .values_list("pk", "firing_since", "last_status", "last_at")
    )
    return {
        pk: RowFacts(firing_since=since, last_delivery_status=status or "", last_delivery_at=at)
        for pk, since, status, at in found
    }


def _targets(ids: list[int]) -> dict[int, list[PagerDutyService]]:
    """The services each alert of `ids` pages, by name, with what their health needs (one
    query on the targets' index; the integration keys are not read, so none is decrypted)."""
    found: dict[int, list[PagerDutyService]] = {}
    targets = Alert.targets.through.objects.filter(alert_id__in=ids)
    service = "pagerdutyservice__"
    rows = targets.order_by(f"{service}name").values_list(
        "alert_id",
        *(f"{service}{name}" for name in SERVICE_FIELDS),
        *(f"{service}account__{name}" for name in ACCOUNT_FIELDS),
    )
    for alert_id, *values in rows:
        fields = dict(zip(SERVICE_FIELDS, values[: len(SERVICE_FIELDS)], strict=True))
        account = dict(zip(ACCOUNT_FIELDS, values[len(SERVICE_FIELDS) :], strict=True))
        target = PagerDutyService(**fields)
        target.account = PagerDutyAccount(**account) if account["pk"] is not None else None
        found.setdefault(alert_id, []).append(target)
    return found


# What the list reads of each target for its name and health.
SERVICE_FIELDS = (
    "pk",
    "name",
    "refused_at",
    "refused_detail",
    "failing_since",
    "failing_detail",
)
ACCOUNT_FIELDS = ("pk", "name", "status", "status_detail")


# An alert id no database reaches: where the id goes in a reversed URL.
_ID_MARK = 2**62 + 1


def _link(name: str, slug: str) -> Callable[[int], str]:
    """`reverse(name)` for any of the organization's alerts, reversing once."""
    head, _, tail = reverse(name, args=[slug, _ID_MARK]).rpartition(str(_ID_MARK))
    return lambda pk: f"{head}{pk}{tail}"


def _links(slug: str) -> Callable[[int], AlertLinks]:
    detail, edit = _link("alerts:detail", slug), _link("alerts:edit", slug)
    toggle, delete = _link("alerts:toggle", slug), _link("alerts:delete", slug)
    return lambda pk: AlertLinks(detail(pk), edit(pk), toggle(pk), delete(pk))


def condition_text(alert: Alert) -> str:
    """The firing rule as the list words it: "5 or more matching events in 10 minutes"."""
    events = "event" if alert.threshold == 1 else "events"
    if alert.is_absence:
        return f"Fewer than {alert.threshold} matching {events} in {alert.window_label}"
    return f"{alert.threshold} or more matching {events} in {alert.window_label}"


def rows(alerts: QuerySet[Alert], page: list[Alert], slug: str, now: datetime) -> list[AlertRow]:
    """The page's alerts as the list shows them (two queries, whatever their history, and
    two more for the incidents of those firing)."""
    ids = [alert.pk for alert in page]
    facts = _row_facts(alerts, ids)
    targets = _targets(ids) if ids else {}
    firing = [pk for pk, fact in facts.items() if fact.firing_since is not None]
    notes = incident_notes(page[0].organization_id, firing) if firing else {}
    links = _links(slug)
    return [
        replace(
            _row(
                alert, facts.get(alert.pk, RowFacts()), targets.get(alert.pk, []), now, links, slug
            ),
            incident_note=notes.get(alert.pk, ""),
        )
        for alert in page
    ]


def state_note(state: AlertState, now: datetime) -> SafeString:
    """What the list says under a state: since when it fires, or when it can fire (in the
    person's time zone, UTC on hover)."""
    if state.state == State.FIRING and state.firing is not None:
        since = state.firing.opened_at
        duration = duration_label((now - since).total_seconds())
        return format_html("since {}, for {}", time_html(since, "j M H:i"), duration)
    if state.state == State.WAITING and state.full_window_at is not None:
        return format_html("can fire from {}", time_html(state.full_window_at, "H:i"))
    return SafeString("")


def _row(
    alert: Alert,
    facts: RowFacts,
    targets: list[PagerDutyService],
    now: datetime,
    links: Callable[[int], AlertLinks],
    slug: str,
) -> AlertRow:
    # The open firing's start is all the list shows of it.
    since = facts.firing_since
    state = state_of(alert, Firing(opened_at=since) if since else None, now)
    last = None
    if facts.last_delivery_at is not None:
        last = LastDelivery(facts.last_delivery_status, facts.last_delivery_at)
    return AlertRow(
        subject=alert,
        state=state,
        state_note=state_note(state, now),
        condition=condition_text(alert),
        rules=describe(alert),
        services=tuple(target.name for target in targets),
        last_delivery=last,
        links=links(alert.pk),
        health=alert_health(alert, targets, slug),
    )
