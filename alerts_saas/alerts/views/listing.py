"""The alert list: one page of alerts, found by name and filtered by state, firing ones
first; each row is put in words before the template renders it (list_rows.py).

The page costs the same five queries whatever the number of alerts and however long their
history: one for the absence alerts counted per value that may watch nothing (and one read
of the count store for all of them: watching.py), one for the counts (the total, the firing
ones, each filter's), one for the page's alerts in order, one for what only the page's rows
show (the open firing's start, the last delivery: index probes per alert shown) and one for
the services they page, with what their health needs (health.py: whether each alert can
page anyone).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)

from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.reach import reaches_someone
from alerts_saas.alerts.watching import LIST_STATE, MAY_WATCH_NOTHING

PAGE_SIZE = 50
MAX_SEARCH = 200  # an alert's name is at most this long


class Show(StrEnum):
    """Which alerts the list shows (its `state` parameter)."""

    ALL = "all"
    FIRING = "firing"
    ENABLED = "enabled"
    DISABLED = "disabled"
    NOBODY = "nobody"
    NOTHING = LIST_STATE

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
    Show.NOTHING: "Watching nothing",
}
SHOW_NOUNS = {
    Show.ALL: ("alert", "alerts"),
    Show.FIRING: ("firing alert", "firing alerts"),
    Show.ENABLED: ("enabled alert", "enabled alerts"),
    Show.DISABLED: ("disabled alert", "disabled alerts"),
    Show.NOBODY: ("alert that pages nobody", "alerts that page nobody"),
    Show.NOTHING: ("alert that watches nothing", "alerts that watch nothing"),
}
SHOW_NONE = {
    Show.ALL: "No alerts yet.",
    Show.FIRING: "No alert is firing.",
    Show.ENABLED: "No alert is enabled: none of them can page.",
    Show.DISABLED: "No alert is disabled.",
    Show.NOBODY: "Every alert pages someone: a PagerDuty service, or the fallback.",
    Show.NOTHING: "Every enabled absence alert counted per value watches at least one value.",
}
SHOW_CONDITIONS = {
    Show.ALL: Q(),
    Show.FIRING: Q(is_firing=True),
    Show.ENABLED: Q(enabled=True),
    Show.DISABLED: Q(enabled=False),
    Show.NOBODY: Q(pages_someone=False),
    Show.NOTHING: Q(watches_nothing=True),
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
    """The name searched for, trimmed; an empty string searches nothing. Without NULs: no
    name has one (forms refuse it) and PostgreSQL refuses one in a query (a 500); the page
    shows, and its links keep, the term as searched."""
    return (raw or "").replace("\x00", "").strip()[:MAX_SEARCH]


def annotated(alerts: QuerySet[Alert], nothing: Collection[int] = ()) -> QuerySet[Alert]:
    """`alerts` with what the filters and the order read, per alert: whether it is firing
    (enabled, with an open firing: read from the partial index of open firings), whether
    it reaches someone (`reach`: its services, or the fallback) and whether it watches
    nothing (its id among `nothing`, as the count store says: watching.py). None reads any
    history."""
    open_firing = Firing.objects.filter(alert=OuterRef("pk"), cleared_at__isnull=True)
    watching: Case | Value = Value(False)
    if nothing:
        watching = Case(When(pk__in=list(nothing), then=Value(True)), default=Value(False))
    return alerts.alias(
        has_open_firing=Exists(open_firing),
        pages_someone=ExpressionWrapper(reaches_someone(), output_field=BooleanField()),
        watches_nothing=watching,
    ).alias(
        is_firing=Case(
            When(enabled=True, has_open_firing=True, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
        may_watch_nothing=Case(
            When(MAY_WATCH_NOTHING, has_open_firing=False, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
    )


def _matching(search: str) -> Q:
    return Q(name__icontains=search) if search else Q()


def _matches(search: str) -> Case | Value:
    """Whether the search finds an alert, per alert."""
    if not search:
        return Value(True)
    return Case(When(_matching(search), then=Value(True)), default=Value(False))


def with_search(alerts: QuerySet[Alert], search: str) -> QuerySet[Alert]:
    """`alerts`, each with whether the search finds it (`search_matches`)."""
    return alerts.annotate(search_matches=_matches(search))


@dataclass(frozen=True)
class Group:
    """Alerts alike in what the filters read: `count` of them."""

    enabled: bool
    firing: bool
    pages_someone: bool
    may_watch_nothing: bool  # watching.MAY_WATCH_NOTHING, without an open firing
    matches: bool  # the search (if any) finds them
    count: int


# What each filter keeps, as SHOW_CONDITIONS says in SQL, for a group of alike alerts.
SHOW_KEEPS: dict[Show, Callable[[Group], bool]] = {
    Show.ALL: lambda g: True,
    Show.FIRING: lambda g: g.firing,
    Show.ENABLED: lambda g: g.enabled,
    Show.DISABLED: lambda g: not g.enabled,
    Show.NOBODY: lambda g: not g.pages_someone,
    Show.NOTHING: lambda g: False,  # the count store says which: `Counts.watching`
}


@dataclass(frozen=True)
class Counts:
    """How many alerts the organization has, how many fire, and how many each filter shows
    for the search."""

    total: int
    firing: int
    shown: dict[Show, int]
    may_watch_nothing: int = 0  # the count store must be read to know (watching.py)
    watching_nothing: int = 0  # whatever the search

    @property
    def matching(self) -> int:
        """Alerts the search finds, whatever their state."""
        return self.shown[Show.ALL]

    def watching(self, nothing: list[Alert]) -> Counts:
        """These counts with the alerts that watch nothing (from `with_search` alerts)."""
        found = sum(1 for alert in nothing if getattr(alert, "search_matches", True))
        shown = {**self.shown, Show.NOTHING: found}
        return replace(self, shown=shown, watching_nothing=len(nothing))

    @classmethod
    def of(cls, groups: list[Group]) -> Counts:
        return cls(
            total=sum(g.count for g in groups),
            firing=sum(g.count for g in groups if g.firing),
            may_watch_nothing=sum(g.count for g in groups if g.may_watch_nothing),
            shown={
                show: sum(g.count for g in groups if g.matches and SHOW_KEEPS[show](g))
                for show in Show
            },
        )


def counts(alerts: QuerySet[Alert], search: str) -> Counts:
    """All of the list's counts, from one query that counts the alerts (`alerts` from
    `annotated`) by what the filters and the search read: a handful of groups."""
    matches = _matches(search)
    groups = (
        alerts.annotate(
            g_firing=F("is_firing"),
            g_pages=F("pages_someone"),
            g_maybe=F("may_watch_nothing"),
            g_matches=matches,
        )
        .order_by()
        .values_list("enabled", "g_firing", "g_pages", "g_maybe", "g_matches")
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
        """The state filters; "Watching nothing" only while some alert does (or chosen)."""
        return [
            Filter(show, counts.shown[show], self.to(self.search, show), show is self.show)
            for show in Show
            if show is not Show.NOTHING or counts.watching_nothing or show is self.show
        ]

    @property
    def clear_search(self) -> str:
        return self.to("", self.show)

    @property
    def all_states(self) -> str:
        return self.to(self.search, Show.ALL)
