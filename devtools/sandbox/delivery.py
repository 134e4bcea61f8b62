"""Webhooks v3 delivery, as webhooks--02-Behavior.md and webhooks--04-Signatures.md describe.

Each incident event matching an active subscription (account, filter, events list) becomes
one ``Delivery``: a JSON body and an ``X-Webhook-Id`` kept for every attempt. Deliveries go
out from background threads, never from the request that caused them; for one subscription
and one incident they go in the order the events happened, and while one is being retried
the later ones wait behind it. A timeout, a connection error, a 5xx or a 429 is retried
with growing delays (``webhook_retry_delay`` doubling up to ``webhook_retry_max_delay``)
until ``webhook_retry_window`` has passed since the first attempt; any other non-2xx drops
the webhook at once. Three dropped webhooks in a row disable the subscription for 24 hours
(``active`` false and ``delivery_method.temporarily_disabled`` true) and drop its queue.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests

from .incident_json import iso_millis
from .notify import IncidentEvent
from .state import WebhookSubscription, iso_precise, utcnow

if TYPE_CHECKING:
    from .state import Store

log = logging.getLogger(__name__)

USER_AGENT = "PagerDuty-Webhook/V3.0"
FAILURES_BEFORE_DISABLING = 3
DISABLED_FOR = timedelta(hours=24)
Lane = tuple[int, str, str]  # (store generation, subscription id, resource id)


def signature_header(body: bytes, secrets: list[str]) -> str:
    """``v1=<hex HMAC-SHA256 of the body>`` for each secret, comma-separated."""
    return ",".join("v1=" + hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in secrets)


@dataclass
class Delivery:
    """One webhook for one subscription, with every attempt made to deliver it."""

    id: str
    webhook_id: str
    event_id: str
    event_type: str
    subscription_id: str
    account_id: str
    incident_id: str | None
    url: str
    body: str
    created_at: datetime
    status: str = "queued"  # queued, retrying, delivered, failed, dropped
    reason: str = ""
    attempts: list[dict[str, Any]] = field(default_factory=list)
    redelivery_of: str | None = None
    first_attempt_at: float | None = None

    def public(self) -> dict[str, Any]:
        last = self.attempts[-1] if self.attempts else None
        return {
            "id": self.id,
            "webhook_id": self.webhook_id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "subscription_id": self.subscription_id,
            "account_id": self.account_id,
            "incident_id": self.incident_id,
            "url": self.url,
            "status": self.status,
            "reason": self.reason,
            "attempt_count": len(self.attempts),
            "response_code": last["status_code"] if last else None,
            "headers": last["headers"] if last else None,
            "body": self.body,
            "payload": json.loads(self.body),
            "attempts": list(self.attempts),
            "created_at": iso_precise(self.created_at),
            "redelivery_of": self.redelivery_of,
        }


def matches(st: Store, sub: WebhookSubscription, event: IncidentEvent) -> bool:
    if sub.account_id != event.account_id or event.event_type not in sub.events:
        return False
    kind, target = sub.filter["type"], sub.filter.get("id")
    if kind == "service_reference":
        return target == event.service_id
    if kind == "team_reference":
        return target in event.team_ids
    return True


class WebhookSender:
    """Queues, sends, retries and records webhooks; an incident observer of the store."""

    def __init__(self, store: Store, workers: int = 8) -> None:
        self.st = store
        self._cond = threading.Condition()
        self._lanes: dict[Lane, deque[Delivery]] = {}
        self._timers: list[tuple[float, int, Lane]] = []
        self._order = itertools.count()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook")
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)

    # ------------------------------------------------------------------ creating deliveries
    def incident_event(self, event: IncidentEvent) -> None:
        body = json.dumps(event.payload, ensure_ascii=False, separators=(",", ":"))
        with self.st.lock:
            subs = [s for s in self.st.webhook_subscriptions.values() if matches(self.st, s, event)]
            for sub in sorted(subs, key=lambda s: s.created_at):
                self._new(sub, event.id, event.event_type, event.incident_id, body)

    def ping(self, sub: WebhookSubscription) -> Delivery:
        """``pagey.ping``: the test event ``POST /webhook_subscriptions/{id}/ping`` sends."""
        event_id = str(uuid.uuid4())
        payload = {
            "event": {
                "id": event_id,
                "event_type": "pagey.ping",
                "resource_type": "pagey",
                "occurred_at": iso_millis(utcnow()),
                "agent": None,
                "client": None,
                "data": {"message": "Hello from your friend Pagey!", "type": "ping"},
            }
        }
        body = json.dumps(payload, separators=(",", ":"))
        with self.st.lock:
            return self._new(sub, event_id, "pagey.ping", None, body)

    def _new(
        self,
        sub: WebhookSubscription,
        event_id: str,
        event_type: str,
        incident_id: str | None,
        body: str,
    ) -> Delivery:
        """Record a delivery (lock held) and queue it, or drop it if the subscription is off."""
        now = utcnow()
        if sub.temporarily_disabled and sub.disabled_until and now >= sub.disabled_until:
            sub.temporarily_disabled, sub.active, sub.disabled_until = False, True, None
        delivery = Delivery(
            id=f"dlv-{next(self._ids):06d}",
            webhook_id=str(uuid.uuid4()),
            event_id=event_id,
            event_type=event_type,
            subscription_id=sub.id,
            account_id=sub.account_id,
            incident_id=incident_id,
            url=sub.url,
            body=body,
            created_at=now,
        )
        self.st.deliveries.append(delivery)
        if not sub.active or sub.temporarily_disabled:
            delivery.status, delivery.reason = "dropped", "subscription disabled"
            return delivery
        lane = (self.st.generation, sub.id, incident_id or f"ping:{delivery.id}")
        with self._cond:
            queue = self._lanes.setdefault(lane, deque())
            queue.append(delivery)
            if len(queue) == 1:
                self._schedule(lane, 0.0)
        return delivery

    # ------------------------------------------------------------------ redelivery
    def redeliver(self, original: Delivery) -> Delivery:
        """Send a past webhook again now, once, with the same X-Webhook-Id and body."""
        with self.st.lock:
            sub = self.st.webhook_subscriptions.get(original.subscription_id)
            if sub is None:
                raise LookupError("the subscription no longer exists")
            delivery = Delivery(
                id=f"dlv-{next(self._ids):06d}",
                webhook_id=original.webhook_id,
                event_id=original.event_id,
                event_type=original.event_type,
                subscription_id=sub.id,
                account_id=sub.account_id,
                incident_id=original.incident_id,
                url=sub.url,
                body=original.body,
                created_at=utcnow(),
                redelivery_of=original.id,
            )
            self.st.deliveries.append(delivery)
        ok, _ = self._send(delivery, sub)
        with self.st.lock:
            delivery.status = "delivered" if ok else "failed"
        return delivery

    # ------------------------------------------------------------------ scheduling
    def _schedule(self, lane: Lane, delay: float) -> None:
        """Run the head of ``lane`` after ``delay`` seconds (``_cond`` held)."""
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._order), lane))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
            self._thread.start()
        self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._timers or self._timers[0][0] > time.monotonic():
                    timeout = self._timers[0][0] - time.monotonic() if self._timers else None
                    self._cond.wait(timeout)
                _, _, lane = heapq.heappop(self._timers)
            if lane[0] != self.st.generation:
                with self._cond:
                    self._lanes.pop(lane, None)
                continue
            self._pool.submit(self._attempt, lane)

    def _attempt(self, lane: Lane) -> None:
        with self._cond:
            queue = self._lanes.get(lane)
            if not queue:
                return
            delivery = queue[0]
        with self.st.lock:
            sub = self.st.webhook_subscriptions.get(delivery.subscription_id)
            if lane[0] != self.st.generation:
                return
        if sub is None:
            self._finish(lane, delivery, "dropped", "subscription deleted")
            return
        ok, retryable = self._send(delivery, sub)
        cfg = self.st.config
        if ok:
            self._finish(lane, delivery, "delivered")
            return
        attempts = len(delivery.attempts)
        delay = min(cfg.webhook_retry_delay * 2 ** (attempts - 1), cfg.webhook_retry_max_delay)
        elapsed = time.monotonic() - (delivery.first_attempt_at or time.monotonic())
        if retryable and elapsed + delay <= cfg.webhook_retry_window:
            with self.st.lock:
                delivery.status = "retrying"
            with self._cond:
                self._schedule(lane, delay)
            return
        reason = "retries exhausted" if retryable else "permanent error"
        self._finish(lane, delivery, "failed", reason)

    def _finish(self, lane: Lane, delivery: Delivery, status: str, reason: str = "") -> None:
        """Close the lane's head and start the next one (or disable the subscription)."""
        disable = False
        with self.st.lock:
            if lane[0] != self.st.generation:
                return
            delivery.status, delivery.reason = status, reason
            sub = self.st.webhook_subscriptions.get(delivery.subscription_id)
            if sub is not None and status == "delivered":
                sub.consecutive_failures = 0
            elif sub is not None and status == "failed":
                sub.consecutive_failures += 1
                disable = sub.consecutive_failures >= FAILURES_BEFORE_DISABLING
        with self._cond:
            queue = self._lanes.get(lane)
            if queue and queue[0] is delivery:
                queue.popleft()
            if queue:
                self._schedule(lane, 0.0)
            else:
                self._lanes.pop(lane, None)
        if disable and sub is not None:
            self.disable(sub, "3 webhooks in a row could not be delivered")

    def disable(self, sub: WebhookSubscription, reason: str) -> None:
        """Disable for 24 hours, as PagerDuty does, and drop what waits in its queue."""
        with self.st.lock:
            sub.active, sub.temporarily_disabled = False, True
            sub.disabled_until = utcnow() + DISABLED_FOR
            with self._cond:
                for lane in [k for k in self._lanes if k[1] == sub.id]:
                    for waiting in self._lanes.pop(lane):
                        if waiting.status in {"queued", "retrying"}:
                            waiting.status, waiting.reason = "dropped", reason

    # ------------------------------------------------------------------ HTTP
    def _send(self, delivery: Delivery, sub: WebhookSubscription) -> tuple[bool, bool]:
        """One POST; returns ``(delivered, worth retrying)`` and records the attempt."""
        body = delivery.body.encode()
        with self.st.lock:
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "X-Webhook-Id": delivery.webhook_id,
                "X-Webhook-Subscription": sub.id,
                "X-PagerDuty-Signature": signature_header(body, sub.signing_secrets),
            }
            for custom in sub.custom_headers:
                headers[custom["name"]] = custom["value"]
            timeout = self.st.config.webhook_timeout
        if delivery.first_attempt_at is None:
            delivery.first_attempt_at = time.monotonic()
        attempt: dict[str, Any] = {"at": iso_precise(utcnow()), "headers": headers}
        started = time.monotonic()
        try:
            response = requests.post(
                delivery.url, data=body, headers=headers, timeout=timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            attempt.update(status_code=None, error=f"{type(exc).__name__}: {exc}")
            ok, retryable = False, True
        else:
            code = response.status_code
            attempt.update(status_code=code, error="", response_body=response.text[:2000])
            ok, retryable = 200 <= code < 300, code >= 500 or code == 429
        attempt["seconds"] = round(time.monotonic() - started, 3)
        with self.st.lock:
            delivery.attempts.append(attempt)
        return ok, retryable
