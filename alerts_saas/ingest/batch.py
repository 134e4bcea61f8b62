"""From a request body to accepted events, with a reason in words for each refused one.

One bad event never costs the batch: each is judged alone, by its index. Nothing here
recurses on the input's nesting: an event nested deeper than MAX_DEPTH is refused alone,
whatever its depth.

The common event, from a clean body, with fields of the expected types and a timestamp in
the usual ISO 8601 form, is judged by hand (`_plain`), without building a model; any other
is judged by the schema's model (`EventIn`), whose words the answer gives. Both keep the
same (a property test compares them).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from django.conf import settings
from pydantic import ValidationError

from alerts_saas.alerts.conditions import LEVEL_NAMES, AttributeValue, Event
from alerts_saas.alerts.models import Level
from alerts_saas.ingest.repair import (
    INT64,
    as_text,
    clean_attributes,
    problems,
    repaired_attributes,
    shown,
    storable,
)
from alerts_saas.ingest.schema import MAX_DEPTH, EventIn, ItemProblem

LEVELS_IN_WORDS = ", ".join(label for _, label in Level.choices)
# Before a body too deep for the parsers is parsed, what opens deeper than this (counting
# the batch's own brackets) is cut out: each event it was in is still deeper than
# MAX_DEPTH, so it is refused, and the parsers never go deeper than this.
CUT_DEPTH = MAX_DEPTH + 8
# A JSON string, or a run of opening or closing brackets.
_STRUCTURE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]+|[\]}]+', re.DOTALL)
_OPENING = frozenset(b"[{")
_QUOTE = ord('"')
_NESTED = (dict, list)


class Refused(Exception):
    """The request as a whole can't be taken; `status` and `message` say why, and `headers`
    go with the answer (Retry-After, WWW-Authenticate)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass
class Judged:
    events: list[Event] = field(default_factory=list)
    errors: list[ItemProblem] = field(default_factory=list)
    notes: list[ItemProblem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Raw:
    """A body's raw events, and whether its text can hold nothing a store refuses: parsed
    by orjson (which lets no unpaired surrogate through) with no escaped NUL. Then no string
    in it needs repair, and judging skips looking at each."""

    items: list[Any]
    clean: bool


def parse(body: bytes) -> Raw:
    """The raw events in a body: a JSON array, or an object with `events`."""
    data, fast = _load(body)
    if isinstance(data, dict) and isinstance(data.get("events"), list):
        data = data["events"]
    if not isinstance(data, list):
        raise Refused(
            400, "Send a JSON array of events, or an object whose “events” is an array of events."
        )
    if not data:
        raise Refused(400, "The batch is empty: send at least one event.")
    if len(data) > settings.INGEST_MAX_BATCH:
        raise Refused(
            413,
            f"A batch holds at most {settings.INGEST_MAX_BATCH} events; "
            f"this one has {len(data)}. Send it in smaller batches.",
        )
    return Raw(data, fast and b"\\u0000" not in body)


def _load(body: bytes) -> tuple[Any, bool]:
    """The parsed body, and whether orjson parsed it. orjson takes the common case; a body
    it refuses (integers beyond 64 bits, lone surrogates, numbers beyond a double, more than
    1,024 levels) goes to the standard parser, and one too deep for that is cut to CUT_DEPTH
    first."""
    try:
        return orjson.loads(body), True
    except orjson.JSONDecodeError as exc:
        fast_error = exc
    try:
        return _standard(body), False
    except RecursionError:
        pass
    except ValueError:
        raise Refused(400, f"The body is not valid JSON ({fast_error}).") from None
    shallow = cut_deep(body, CUT_DEPTH)
    try:
        return orjson.loads(shallow), False
    except orjson.JSONDecodeError:
        pass
    try:
        return _standard(shallow), False
    except (ValueError, RecursionError):
        raise Refused(400, f"The body is not valid JSON ({fast_error}).") from None


def _standard(body: bytes) -> Any:
    """The standard parser, which takes integers beyond 64 bits and lone surrogates."""
    return json.loads(body, parse_constant=_no_constant, parse_float=_float)


def cut_deep(body: bytes, depth: int) -> bytes:
    """`body` with each object or array that opens deeper than `depth` replaced by `null`.

    One pass over the brackets outside strings, without recursion. What is cut need not be
    valid JSON: the event that held it is refused for its depth anyway. Brackets that don't
    balance are left for the parser to refuse.
    """
    level = 0
    start = -1  # where the part being cut began, if one is
    kept: list[bytes] = []
    done = 0  # the body before this is in `kept`
    for match in _STRUCTURE.finditer(body):
        first, run = body[match.start()], match.end() - match.start()
        if first == _QUOTE:
            continue
        if first in _OPENING:
            if start < 0 and level + run > depth:
                start = match.start() + depth - level
            level += run
            continue
        if start >= 0 and level - run <= depth:
            kept += [body[done:start], b"null"]
            done = match.start() + level - depth
            start = -1
        level = max(level - run, 0)
    if start >= 0:  # never closed: the parser will say so
        kept += [body[done:start], b"null"]
        done = len(body)
    if not kept:
        return body
    kept.append(body[done:])
    return b"".join(kept)


def _float(text: str) -> float | str:
    """A number beyond a double is kept as its text, as integers beyond 64 bits are."""
    number = float(text)
    return number if math.isfinite(number) else text


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


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
_KNOWN = frozenset(EventIn.model_fields)
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
    extra = item.keys() - _KNOWN
    if extra:
        for key, value in item.items():
            # Unknown fields are kept as attributes; explicit attributes win a clash.
            if key in _KNOWN or key in attributes:
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
    try:
        model = EventIn.model_validate(item)
    except ValidationError as exc:
        judged.errors.extend(problems(index, exc, item))
        return None
    repaired: list[str] = []
    if rules.clean:
        message = model.message
        attributes = clean_attributes(model)
        source, app = model.source or model.host or "", model.app or ""
    else:
        message = storable(model.message, repaired, "message")
        attributes = repaired_attributes(model, repaired)
        source = storable(
            model.source or model.host or "", repaired, "source" if model.source else "host"
        )
        app = storable(model.app or "", repaired, "app")
    fields = (model.level, model.timestamp, message, source, app, attributes)
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
    if when - rules.now_ts > rules.max_future:
        judged.errors.append(
            ItemProblem(
                index=index,
                field="timestamp",
                message=f"{stamp.isoformat()} is {_span(when - rules.now_ts)} ahead of our "
                f"clock; at most {_span(rules.max_future)} is accepted. "
                "Is the sender's clock right?",
            )
        )
        return None
    if rules.now_ts - when > rules.max_age:
        judged.errors.append(
            ItemProblem(
                index=index,
                field="timestamp",
                message=f"{stamp.isoformat()} is {_span(rules.now_ts - when)} old; "
                f"events older than {_span(rules.max_age)} are refused.",
            )
        )
        return None
    return when


def _span(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    n = int(seconds)
    return f"{n} second{'s' if n != 1 else ''}"
