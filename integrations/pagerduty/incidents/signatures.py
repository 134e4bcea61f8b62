"""Checking a webhook's X-PagerDuty-Signature, as PagerDuty documents it
(https://developer.pagerduty.com/docs/webhooks/webhook-signatures): an HMAC-SHA256 of the
raw body with the subscription's secret, hex-encoded, sent as `v1=<hex>`; several may be
sent, comma-separated, while a secret is rotated, and one match is enough."""

from __future__ import annotations

import hashlib
import hmac


def sign(secret: str, body: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """Whether any v1 signature in `header` is `body` signed with `secret` (constant time).
    Never with no secret: anyone can sign with an empty key."""
    if not secret:
        return False
    expected = sign(secret, body)
    found = False
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate.startswith("v1=") and hmac.compare_digest(candidate, expected):
            found = True  # no early exit: the time taken does not say which one matched
    return found
