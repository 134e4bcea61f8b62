"""From a request body to accepted events, with a reason in words for each refused one.

One bad event never costs the batch: each is judged alone, by its index. The common case,
a clean batch, is validated in one pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from django.conf import settings
from pydantic import TypeAdapter, ValidationError

from alerts_saas.alerts.conditions import LEVEL_NAMES, AttributeValue, Event
from alerts_saas.alerts.models import Level
from alerts_saas.ingest.schema import EventIn, ItemProblem

_BATCH = TypeAdapter(list[EventIn])
LEVELS_IN_WORDS = ", ".join(label for _, label in Level.choices)
MAX_EXTRA_CHARS = 1000


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


def parse(body: bytes) -> list[Any]:
    """The list of raw events in a body: a JSON array, or an object with `events`."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        data = _strict_json(body, exc)
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
    return data


def _strict_json(body: bytes, fast_error: Exception) -> Any:
    """The body through the standard parser, which also takes integers beyond 64 bits;
    refused in words if that fails too."""
    try:
        return json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise Refused(400, f"The body is not valid JSON ({fast_error}).") from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _problems(index: int, error: ValidationError) -> list[ItemProblem]:
    problems = []
    for detail in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in detail["loc"]) or None
        message = detail["msg"]
        if detail["type"] == "string_unicode":
            message = (
                "A field name is not valid Unicode: it holds an unpaired surrogate "
                "(\\ud800 to \\udfff)."
            )
        problems.append(ItemProblem(index=index, field=where, message=message))
    return problems


def judge(raw: list[Any], now: datetime) -> Judged:
    """Validate and normalise each raw event."""
    judged = Judged()
    try:
        models: list[EventIn | None] = list(_BATCH.validate_python(raw))
    except ValidationError:
        models = []
        for index, item in enumerate(raw):
            if not isinstance(item, dict):
                judged.errors.append(
                    ItemProblem(index=index, message="An event must be a JSON object.")
                )
                models.append(None)
                continue
            try:
                models.append(EventIn.model_validate(item))
            except ValidationError as exc:
                judged.errors.extend(_problems(index, exc))
                models.append(None)
    for index, model in enumerate(models):
        if model is not None:
            event = _normalise(index, model, now, judged)
            if event is not None:
                judged.events.append(event)
    judged.errors.sort(key=lambda problem: problem.index)
    return judged


def _when(index: int, model: EventIn, now: datetime, judged: Judged) -> float | None:
    stamp = model.timestamp
    if stamp is None:
        return now.timestamp()
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    if stamp - now > settings.INGEST_MAX_FUTURE:
        ahead = stamp - now
        judged.errors.append(
            ItemProblem(
                index=index,
                field="timestamp",
                message=f"{stamp.isoformat()} is {_span(ahead.total_seconds())} ahead of our "
                f"clock; at most {_span(settings.INGEST_MAX_FUTURE.total_seconds())} is accepted. "
                "Is the sender's clock right?",
            )
        )
        return None
    if now - stamp > settings.INGEST_MAX_AGE:
        judged.errors.append(
            ItemProblem(
                index=index,
                field="timestamp",
                message=f"{stamp.isoformat()} is {_span((now - stamp).total_seconds())} old; "
                f"events older than {_span(settings.INGEST_MAX_AGE.total_seconds())} are refused.",
            )
        )
        return None
    return stamp.timestamp()


def _span(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    n = int(seconds)
    return f"{n} second{'s' if n != 1 else ''}"


def _normalise(index: int, model: EventIn, now: datetime, judged: Judged) -> Event | None:
    level: int = Level.INFO
    if model.level is not None:
        named = LEVEL_NAMES.get(model.level.strip().lower())
        if named is None:
            judged.errors.append(
                ItemProblem(
                    index=index,
                    field="level",
                    message=f"“{model.level[:50]}” is not a level we know. Use one of "
                    f"{LEVELS_IN_WORDS}.",
                )
            )
            return None
        level = named
    timestamp = _when(index, model, now, judged)
    if timestamp is None:
        return None
    repaired: list[bool] = []
    message = _storable(model.message, repaired)
    limit = settings.INGEST_MAX_MESSAGE_CHARS
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
    attributes = {
        _storable(key, repaired): _fit(value, repaired) for key, value in model.attributes.items()
    }
    for key, value in (model.model_extra or {}).items():
        # Unknown fields are kept as attributes; explicit attributes win a clash.
        key = _storable(key, repaired)
        if key not in attributes:
            attributes[key] = (
                _fit(value, repaired) if _is_scalar(value) else _storable(_as_text(value), repaired)
            )
    event = Event(
        timestamp=timestamp,
        message=message,
        source=_storable(model.source or model.host or "", repaired),
        app=_storable(model.app or "", repaired),
        level=level,
        attributes=attributes,
    )
    if repaired:
        judged.notes.append(
            ItemProblem(
                index=index,
                message="NUL characters and unpaired surrogates can't be stored; "
                "each was replaced with �.",
            )
        )
    return event


def _storable(text: str, repaired: list[bool]) -> str:
    """`text` without what PostgreSQL and UTF-8 refuse: NUL, and lone surrogates (which
    only the standard parser lets through). Appends to `repaired` when it changed anything."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
        repaired.append(True)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in text)
            repaired.append(True)
    return text


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _fit(value: AttributeValue, repaired: list[bool]) -> AttributeValue:
    """Integers beyond 64 bits are kept as text: stores and PagerDuty take no bigger."""
    if isinstance(value, str):
        return _storable(value, repaired)
    if isinstance(value, int) and not isinstance(value, bool) and not (-(2**63) <= value < 2**63):
        return str(value)
    return value


def _as_text(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= MAX_EXTRA_CHARS else text[:MAX_EXTRA_CHARS] + "…"
