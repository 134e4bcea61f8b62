"""Which events an alert counts: the event as the engine sees it, and compiled matchers.

An event matches when it meets every rule the alert sets; an alert with no rules counts
every event. Regular expressions run on RE2, whose matching time is linear in the message
length, so no pattern can stall ingestion (messages are capped in length too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import orjson
import re2

from alerts_saas.alerts.models import Alert, GroupBy, Level
from alerts_saas.alerts.patterns import regex_problem as regex_problem  # re-exported

AttributeValue = str | int | float | bool | None

LEVEL_NAMES: dict[str, int] = {label: value for value, label in Level.choices}
LEVEL_LABELS: dict[int, str] = {value: str(label) for value, label in Level.choices}
LEVEL_NAMES.update(
    {
        "trace": Level.DEBUG,
        "information": Level.INFO,
        "informational": Level.INFO,
        "warn": Level.WARNING,
        "err": Level.ERROR,
        "crit": Level.CRITICAL,
        "fatal": Level.CRITICAL,
        "emerg": Level.EMERGENCY,
        "panic": Level.EMERGENCY,
    }
)
# An event among an alert's latest (a trigger's custom details, the alert page) is kept
# whole up to SUMMARY_WHOLE_BYTES of JSON; a larger one is cut: its message to
# SUMMARY_MESSAGE_CHARS, its first SUMMARY_ATTRIBUTES attributes, their names and texts to
# SUMMARY_TEXT_CHARS.
SUMMARY_WHOLE_BYTES = 1024
SUMMARY_MESSAGE_CHARS = 300
SUMMARY_ATTRIBUTES = 10
SUMMARY_TEXT_CHARS = 100


@dataclass(slots=True)
class Event:
    """One accepted event, normalised: a level by rank, attributes flat."""

    timestamp: float  # epoch seconds
    message: str = ""
    source: str = ""
    app: str = ""
    level: int = Level.INFO
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    _folded: str | None = None
    _summary: bytes | None = None

    @property
    def folded_message(self) -> str:
        """The message case-folded once, however many alerts look for text in it."""
        if self._folded is None:
            self._folded = self.message.casefold()
        return self._folded

    def summary(self) -> bytes:
        """The event as the latest events keep it (`shown` turns it into what a trigger's
        custom details and the alert page show): JSON, small and bounded. Made once per
        event, however many alerts keep it among their latest.

        It is an array (time, level, message, source, app, attributes), not the object
        shown: at thousands of alerts nearly every event is kept by some alert, and
        building the object for each cost more than all the rest of its counting. An event
        whose array is at most SUMMARY_WHOLE_BYTES is kept whole; a larger one is cut
        (`_cut`)."""
        if self._summary is None:
            kept = orjson.dumps(
                (self.timestamp, self.level, self.message, self.source, self.app, self.attributes)
            )
            self._summary = kept if len(kept) <= SUMMARY_WHOLE_BYTES else self._cut()
        return self._summary

    def _cut(self) -> bytes:
        message = self.message
        if len(message) > SUMMARY_MESSAGE_CHARS:
            message = message[:SUMMARY_MESSAGE_CHARS] + "…"
        attributes = _shown_attributes(self.attributes)
        return orjson.dumps(
            (self.timestamp, self.level, message, self.source, self.app, attributes)
        )


def shown(kept: Any) -> dict[str, Any]:
    """A kept event (`Event.summary`, as parsed from its JSON) as triggers and pages show
    it. An object is shown as it is: kept before the array form, or written by a test."""
    if not isinstance(kept, list):
        return dict(kept)
    timestamp, level, message, source, app, attributes = kept
    event: dict[str, Any] = {
        "timestamp": datetime.fromtimestamp(timestamp, UTC).isoformat(),
        "level": LEVEL_LABELS.get(level, str(level)),
        "message": message,
    }
    if source:
        event["source"] = source
    if app:
        event["app"] = app
    if attributes:
        event["attributes"] = attributes
    return event


def _shown_attributes(attributes: dict[str, AttributeValue]) -> dict[str, AttributeValue]:
    """The first SUMMARY_ATTRIBUTES attributes, names and texts cut to SUMMARY_TEXT_CHARS;
    the attributes themselves when nothing needs cutting (almost always: checked in one
    pass, without building a copy)."""
    if len(attributes) <= SUMMARY_ATTRIBUTES:
        for key, value in attributes.items():
            if len(key) > SUMMARY_TEXT_CHARS or (
                type(value) is str and len(value) > SUMMARY_TEXT_CHARS
            ):
                break
        else:
            return attributes
    return {
        key[:SUMMARY_TEXT_CHARS]: (value[:SUMMARY_TEXT_CHARS] if type(value) is str else value)
        for key, value in islice(attributes.items(), SUMMARY_ATTRIBUTES)
    }


def attribute_text(value: AttributeValue) -> str:
    """An attribute as text, the way a person types it in the alert form."""
    if type(value) is str:  # the common case, asked per event and rule
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


GROUP_VALUE_CHARS = 255  # as Firing.group holds it
_ABSENT: Any = object()


def group_reader(alert: Alert) -> Callable[[Event], str] | None:
    """A function giving an event's value of the alert's group field ("" if it has none),
    or None for an alert that counts all its events together."""
    if alert.group_by == GroupBy.SOURCE:
        return lambda e: e.source[:GROUP_VALUE_CHARS]
    if alert.group_by == GroupBy.APP:
        return lambda e: e.app[:GROUP_VALUE_CHARS]
    if alert.group_by == GroupBy.ATTRIBUTE and alert.group_attribute:
        name = alert.group_attribute

        def attribute(e: Event) -> str:
            value = e.attributes.get(name, _ABSENT)
            return "" if value is _ABSENT else attribute_text(value)[:GROUP_VALUE_CHARS]

        return attribute
    return None


Matcher = Callable[[Event], bool]


def compile_matcher(alert: Alert) -> Matcher:
    """A function telling whether an event counts for `alert`."""
    checks: list[Matcher] = []
    if alert.match_app:
        app = alert.match_app
        checks.append(lambda e: e.app == app)
    if alert.match_source:
        source = alert.match_source
        checks.append(lambda e: e.source == source)
    if alert.match_level is not None:
        level = alert.match_level
        checks.append(lambda e: e.level >= level)
    if alert.match_message and alert.match_message_regex:
        search = re2.compile(alert.match_message).search
        checks.append(lambda e: search(e.message) is not None)
    elif alert.match_message:
        needle = alert.match_message.casefold()
        checks.append(lambda e: needle in e.folded_message)
    if alert.match_attribute:
        key, wanted = alert.match_attribute, alert.match_attribute_value
        checks.append(
            lambda e: (
                (value := e.attributes.get(key, _ABSENT)) is not _ABSENT
                and attribute_text(value) == wanted
            )
        )
    # Cheap equality checks were added first, so a regex runs only when they pass.
    if not checks:
        return lambda e: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        one, two = checks
        return lambda e: one(e) and two(e)
    first, *rest = checks
    return lambda e: first(e) and all(check(e) for check in rest)


def describe(alert: Alert) -> str:
    """The match rules in words, e.g. "app is checkout, level error or above"."""
    parts = []
    if alert.match_app:
        parts.append(f"app is “{alert.match_app}”")
    if alert.match_source:
        parts.append(f"source is “{alert.match_source}”")
    if alert.match_level is not None:
        parts.append(f"level {Level(alert.match_level).label} or above")
    if alert.match_message:
        how = "matches" if alert.match_message_regex else "contains"
        parts.append(f"message {how} “{alert.match_message}”")
    if alert.match_attribute:
        parts.append(f"{alert.match_attribute} = “{alert.match_attribute_value}”")
    return ", ".join(parts) if parts else "every event"
