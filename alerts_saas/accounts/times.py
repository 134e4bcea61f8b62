"""Each person's time zone, and one way to show a moment: in their zone, UTC on hover.

One rule says which zone a person's times are shown and read in (`page_zone`): the one
chosen in their profile; while none is, their browser's (which `static/js/browser-zone.js`
remembers in the `ZONE_COOKIE` cookie on every page); else UTC. `TimeZoneMiddleware`
activates it for the request and keeps it as `request.page_zone` (pages name it);
`time_html` renders a moment as `<time datetime="...Z" title="... UTC">local</time>` (the
`{% timestamp %}` tag of the `times` library, and Python that builds HTML, both use it).
Relative words never say "0 minutes": "just now", "in under a minute".
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cache
from typing import Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.dates import MONTHS_3
from django.utils.html import escape
from django.utils.safestring import SafeString
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import get_language

DEFAULT_FORMAT = "j M Y, H:i"
HOVER_FORMAT = "j M Y, H:i:s"
# Relative forms of `time_html`: "5 minutes ago" and "in 5 minutes".
AGO, UNTIL = "ago", "until"
# `time_html`'s form for "since 03:12" (today) or "since 28 Nov 03:12": `clock`.
CLOCK = "clock"
# The browser's IANA zone, set by static/js/browser-zone.js (read while no zone is chosen).
ZONE_COOKIE = "tripwire_zone"


@cache
def zones() -> tuple[str, ...]:
    """The IANA zone names a person can choose, UTC first, then by name."""
    names = zoneinfo.available_timezones() - {"UTC", "localtime"}
    return ("UTC", *sorted(name for name in names if "/" in name))


def zone_of(name: str) -> tzinfo:
    """The zone called `name`; UTC for an empty or unknown name."""
    if name and name in zones():
        return zoneinfo.ZoneInfo(name)
    return UTC


def zone_label(name: str) -> str:
    """An IANA zone as people read it: "America/New York"; UTC for none."""
    return (name or "UTC").replace("_", " ")


@dataclass(frozen=True)
class PageZone:
    """The zone a person's times are in, and where it came from (pages say so)."""

    name: str  # an IANA name from `zones()`; "UTC" when nothing else is known
    source: Literal["profile", "browser", "none"]

    @property
    def label(self) -> str:
        return zone_label(self.name)

    @property
    def chosen(self) -> bool:
        return self.source == "profile"

    @property
    def zone(self) -> tzinfo:
        return zone_of(self.name)


def page_zone(profile_zone: str, browser_zone: str) -> PageZone:
    """The one rule for "which zone": the profile's; while none is chosen, the browser's;
    else UTC. A name not in `zones()` counts as none."""
    if profile_zone and profile_zone in zones():
        return PageZone(profile_zone, "profile")
    if browser_zone and browser_zone in zones():
        return PageZone(browser_zone, "browser")
    return PageZone("UTC", "none")


def request_zone(request: HttpRequest) -> PageZone:
    """`page_zone` for this request: a signed-in person's profile, else their browser's (its
    cookie). Nobody signed in (an API token, a sign-in page) is UTC."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return PageZone("UTC", "none")
    profile = str(getattr(user, "time_zone", "") or "")
    return page_zone(profile, request.COOKIES.get(ZONE_COOKIE, ""))


class TimeZoneMiddleware:
    """Times in each page are in the person's zone (`request_zone`), kept as
    `request.page_zone` for the pages that name it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        shown = request_zone(request)
        request.page_zone = shown  # type: ignore[attr-defined]
        timezone.activate(shown.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def ago(moment: datetime, now: datetime | None = None) -> str:
    """'just now' under a minute, else '5 minutes ago', '2 hours, 3 minutes ago'."""
    now = now or timezone.now()
    if (now - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment, now)} ago"


def until(moment: datetime, now: datetime | None = None) -> str:
    """'in under a minute' (also when it is due already), else 'in 5 minutes'."""
    now = now or timezone.now()
    if (moment - now).total_seconds() < 60:
        return "in under a minute"
    return f"in {timeuntil(moment, now)}"


def clock(moment: datetime, now: datetime | None = None) -> str:
    """'03:12' when `moment` is today in the active zone, else '28 Nov 03:12' (with the
    year when not this year's)."""
    local, today = timezone.localtime(moment), timezone.localtime(now or timezone.now())
    if local.date() == today.date():
        return date_format(local, "H:i")
    return date_format(local, "j M H:i" if local.year == today.year else "j M Y H:i")


# The date-format letters `time_html` writes itself (Django's `dateformat` takes ~60 µs a
# call, hundreds of times on an alert's page); a format with any other falls back to it.
_FAST = {
    "d": lambda m: f"{m.day:02d}",
    "j": lambda m: str(m.day),
    "m": lambda m: f"{m.month:02d}",
    "n": lambda m: str(m.month),
    "Y": lambda m: str(m.year),
    "y": lambda m: f"{m.year % 100:02d}",
    "H": lambda m: f"{m.hour:02d}",
    "G": lambda m: str(m.hour),
    "i": lambda m: f"{m.minute:02d}",
    "s": lambda m: f"{m.second:02d}",
}


@cache
def _months(language: str | None) -> tuple[str, ...]:
    """Django's short month names ("M") in `language`, escaped, January at 1."""
    return ("", *(escape(str(MONTHS_3[n]).title()) for n in range(1, 13)))


@cache
def _compiled(form: str) -> tuple[tuple[bool, str], ...] | None:
    """`form` as (is a letter, text) parts, or None when a letter is not one of ours."""
    parts: list[tuple[bool, str]] = []
    chars = iter(form)
    for char in chars:
        if char == "\\":
            parts.append((False, escape(next(chars, ""))))
        elif char in _FAST or char == "M":
            parts.append((True, char))
        elif char.isalpha():
            return None
        else:
            parts.append((False, escape(char)))
    return tuple(parts)


def _format(moment: datetime, form: str) -> str:
    """`date_format(moment, form)`, escaped; written here for the usual letters."""
    parts = _compiled(form)
    if parts is None:
        return escape(date_format(moment, form))
    months = _months(get_language()) if "M" in form else ()
    return "".join(
        (months[moment.month] if text == "M" else _FAST[text](moment)) if letter else text
        for letter, text in parts
    )


def time_html(moment: datetime | None, form: str = DEFAULT_FORMAT) -> SafeString:
    """`moment` as `<time>`: shown in the active zone (`form` is a date format, or AGO or
    UNTIL for words, or CLOCK), its UTC time in `datetime` and on hover. '' for None."""
    if moment is None:
        return SafeString("")
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    utc = moment.astimezone(UTC)
    shown: str  # escaped
    if form == AGO:
        shown = escape(ago(moment))
    elif form == UNTIL:
        shown = escape(until(moment))
    elif form == CLOCK:
        shown = escape(clock(moment))
    else:
        shown = _format(timezone.localtime(moment), form)
    stamp = f"{utc:%Y-%m-%dT%H:%M:%S}Z"
    return SafeString(
        f'<time datetime="{stamp}" title="{_format(utc, HOVER_FORMAT)} UTC">{shown}</time>'
    )
