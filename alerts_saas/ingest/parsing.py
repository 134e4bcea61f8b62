"""From a request body to the raw events it holds, or `Refused` with why in words.

Nothing here recurses on the input's nesting: a body too deep for the parsers is cut to
CUT_DEPTH first (what is cut was in an event that is refused for its depth anyway).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings

from alerts_saas.ingest.schema import MAX_DEPTH

# Before a body too deep for the parsers is parsed, what opens deeper than this (counting
# the batch's own brackets) is cut out: each event it was in is still deeper than
# MAX_DEPTH, so it is refused, and the parsers never go deeper than this.
CUT_DEPTH = MAX_DEPTH + 8
# A JSON string, or a run of opening or closing brackets.
_STRUCTURE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]+|[\]}]+', re.DOTALL)
_OPENING = frozenset(b"[{")
_QUOTE = ord('"')


class Refused(Exception):
    """The request as a whole can't be taken; `status` and `message` say why, and `headers`
    go with the answer (Retry-After, WWW-Authenticate)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True, slots=True)
class Raw:
    """A body's raw events, and whether its text can hold nothing a store refuses: parsed
    by orjson (which lets no unpaired surrogate through) with no escaped NUL. Then no string
    in it needs repair, and judging skips looking at each."""

    items: list[Any]
    clean: bool


def parse(body: bytes) -> Raw:
    """The raw events in a body: a JSON array, or an object with `events`."""
    data, clean = load(body)
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
    return Raw(data, clean)


def load(body: bytes) -> tuple[Any, bool]:
    """The parsed body, whatever its shape, and whether it is clean (`Raw.clean`)."""
    data, fast = _load(body)
    return data, fast and b"\\u0000" not in body


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
