"""Mute windows: when an alert, or a service for every alert paging it, pages nobody.

A window is one stretch (`starts_at` to `ends_at`) or weekly: on its weekdays, from
`start_time` for `duration_minutes` of wall-clock time in its time zone, so "Sundays
02:00 to 04:00 Europe/Berlin" stays 02:00 to 04:00 on the clock across DST (two hours of real
time, three on the night the clocks go back, one when they go forward). A start the clocks
skip (02:30 when 02:00 jumps to 03:00) begins at the same offset after the jump (03:30).

While a target is muted its trigger is held: the firing opens and is shown, marked
`Firing.held`; when no window mutes the target any more, `mute_release` pages it if the
firing is still open.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from django.db.models import Q
from django.utils.html import format_html
from django.utils.safestring import SafeString

from alerts_saas.accounts.times import time_html, zone_of
from alerts_saas.alerts.models import Alert, Firing, MuteWindow

MAX_WEEKLY_MINUTES = 7 * 24 * 60
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Windows that meet or overlap are one stretch; never more links than this in a chain.
CHAIN_LIMIT = 50

Span = tuple[datetime, datetime]


def zone(name: str) -> tzinfo:
    """The window's zone; UTC for a name no longer known."""
    return zone_of(name)


def weekly_span(window: MuteWindow, day: date) -> Span | None:
    """The weekly window's stretch starting on the local `day`, if it runs that day."""
    if window.start_time is None or not window.duration_minutes:
        return None
    if str(day.weekday()) not in window.weekdays:
        return None
    local = zone(window.time_zone)
    # Wall-clock times as typed: 02:00 + 2 h ends at 04:00 whatever the clocks do between,
    # and a window never covers a time it was not typed for: on the night the clocks skip
    # 02:00-03:00, "02:30 to 03:30" mutes 03:00-03:30 and "02:30 to 03:00" nothing.
    typed = datetime.combine(day, window.start_time)
    start = _moment(typed, local)
    end = _moment(typed + timedelta(minutes=window.duration_minutes), local)
    return (start, end) if start < end else None


def _moment(wall: datetime, local: tzinfo) -> datetime:
    """A wall-clock time in the zone as a moment in UTC (in UTC: moments in one zone
    compare by wall clock, wrong when the clocks repeat an hour): a repeated time is its
    first occurrence, and one the clocks skip is the jump itself."""
    later = wall.replace(tzinfo=local).astimezone(UTC)
    if later.astimezone(local).replace(tzinfo=None) == wall:
        return later
    # In a gap: `fold` 1 reads the time with the offset after the jump, an earlier moment.
    lo, hi = wall.replace(tzinfo=local, fold=1).astimezone(UTC), later
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(local).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0) if hi.microsecond else hi


def spans(window: MuteWindow, around: datetime, days_after: int = 0) -> Iterator[Span]:
    """The window's stretches that can contain `around` (and, with `days_after`, those
    starting up to that many days later), in order of start."""
    if not window.is_weekly:
        if window.starts_at is not None and window.ends_at is not None:
            yield window.starts_at, window.ends_at
        return
    local = around.astimezone(zone(window.time_zone)).date()
    back = (window.duration_minutes or 0) // (24 * 60) + 2
    for offset in range(-back, days_after + 1):
        span = weekly_span(window, local + timedelta(days=offset))
        if span is not None:
            yield span


def span_at(window: MuteWindow, at: datetime) -> Span | None:
    """The window's stretch that holds `at` (start included, end excluded)."""
    return next((s for s in spans(window, at) if s[0] <= at < s[1]), None)


def next_span(window: MuteWindow, after: datetime) -> Span | None:
    """The window's current stretch, or else its next one to start."""
    return next((s for s in spans(window, after, days_after=8) if s[1] > after), None)


def muted_until(windows: Iterable[MuteWindow], at: datetime) -> datetime | None:
    """When the mute that holds at `at` ends, following windows that meet or overlap;
    None if none holds."""
    windows = list(windows)
    until: datetime | None = None
    moment = at
    for _ in range(CHAIN_LIMIT):
        ends = [span[1] for w in windows if (span := span_at(w, moment)) is not None]
        if not ends:
            break
        until = moment = max(ends)
    return until


@dataclass(frozen=True)
class Mutes:
    """An organization's windows that may hold at `at` (loaded once, asked per alert)."""

    at: datetime
    windows: tuple[MuteWindow, ...]

    @classmethod
    def load(cls, organization_ids: Iterable[int], at: datetime) -> Mutes:
        """One query: the windows not over yet of these organizations, also those not
        started (one that starts before the current mute ends extends it)."""
        found = MuteWindow.objects.filter(
            organization_id__in=list(organization_ids), ends_at__gt=at
        ) | MuteWindow.objects.filter(
            organization_id__in=list(organization_ids), ends_at__isnull=True
        )
        return cls(at, tuple(found.select_related("created_by")))

    def of_alert(self, alert_id: int) -> list[MuteWindow]:
        return [w for w in self.windows if w.alert_id == alert_id]

    def of_service(self, service_id: int) -> list[MuteWindow]:
        return [w for w in self.windows if w.service_id == service_id]

    def alert_until(self, alert_id: int) -> datetime | None:
        return muted_until(self.of_alert(alert_id), self.at)

    def service_until(self, service_id: int) -> datetime | None:
        return muted_until(self.of_service(service_id), self.at)

    def target_until(self, alert_id: int, service_id: int) -> datetime | None:
        """When the target is paged again: the alert's mute and the service's, chained."""
        return muted_until([*self.of_alert(alert_id), *self.of_service(service_id)], self.at)

    def muted_targets(self, alert_id: int, service_ids: Iterable[int]) -> set[int]:
        """The services of `service_ids` that the alert must not page now."""
        if self.alert_until(alert_id) is not None:
            return set(service_ids)
        return {pk for pk in service_ids if self.service_until(pk) is not None}

    def held_until(self, alert_id: int, service_ids: Iterable[int]) -> datetime | None:
        """When the last of the alert's muted targets is paged again; None if none is muted."""
        ends = [self.target_until(alert_id, pk) for pk in service_ids]
        if not ends:
            return self.alert_until(alert_id)
        known = [end for end in ends if end is not None]
        return max(known) if known else None

    def hold(self, firing: Firing, service_ids: Iterable[int]) -> Hold | None:
        """What holds a held open firing's trigger now (None if it is not held): when its
        muted targets (of `service_ids`, the alert's) are paged, and the windows muting the
        alert or one of them now. `until` is None once no window mutes them: the beat pages
        them within seconds."""
        if not firing.held or firing.cleared_at is not None:
            return None
        service_ids = set(service_ids)
        holding = [
            w.pk
            for w in self.windows
            if (w.alert_id == firing.alert_id or w.service_id in service_ids)
            and span_at(w, self.at) is not None
        ]
        return Hold(self.held_until(firing.alert_id, service_ids), tuple(sorted(holding)))


@dataclass(frozen=True)
class Hold:
    """Why a held firing has not paged yet: until when, and which windows (ids)."""

    until: datetime | None
    window_ids: tuple[int, ...]


def holds(firings: Iterable[Firing], at: datetime) -> dict[int, Hold]:
    """`Mutes.hold` for each held open firing of `firings`, by firing id: two queries for any
    number of firings (their alerts' targets, their organizations' windows), none if no
    firing is held."""
    held = [f for f in firings if f.held and f.cleared_at is None]
    if not held:
        return {}
    organizations = {f.organization_id for f in held}
    targets: dict[int, list[int]] = defaultdict(list)
    links = Alert.targets.through.objects.filter(
        alert_id__in={f.alert_id for f in held}, alert__organization_id__in=organizations
    )
    for alert_id, service_id in links.values_list("alert_id", "pagerdutyservice_id"):
        targets[alert_id].append(service_id)
    loaded = Mutes.load(organizations, at)
    found = {f.pk: loaded.hold(f, targets[f.alert_id]) for f in held}
    return {pk: hold for pk, hold in found.items() if hold is not None}


def muted_targets(alert: Alert, service_ids: Iterable[int], at: datetime) -> set[int]:
    """The targets among `service_ids` that a window mutes for this alert at `at` (one
    query, for this alert's and these services' windows alone)."""
    service_ids = list(service_ids)
    windows = MuteWindow.objects.filter(organization_id=alert.organization_id).filter(
        Q(alert_id=alert.pk) | Q(service_id__in=service_ids)
    )
    windows = windows.filter(Q(ends_at__isnull=True) | Q(starts_at__lte=at, ends_at__gt=at))
    return Mutes(at, tuple(windows)).muted_targets(alert.pk, service_ids)


def schedule_words(window: MuteWindow) -> str:
    """A weekly window in words: "Sun 02:00 to 04:00 (Europe/Berlin)"."""
    return f"{_days_and_hours(window)} ({window.time_zone})"


def schedule_log_words(window: MuteWindow) -> str | None:
    """A weekly window as the activity log says it: "Mon, Sun 13:00 to 02:00 (+1 day),
    Europe/Berlin"; None for a one-off window (its from and until say it)."""
    if not window.is_weekly:
        return None
    return f"{_days_and_hours(window)}, {window.time_zone}"


def _days_and_hours(window: MuteWindow) -> str:
    days = ", ".join(WEEKDAY_NAMES[int(d)] for d in sorted(window.weekdays))
    if window.weekdays == "0123456":
        days = "Every day"
    start = window.start_time or time(0)
    end = datetime.combine(date(2000, 1, 3), start) + timedelta(
        minutes=window.duration_minutes or 0
    )
    later = (end.date() - date(2000, 1, 3)).days
    next_day = f" (+{later} day{'s' if later > 1 else ''})" if later else ""
    return f"{days} {start:%H:%M} to {end:%H:%M}{next_day}"


# A mute's start or end as the pages show it: in the viewer's zone, which it names ("CET").
TIME_FORMAT = "D j M H:i T"


def time_words(moment: datetime | None) -> SafeString:
    """A mute's start or end: "Tue 1 Dec 01:00 CET" in the viewer's zone, UTC on hover."""
    return time_html(moment, TIME_FORMAT)


def until_html(until: datetime, now: datetime) -> SafeString:
    """When a mute ends, in the person's zone (named): the time alone within the day, else
    the date."""
    form = "H:i T" if until - now < timedelta(hours=20) else TIME_FORMAT
    return time_html(until, form)


def mute_words(until: datetime, now: datetime, reason: str = "") -> SafeString:
    """Beside a "Muted" badge, the rest: "until 04:00 UTC — deploy" (the badge says muted)."""
    if reason:
        return format_html("until {} — {}", until_html(until, now), reason)
    return format_html("until {}", until_html(until, now))
