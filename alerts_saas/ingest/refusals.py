"""Batches refused because their ingest key was revoked: counted per key, so that a sender
still using a revoked key is seen (the keys page, the dashboard, the API) instead of losing
its events silently.

The 403 path can be hammered (a fleet left on an old key, thousands of requests a second),
so a refusal never writes to the database by itself. Each is counted in Redis (one round
trip beside the key's lookup); the key's row is written at most once a minute with
`IngestKey.record_refused`, the compare-and-set of `Secret._stamp` that `touch` uses: it
stamps `refused_at` and adds the refusals counted since the last write to
`refused_batches`. Only a request that finds the row's stamp a minute old tries, and in
the same round trip as its count it takes a gate in Redis (SET NX EX) and the count with
it: of a burst, one request writes. Without Redis (the embedded default) the count is per
process, and the row's compare-and-set alone decides who writes. What is shown adds the
count not written yet (`with_unwritten`, one MGET); the last refusal's time is up to a
minute early. The count is approximate: one taken by a request whose write failed is lost.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import datetime
from functools import lru_cache

import redis
from django.conf import settings
from django.db import DatabaseError, transaction

from alerts_saas.ingest.models import STAMP_EVERY, STILL_IN_USE, IngestKey

log = logging.getLogger(__name__)

KEEP_SECONDS = 7 * 24 * 3600  # an unwritten count outlives a quiet week, not forever
# The gate lasts a little less than the row's stamp, so the next minute's writer finds it
# free and the row due.
GATE_SECONDS = int(STAMP_EVERY.total_seconds()) - 5

# KEYS: the key's count, its gate. ARGV: how long the count is kept, the gate's seconds,
# "1" to try the gate. Counts one refusal; returns the count taken (and cleared) when the
# gate was taken, else 0.
_COUNT = """
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
if ARGV[3] == '1' and redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return n
end
return 0
"""


def count_key(key_id: int) -> str:
    return f"tw:refused:{key_id}"


def gate_key(key_id: int) -> str:
    return f"tw:refused:{key_id}:gate"


@lru_cache(maxsize=1)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2)


@lru_cache(maxsize=1)
def _script(url: str) -> redis.commands.core.Script:
    return _client(url).register_script(_COUNT)


_local = Counter[int]()  # without Redis: refusals not written yet, per key
_local_lock = threading.Lock()


def _count(key: IngestKey, due: bool) -> int:
    """Count one refusal; the refusals to write now (0: not this request's turn)."""
    if settings.REDIS_URL:
        script = _script(settings.REDIS_URL)
        args = [KEEP_SECONDS, GATE_SECONDS, "1" if due else "0"]
        return int(script(keys=[count_key(key.pk), gate_key(key.pk)], args=args))
    with _local_lock:
        _local[key.pk] += 1
        return _local.pop(key.pk) if due else 0


def _give_back(key: IngestKey, batches: int) -> None:
    """Refusals taken for a write that another request made first: counted next time."""
    if settings.REDIS_URL:
        _client(settings.REDIS_URL).incrby(count_key(key.pk), batches)
        return
    with _local_lock:
        _local[key.pk] += batches


def record(key: IngestKey) -> None:
    """A batch sent with the revoked `key` was refused. Never fails the request: a store
    down is logged (by the key's id: never its secret) and the answer is the same 403."""
    due = key.refusal_due
    try:
        batches = _count(key, due)
    except redis.RedisError:
        log.warning("Counting a refused batch of revoked ingest key %s failed", key.pk)
        batches = 1 if due else 0  # the row's compare-and-set still writes once a minute
    if not batches:
        return
    try:
        with transaction.atomic():  # a savepoint: a failure leaves the request's own alone
            written = key.record_refused(batches)
    except DatabaseError:
        log.warning("Recording refused batches of revoked ingest key %s failed", key.pk)
        return
    if not written:
        try:
            _give_back(key, batches)
        except redis.RedisError:
            log.warning("Counting refused batches of revoked ingest key %s failed", key.pk)


def with_unwritten(keys: list[IngestKey]) -> list[IngestKey]:
    """`keys`, each revoked one's `refused_batches` (in memory, to show; never saved) with
    the refusals counted since its row was last written: one MGET, none when no key has
    any refusal. Redis down: the written counts alone."""
    refused = [key for key in keys if key.refused_at is not None]
    if not refused:
        return keys
    if not settings.REDIS_URL:
        with _local_lock:
            unwritten = [_local.get(key.pk, 0) for key in refused]
    else:
        try:
            found = _client(settings.REDIS_URL).mget([count_key(key.pk) for key in refused])
        except redis.RedisError:
            log.warning("Reading the refused batches of revoked ingest keys failed")
            return keys
        unwritten = [int(n) if n is not None else 0 for n in found]
    for key, n in zip(refused, unwritten, strict=True):
        key.refused_batches += n
    return keys


def in_use(organization_id: int, now: datetime, limit: int) -> list[IngestKey]:
    """The organization's first `limit` revoked keys that had a batch refused within
    STILL_IN_USE, the latest refused first, with their unwritten refusals (one query)."""
    since: datetime = now - STILL_IN_USE
    found = IngestKey.objects.filter(
        organization_id=organization_id, revoked_at__isnull=False, refused_at__gte=since
    ).order_by("-refused_at", "-pk")[:limit]
    return with_unwritten(list(found))
