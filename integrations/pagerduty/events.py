"""PagerDuty's Events API v2: building events within its documented limits, and sending.

Limits (events-API-v2 docs): summary at most 1024 characters, dedup_key at most 255, the
whole event at most 512 KB. Custom details are trimmed first, with a note saying so.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.request import getproxies  # what requests.utils.getproxies is

import certifi
import orjson
import urllib3
from django.conf import settings

from integrations.pagerduty import conf

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


_pools: dict[int, urllib3.PoolManager] = {}


def _pool() -> urllib3.PoolManager:
    """This process's connection pools (made after a prefork worker forks), shared by its
    sending threads. urllib3 directly: a third of the CPU per event that requests costs.

    Proxy settings are read from the environment once, as requests would read them.
    """
    pid = os.getpid()
    if pid not in _pools:
        options: dict[str, Any] = {
            "num_pools": 8,
            "maxsize": max(4, settings.DELIVERY_SEND_CONCURRENCY),
            "retries": False,
            "ca_certs": certifi.where(),
            "headers": {
                "User-Agent": f"{settings.PRODUCT_NAME.lower()}-delivery/1",
                **JSON_HEADERS,
            },
        }
        proxies = getproxies()
        proxy = proxies.get("https") or proxies.get("http")
        _pools[pid] = (
            urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)
        )
    return _pools[pid]


def _timeout() -> urllib3.Timeout:
    return urllib3.Timeout(connect=5, read=settings.PAGERDUTY_HTTP_TIMEOUT)


def send(region: str, routing_key: str, event: dict[str, Any]) -> EventResult:
    """POST one event to the Events API of `region`. Never raises for HTTP or network faults."""
    url = f"{conf.region(region).events_url}/v2/enqueue"
    body = {**event, "routing_key": routing_key}
    started = time.monotonic()
    try:
        response = _pool().request("POST", url, body=encode(body), timeout=_timeout())
    except urllib3.exceptions.TimeoutError:
        return EventResult(
            None,
            network_error="PagerDuty did not answer in time.",
            latency_ms=int((time.monotonic() - started) * 1000),
        )
    except urllib3.exceptions.HTTPError as exc:
        return EventResult(
            None,
            network_error=f"Could not reach PagerDuty ({_reason(exc)}).",
            latency_ms=int((time.monotonic() - started) * 1000),
        )
    latency = int((time.monotonic() - started) * 1000)
    try:
        answer = orjson.loads(response.data)
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    return EventResult(
        status=response.status,
        message=str(answer.get("message") or response.reason or "")[:500],
        errors=[str(e) for e in answer.get("errors") or []],
        dedup_key=str(answer.get("dedup_key") or ""),
        latency_ms=latency,
    )


def _reason(exc: urllib3.exceptions.HTTPError) -> str:
    """The underlying cause's class name (a refused or dropped connection), as people
    searching logs know it."""
    cause = getattr(exc, "reason", None) or exc
    if isinstance(cause, urllib3.exceptions.NewConnectionError):
        return "ConnectionError"
    if isinstance(cause, urllib3.exceptions.ProtocolError | ConnectionResetError):
        return "ConnectionError"
    return cause.__class__.__name__
