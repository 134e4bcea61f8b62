"""From a request body to accepted events, with a reason in words for each refused one.

One bad event never costs the batch: each is judged alone, by its index. The common case,
a clean batch, is validated in one pass. Nothing here recurses on the input's nesting: an
event nested deeper than MAX_DEPTH is refused alone, whatever its depth.
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
from pydantic import TypeAdapter, ValidationError

from alerts_saas.alerts.conditions import LEVEL_NAMES, AttributeValue, Event
from alerts_saas.alerts.models import Level
from alerts_saas.ingest.schema import MAX_DEPTH, EventIn, ItemProblem

_BATCH = TypeAdapter(list[EventIn])
LEVELS_IN_WORDS = ", ".join(label for _, label in Level.choices)
MAX_EXTRA_CHARS = 1000
# Before a body too deep for the parsers is parsed, what opens deeper than this (counting
# the batch's own brackets) is cut out: each event it was in is still deeper than
# MAX_DEPTH, so it is refused, and the parsers never go deeper than this.
CUT_DEPTH = MAX_DEPTH + 8
# A JSON string, or a run of opening or closing brackets.
_STRUCTURE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]+|[\]}]+', re.DOTALL)
_OPENING = frozenset(b"[{")
_QUOTE = ord('"')
_NESTED = (dict, list)
UNPAIRED = "it holds an unpaired surrogate (\\ud800 to \\udfff)"


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


def _problems(index: int, error: ValidationError, item: dict[Any, Any]) -> list[ItemProblem]:
    problems = []
    for detail in error.errors(include_url=False, include_input=False):
        if detail["type"] == "string_unicode" and not detail["loc"]:
            continue  # a field name: said below, by name
        where = ".".join(shown(str(part)) for part in detail["loc"]) or None
        message = detail["msg"]
        if detail["type"] == "string_unicode":
            message = f"This value is not valid Unicode: {UNPAIRED}."
        problems.append(ItemProblem(index=index, field=where, message=message))
    for name in item:
        if isinstance(name, str) and not _encodable(name):
            problems.append(
                ItemProblem(
                    index=index,
                    field=shown(name),
                    message=f"This field name is not valid Unicode: {UNPAIRED}.",
                )
            )
    return problems


def _encodable(text: str) -> bool:
    """Whether `text` has no unpaired surrogate (only the standard parser lets one in)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(text: str) -> str:
    """`text` fit to be shown in an answer: NUL and unpaired surrogates written as the
    JSON escapes that sent them."""
    if "\x00" not in text and _encodable(text):
        return text
    return "".join(
        f"\\u{ord(char):04x}" if char == "\x00" or "\ud800" <= char <= "\udfff" else char
        for char in text
    )


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
    for model_index, model in _validated(raw.items, judged):
        event = _normalise(model_index, model, rules, judged)
        if event is not None:
            judged.events.append(event)
    judged.errors.sort(key=lambda problem: problem.index)
    return judged


def _validated(raw: list[Any], judged: Judged) -> list[tuple[int, EventIn]]:
    """The events that fit the schema, by index; the others' reasons go to `judged`."""
    deep = {}
    for index, item in enumerate(raw):
        if isinstance(item, dict) and (name := too_deep(item)) is not None:
            deep[index] = name
    if not deep:
        try:
            return list(enumerate(_BATCH.validate_python(raw)))
        except ValidationError:
            pass
    valid = []
    for index, item in enumerate(raw):
        if index in deep:
            judged.errors.append(_too_deep_problem(index, deep[index]))
        elif not isinstance(item, dict):
            judged.errors.append(
                ItemProblem(index=index, message="An event must be a JSON object.")
            )
        else:
            try:
                valid.append((index, EventIn.model_validate(item)))
            except ValidationError as exc:
                judged.errors.extend(_problems(index, exc, item))
    return valid


def _when(index: int, model: EventIn, rules: _Rules, judged: Judged) -> float | None:
    stamp = model.timestamp
    if stamp is None:
        return rules.now_ts
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


def _normalise(index: int, model: EventIn, rules: _Rules, judged: Judged) -> Event | None:
    level: int = Level.INFO
    if model.level is not None:
        named = LEVEL_NAMES.get(model.level) or LEVEL_NAMES.get(model.level.strip().lower())
        if named is None:
            judged.errors.append(
                ItemProblem(
                    index=index,
                    field="level",
                    message=f"“{shown(model.level[:50])}” is not a level we know. Use one of "
                    f"{LEVELS_IN_WORDS}.",
                )
            )
            return None
        level = named
    timestamp = _when(index, model, rules, judged)
    if timestamp is None:
        return None
    repaired: list[str] = []
    message = model.message
    if not rules.clean:
        message = _storable(message, repaired, "message")
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
    if rules.clean:
        attributes = _clean_attributes(model)
        source, app = model.source or model.host or "", model.app or ""
    else:
        attributes = _repaired_attributes(model, repaired)
        source = _storable(
            model.source or model.host or "", repaired, "source" if model.source else "host"
        )
        app = _storable(model.app or "", repaired, "app")
    event = Event(
        timestamp=timestamp,
        message=message,
        source=source,
        app=app,
        level=level,
        attributes=attributes,
    )
    for where in dict.fromkeys(repaired):
        judged.notes.append(
            ItemProblem(
                index=index,
                field=where,
                message="NUL characters and unpaired surrogates can't be stored; "
                "each was replaced with �.",
            )
        )
    return event


def _clean_attributes(model: EventIn) -> dict[str, AttributeValue]:
    """The event's attributes and unknown fields, from a clean body: no string needs
    repair, so only integers beyond 64 bits and nested values are looked at."""
    attributes: dict[str, AttributeValue] = dict(model.attributes)
    for key, value in attributes.items():
        if type(value) is int and not -(2**63) <= value < 2**63:
            attributes[key] = str(value)
    extra = model.model_extra
    if extra:
        for key, value in extra.items():
            # Unknown fields are kept as attributes; explicit attributes win a clash.
            if key not in attributes:
                if type(value) is int and not -(2**63) <= value < 2**63:
                    value = str(value)
                elif not _is_scalar(value):
                    value = _as_text(value)
                attributes[key] = value
    return attributes


def _repaired_attributes(model: EventIn, repaired: list[str]) -> dict[str, AttributeValue]:
    """The event's attributes and unknown fields, each string made storable."""
    attributes: dict[str, AttributeValue] = {}
    for key, value in model.attributes.items():
        where = f"attributes.{shown(key)}"
        attributes[_storable(key, repaired, where)] = _fit(value, repaired, where)
    for key, value in (model.model_extra or {}).items():
        # Unknown fields are kept as attributes; explicit attributes win a clash.
        where = shown(key)
        key = _storable(key, repaired, where)
        if key not in attributes:
            attributes[key] = (
                _fit(value, repaired, where)
                if _is_scalar(value)
                else _storable(_as_text(value), repaired, where)
            )
    return attributes


def _storable(text: str, repaired: list[str], where: str) -> str:
    """`text` without what PostgreSQL and UTF-8 refuse: NUL, and lone surrogates (which
    only the standard parser lets through). Appends `where` to `repaired` when it changed
    anything."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
        repaired.append(where)
    if not _encodable(text):
        text = "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in text)
        repaired.append(where)
    return text


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _fit(value: AttributeValue, repaired: list[str], where: str) -> AttributeValue:
    """Integers beyond 64 bits are kept as text: stores and PagerDuty take no bigger."""
    if isinstance(value, str):
        return _storable(value, repaired, where)
    if isinstance(value, int) and not isinstance(value, bool) and not (-(2**63) <= value < 2**63):
        return str(value)
    return value


def _as_text(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= MAX_EXTRA_CHARS else text[:MAX_EXTRA_CHARS] + "…"
