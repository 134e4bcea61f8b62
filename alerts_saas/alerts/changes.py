"""Whether an organization's alerts changed since ingestion compiled them, asked on every
batch at the cost of one Redis GET.

Every save or delete of an alert sets the organization's change token (a new random value,
so that a token lost with a Redis restart can never be mistaken for an old one), and again
once its transaction commits: a process that reads the last token also reads the new
alerts.
Ingestion recompiles when the token differs from the one it compiled under. As a backstop
(Redis down when a token was to be set, an alert changed by a bulk update), it also
compares the alerts' latest `updated_at` and count in the database every
ALERTS_RECHECK_SECONDS. Without Redis (the embedded default) it compares them every time.
"""

from __future__ import annotations

import logging
import uuid
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max

from alerts_saas.alerts.models import Alert

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2)


def _key(organization_id: int) -> str:
    return f"tw:alerts:{organization_id}:changed"


def token(organization_id: int) -> str | None:
    """The organization's change token; None without Redis, or when it can't be read (the
    caller then compares the database)."""
    if not settings.REDIS_URL:
        return None
    try:
        value = _client(settings.REDIS_URL).get(_key(organization_id))
    except redis.RedisError:
        return None
    if value is None:
        return "none"
    return value.decode() if isinstance(value, bytes) else str(value)


def database_stamp(organization_id: int) -> tuple[object, ...]:
    """The alerts' latest change and count, as the database has them."""
    alerts = Alert.objects.filter(organization_id=organization_id)
    return tuple(alerts.aggregate(changed=Max("updated_at"), n=Count("pk")).values())


def _set_token(organization_id: int) -> None:
    try:
        _client(settings.REDIS_URL).set(_key(organization_id), uuid.uuid4().hex)
    except redis.RedisError:
        log.warning(
            "Could not mark organization %s's alerts as changed; ingestion notices within %s s.",
            organization_id,
            settings.ALERTS_RECHECK_SECONDS,
        )


def alert_changed(sender: Any, instance: Alert, **kwargs: Any) -> None:
    """post_save and post_delete of Alert: a new token now, and another once the change is
    committed. The first serves this transaction's own reads (a test, a save followed by
    ingestion in one request); a process that recompiled from the database before the
    commit, under the first token, recompiles again under the second."""
    if settings.REDIS_URL:
        organization_id = instance.organization_id
        _set_token(organization_id)
        transaction.on_commit(lambda: _set_token(organization_id))
