"""PagerDuty's Events API v2: building events within its documented limits, and sending.

Limits (events-API-v2 docs): summary at most 1024 characters, dedup_key at most 255, the
whole event at most 512 KB. Custom details are trimmed first, with a note saying so.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.conf import settings

from integrations.pagerduty import conf, sender

MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255
MAX_EVENT_BYTES = 512 * 1024
SEVERITIES = ("critical", "error", "warning", "info")
TRIM_MARK = "…"
JSON_HEADERS = {"Content-Type": "application/json"}


def fit_dedup_key(key: str) -> str:
    """A dedup key within 255 characters, the same for the same input (trigger = resolve)."""
    if len(key) <= MAX_DEDUP_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: MAX_DEDUP_KEY - len(digest) - 1]}-{digest}"


def encode(event: dict[str, Any]) -> bytes:
    """The event as it goes on the wire (compact UTF-8 JSON); sizes are measured on exactly
    this. orjson, unless a number is beyond its 64 bits."""
    try:
        return orjson.dumps(event)
    except TypeError:
        return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def _size(event: dict[str, Any]) -> int:
    return len(encode(event))


def fit_event(event: dict[str, Any], routing_key_length: int = 32) -> tuple[dict[str, Any], str]:
    """Return the event cut to PagerDuty's limits, and a note of what was cut ('' if none).

    The size counted includes the routing_key that is added when sending.
    """
    event = json.loads(json.dumps(event))  # a deep copy that is surely JSON
    notes: list[str] = []
    if "dedup_key" in event:
        event["dedup_key"] = fit_dedup_key(str(event["dedup_key"]))
    payload = event.get("payload")
    if isinstance(payload, dict) and len(str(payload.get("summary", ""))) > MAX_SUMMARY:
        payload["summary"] = str(payload["summary"])[: MAX_SUMMARY - 1] + TRIM_MARK
        notes.append("summary cut to 1024 characters")
    budget = MAX_EVENT_BYTES - len(f',"routing_key":"{"x" * routing_key_length}"')
    if _size(event) > budget and isinstance(payload, dict):
        details = payload.get("custom_details")
        if isinstance(details, dict):
            removed = _trim_details(event, details, budget)
            notes.append(f"custom details trimmed by {removed} bytes to fit 512 KB")
            details["_trimmed"] = (
                "Some custom details were shortened to fit PagerDuty's 512 KB event limit."
            )
            while _size(event) > budget and details:
                details.pop(next(iter(details)))
    if _size(event) > budget and isinstance(payload, dict):
        payload.pop("custom_details", None)
        notes.append("custom details removed to fit 512 KB")
    return event, "; ".join(notes)


def _trim_details(event: dict[str, Any], details: dict[str, Any], budget: int) -> int:
    """Shorten the largest custom detail values until the event fits the budget."""
    removed = 0
    margin = 200  # room for the note added afterwards
    while _size(event) > budget - margin:
        sizes = {k: len(json.dumps(v, ensure_ascii=False).encode()) for k, v in details.items()}
        if not sizes:
            break
        key = max(sizes, key=lambda k: sizes[k])
        excess = _size(event) - (budget - margin)
        text = details[key] if isinstance(details[key], str) else json.dumps(details[key])
        keep = max(0, len(text.encode()) - excess - 16)
        shortened = text.encode()[:keep].decode(errors="ignore") + TRIM_MARK
        if len(shortened) >= len(text):  # cannot shorten further: drop it
            removed += sizes.pop(key)
            del details[key]
            continue
        removed += sizes[key] - len(json.dumps(shortened, ensure_ascii=False).encode())
        details[key] = shortened
    return removed


@dataclass
class EventResult:
    """What PagerDuty answered to one event, or why there was no answer."""

    status: int | None
    message: str = ""
    errors: list[str] = field(default_factory=list)
    dedup_key: str = ""
    latency_ms: int = 0
    network_error: str = ""

    @property
    def accepted(self) -> bool:
        return self.status == 202

    @property
    def rejected(self) -> bool:
        """Failed for good: the event itself is wrong (400 and other 4xx but 429)."""
        return self.status is not None and 400 <= self.status < 500 and self.status != 429


def _options() -> sender.Options:
    return sender.Options(
        concurrency=settings.DELIVERY_SEND_CONCURRENCY,
        connect_timeout=5.0,
        read_timeout=float(settings.PAGERDUTY_HTTP_TIMEOUT),
        headers=(
            ("User-Agent", f"{settings.PRODUCT_NAME.lower()}-delivery/1"),
            *JSON_HEADERS.items(),
        ),
    )


def send_many(
    sends: list[tuple[str, str, dict[str, Any]]],
) -> tuple[Future[list[sender.Answer]], list[bool]]:
    """POST each (region, routing key, event) to its region's Events API, concurrently (at
    most DELIVERY_SEND_CONCURRENCY per process): alert events to /v2/enqueue, change events
    (PagerDuty's shape has no event_action) to /v2/change/enqueue. Returns the future
    answers, in order (`result` reads one), and flags that turn true as each answer arrives."""
    posts = [
        (
            f"{conf.region(region).events_url}{_path(event)}",
            encode({**event, "routing_key": key}),
        )
        for region, key, event in sends
    ]
    return sender.sender(_options()).post_all(posts)


def _path(event: dict[str, Any]) -> str:
    return "/v2/enqueue" if "event_action" in event else "/v2/change/enqueue"


def result(answer: sender.Answer) -> EventResult:
    """What PagerDuty's answer says (never raises)."""
    if answer.status is None:
        reason = (
            "PagerDuty did not answer in time."
            if answer.error == "timeout"
            else f"Could not reach PagerDuty ({answer.error})."
        )
        return EventResult(None, network_error=reason, latency_ms=answer.latency_ms)
    try:
        parsed = orjson.loads(answer.body)
    except ValueError:
        parsed = {}
    body = parsed if isinstance(parsed, dict) else {}
    return EventResult(
        status=answer.status,
        message=str(body.get("message") or answer.reason or "")[:500],
        errors=[str(e) for e in body.get("errors") or []],
        dedup_key=str(body.get("dedup_key") or ""),
        latency_ms=answer.latency_ms,
    )
