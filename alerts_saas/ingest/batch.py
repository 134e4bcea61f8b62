"""From a body's raw events (`parsing.py`) to accepted events, with a reason in words for
each refused one.

One bad event never costs the batch: each is judged alone, by its index. Nothing here
recurses on the input's nesting: an event nested deeper than MAX_DEPTH is refused alone,
whatever its depth.

The common event, from a clean body, with fields of the expected types and a timestamp in
the usual ISO 8601 form, is judged by hand (`_plain`), without building a model; any other
is judged by the schema's model (`EventIn`), whose words the answer gives. Both keep the
same (a property test compares them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from pydantic import ValidationError

from alerts_saas.alerts.conditions import LEVEL_NAMES, AttributeValue, Event
from alerts_saas.alerts.models import Level
from alerts_saas.ingest.parsing import Raw
from alerts_saas.ingest.repair import (
    INT64,
    KNOWN,
    as_text,
    clean_attributes,
    problems,
    repaired_attributes,
    shown,
    storable_event,
)
from alerts_saas.ingest.schema import MAX_DEPTH, EventIn, ItemProblem

LEVELS_IN_WORDS = ", ".join(label for _, label in Level.choices)
_NESTED = (dict, list)


@dataclass
class Judged:
    events: list[Event] = field(default_factory=list)
    errors: list[ItemProblem] = field(default_factory=list)
    notes: list[ItemProblem] = field(default_factory=list)


def too_deep(event: dict[Any, Any]) -> str | None:
    """The field of `event` that nests objects or arrays more than MAX_DEPTH levels deep
    (the event being the first), if one does. Iterative: any depth is safe."""
    pending = [(value, 2, name) for name, value in event.items() if isinstance(value, _NESTED)]
    while pending:
        value, level, name = pending.pop()
        if level > MAX_DEPTH:
            return str(name)
        for child in value.values() if isinstance(value, dict) else value:
            if isinstance(child, _NESTED):
                pending.append((child, level + 1, name))
    return None


def _too_deep_problem(index: int, name: str) -> ItemProblem:
    return ItemProblem(
        index=index,
        field=shown(name),
        message=f"This value nests objects or arrays more than {MAX_DEPTH} levels deep "
        "(counting the event itself); flatten it or send it as text.",
    )


@dataclass(frozen=True, slots=True)
class _Rules:
    """What judging a batch reads of the settings and the clock, read once per batch."""

    now: datetime
    now_ts: float
    max_future: float  # seconds
    max_age: float
    message_chars: int
    clean: bool

    @classmethod
    def at(cls, now: datetime, clean: bool) -> _Rules:
        return cls(
            now,
            now.timestamp(),
            settings.INGEST_MAX_FUTURE.total_seconds(),
            settings.INGEST_MAX_AGE.total_seconds(),
            settings.INGEST_MAX_MESSAGE_CHARS,
            clean,
        )


def judge(raw: Raw, now: datetime) -> Judged:
    """Validate and normalise each raw event."""
    judged = Judged()
    rules = _Rules.at(now, raw.clean)
    events = judged.events
    for index, item in enumerate(raw.items):
        fields = _plain(item) if rules.clean else None
        if fields is not None:
            event = _normalise(index, *fields, rules, judged, [])
        else:
            event = _modelled(index, item, rules, judged)
        if event is not None:
            events.append(event)
    judged.errors.sort(key=lambda problem: problem.index)
    return judged


# A timestamp in the form senders use (RFC 3339), which the model and the standard library
# read alike; any other form is left to the model.
_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)?")
_SCALARS = frozenset({str, float, bool, type(None)})


def _max_length(name: str) -> int:
    return next(rule.max_length for rule in EventIn.model_fields[name].metadata)


_MAX_SOURCE, _MAX_HOST, _MAX_APP = (_max_length(name) for name in ("source", "host", "app"))
_NO_ATTRIBUTES: dict[str, Any] = {}

Fields = tuple[str | None, datetime | None, str, str, str, dict[str, AttributeValue]]


def _plain(item: Any) -> Fields | None:
    """An event's level, time, message, source, app and attributes (its unknown fields
    among them), when it is plain: an object of a clean body whose fields have the types
    the schema takes, whose timestamp (if any) is RFC 3339, and that nests nothing too deep.
    None for anything else: the model judges it, in its words."""
    if type(item) is not dict:
        return None
    get = item.get
    message = get("message", "")
    level, source, host, app = get("level"), get("source"), get("host"), get("app")
    if (
        type(message) is not str
        or (level is not None and type(level) is not str)
        or (source is not None and (type(source) is not str or len(source) > _MAX_SOURCE))
        or (host is not None and (type(host) is not str or len(host) > _MAX_HOST))
        or (app is not None and (type(app) is not str or len(app) > _MAX_APP))
    ):
        return None
    stamp = get("timestamp")
    if stamp is not None:
        if type(stamp) is not str or _ISO_TIME.fullmatch(stamp) is None:
            return None
        try:
            stamp = datetime.fromisoformat(stamp)
        except ValueError:
            return None
    given = get("attributes", _NO_ATTRIBUTES)
    if type(given) is not dict:
        return None
    attributes: dict[str, AttributeValue] = {}
    for key, value in given.items():
        if type(value) is int:
            if value not in INT64:
                value = str(value)
        elif type(value) not in _SCALARS:
            return None
        attributes[key] = value
    extra = item.keys() - KNOWN
    if extra:
        for key, value in item.items():
            # Unknown fields are kept as attributes; explicit attributes win a clash.
            if key in KNOWN or key in attributes:
                continue
            if type(value) is int:
                if value not in INT64:
                    value = str(value)
            elif type(value) in _NESTED:
                if too_deep({key: value}) is not None:
                    return None
                value = as_text(value)
            attributes[key] = value
    return level, stamp, message, source or host or "", app or "", attributes


def _modelled(index: int, item: Any, rules: _Rules, judged: Judged) -> Event | None:
    """An event judged by the schema's model: refused with its words, or normalised."""
    if not isinstance(item, dict):
        judged.errors.append(ItemProblem(index=index, message="An event must be a JSON object."))
        return None
    name = too_deep(item)
    if name is not None:
        judged.errors.append(_too_deep_problem(index, name))
        return None
    repaired: list[str] = []
    unknown: dict[str, Any] = {}
    if not rules.clean:  # only such a body can hold what a store refuses
        item, unknown = storable_event(item, repaired)
    try:
        model = EventIn.model_validate(item)
    except ValidationError as exc:
        judged.errors.extend(problems(index, exc))
        return None
    if rules.clean:
        attributes = clean_attributes(model)
    else:
        attributes = repaired_attributes(model, unknown, repaired)
    source, app = model.source or model.host or "", model.app or ""
    fields = (model.level, model.timestamp, model.message, source, app, attributes)
    return _normalise(index, *fields, rules, judged, repaired)


def _normalise(
    index: int,
    level_name: str | None,
    stamp: datetime | None,
    message: str,
    source: str,
    app: str,
    attributes: dict[str, AttributeValue],
    rules: _Rules,
    judged: Judged,
    repaired: list[str],
) -> Event | None:
    """The event, or None with the reason in `judged`: a level by rank, a time within
    bounds, a message cut to size. `repaired` names the fields whose strings were made
    storable, each said in a note if the event is accepted."""
    level: int = Level.INFO
    if level_name is not None:
        named = LEVEL_NAMES.get(level_name) or LEVEL_NAMES.get(level_name.strip().lower())
        if named is None:
            judged.errors.append(
                ItemProblem(
                    index=index,
                    field="level",
                    message=f"“{shown(level_name[:50])}” is not a level we know. Use one of "
                    f"{LEVELS_IN_WORDS}.",
                )
            )
            return None
        level = named
    timestamp = rules.now_ts if stamp is None else _when(index, stamp, rules, judged)
    if timestamp is None:
        return None
    limit = rules.message_chars
    if len(message) > limit:
        judged.notes.append(
            ItemProblem(
                index=index,
                field="message",
                message=f"The message had {len(message):,} characters; the first {limit:,} "
                "were kept.",
            )
        )
        message = message[:limit]
    for where in dict.fromkeys(repaired):
        judged.notes.append(
            ItemProblem(
                index=index,
                field=where,
                message="NUL characters and unpaired surrogates can't be stored; "
                "each was replaced with �.",
            )
        )
    return Event(timestamp, message, source, app, level, attributes)


def _when(index: int, stamp: datetime, rules: _Rules, judged: Judged) -> float | None:
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    when = stamp.timestamp()
    ahead = when - rules.now_ts
    if -rules.max_age <= ahead <= rules.max_future:
        return when
    words = out_of_bounds(stamp.isoformat(), ahead, rules.max_future, rules.max_age, "events")
    judged.errors.append(ItemProblem(index=index, field="timestamp", message=words))
    return None


def out_of_bounds(sent: str, ahead: float, max_future: float, max_age: float, things: str) -> str:
    """Why the time `sent` (ISO 8601, with its offset), `ahead` seconds ahead of our clock
    (behind it if negative), is refused: the words events and changes share. Called only
    for a time outside the bounds, so an accepted event's time costs no call."""
    if ahead > max_future:
        return (
            f"{sent} is {span(ahead)} ahead of our clock; at most "
            f"{span(max_future)} is accepted. Is the sender's clock right?"
        )
    return f"{sent} is {span(-ahead)} old; {things} older than {span(max_age)} are refused."


def span(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    n = int(seconds)
    return f"{n} second{'s' if n != 1 else ''}"
