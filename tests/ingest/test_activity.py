"""The organization's ingest activity (events per minute over the last hour, the last batch's
time): counted by the step that takes a batch into the organization's allowance, in its
one Redis round trip; in the database without Redis; never another organization's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from alerts_saas.alerts.counting import counts
from alerts_saas.alerts.models import Alert
from alerts_saas.ingest import activity, limits
from alerts_saas.ingest.models import IngestKey, IngestMinute

pytestmark = pytest.mark.django_db

ERROR = {"app": "checkout", "level": "error", "message": "card declined"}


def _hour(org_id: int) -> activity.Activity:
    found = activity.read(org_id, time.time())
    assert found is not None
    return found


def test_each_batch_taken_is_counted_in_its_minute_with_its_time(post_events, org, make_org):
    before = time.time()
    assert post_events([ERROR] * 3).status_code == 202
    assert post_events([ERROR, {"level": "loud"}]).status_code == 202  # one refused
    hour = _hour(org.pk)
    assert hour.total == 5
    assert len(hour.per_minute) == activity.MINUTES
    assert sum(hour.per_minute[-2:]) == 5  # this minute (or the one before, at its edge)
    assert hour.last_at is not None
    assert before - 1 <= hour.last_at.timestamp() <= time.time()
    assert hour.refused == 1 and hour.accepted == 4  # the bad level, counted apart
    assert sum(s.events for s in hour.stretches()) == 4 and len(hour.stretches()) == 12
    # Another organization's events are its own.
    other = make_org("Globex")
    assert post_events([ERROR] * 7, secret=IngestKey.issue(other, "k")[1]).status_code == 202
    assert _hour(other.pk).total == 7 and _hour(org.pk).total == 5


def test_the_counts_live_an_hour_and_the_last_time_a_week(post_events, org, settings):
    assert post_events([ERROR]).status_code == 202
    client = redis.Redis.from_url(settings.REDIS_URL)
    minute = activity.minute_of(time.time())
    ttls = [client.ttl(activity.minute_key(org.pk, m)) for m in (minute, minute - 1)]
    assert any(activity.KEEP_SECONDS - 5 <= ttl <= activity.KEEP_SECONDS for ttl in ttls), ttls
    assert activity.KEEP_SECONDS > activity.MINUTES * 60  # kept for all the hour shown
    last_ttl = client.ttl(activity.last_key(org.pk))
    assert activity.LAST_KEEP_SECONDS - 5 <= last_ttl <= activity.LAST_KEEP_SECONDS


def test_batches_refused_whole_are_not_counted(post_events, org, settings):
    settings.INGEST_EVENTS_PER_MINUTE = 5
    assert post_events([ERROR] * 4).status_code == 202
    assert post_events([ERROR] * 2).status_code == 429
    assert post_events([ERROR], secret="twk_not-a-key").status_code == 401
    settings.INGEST_MAX_BATCH = 2
    assert post_events([ERROR] * 3).status_code == 413
    assert _hour(org.pk).total == 4


@pytest.fixture
def redis_commands(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every Redis command this process sends, from now on."""
    sent: list[tuple[Any, ...]] = []
    original = redis.Redis.execute_command

    def record(self: redis.Redis, *args: Any, **options: Any) -> Any:
        sent.append(args)
        return original(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", record)
    return sent


def _but_token_reads(commands: list[tuple[Any, ...]]) -> list[Any]:
    """The commands sent, but for reads of the alerts' change token (at most one a second
    per organization, so a batch may or may not send one)."""
    reads = [c for c in commands if c[0] == "GET" and str(c[1]).endswith(":changed")]
    assert len(reads) <= 1
    return [c[0] for c in commands if c not in reads]


def test_a_batch_costs_no_more_round_trips_than_before(post_events, org, redis_commands):
    """The allowance's script counts the activity: a batch of an organization without alerts
    sends it (and at most the alerts' change token GET), nothing else; with an alert that
    matches, the counting script too."""
    assert post_events([ERROR]).status_code == 202  # scripts loaded
    redis_commands.clear()
    assert post_events([ERROR] * 500).status_code == 202
    assert _but_token_reads(redis_commands) == ["EVALSHA"]
    assert activity.minute_key(org.pk, activity.minute_of(time.time())) in redis_commands[0]

    Alert.objects.create(organization=org, name="Checkout", match_app="checkout", threshold=10**6)
    assert post_events([ERROR]).status_code == 202
    redis_commands.clear()
    assert post_events([ERROR] * 500).status_code == 202
    assert _but_token_reads(redis_commands) == ["EVALSHA", "EVALSHA"]
    mentions = [c for c in redis_commands if any("tw:ingest:" in str(part) for part in c)]
    assert mentions == redis_commands[:1]


def test_the_hour_in_minutes_oldest_first() -> None:
    start = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
    minute = activity.minute_of(start.timestamp())
    per_minute = tuple(range(activity.MINUTES))
    hour = activity.Activity(minute, per_minute, None)
    assert hour.total == sum(range(60)) and hour.busiest_minute == 59
    assert hour.minute_start(0) == start
    assert hour.minute_start(59) == start + timedelta(minutes=59)
    stretches = hour.stretches()
    assert [s.start.minute for s in stretches] == list(range(0, 60, 5))
    assert stretches[0].events == 0 + 1 + 2 + 3 + 4


# -- Without Redis ------------------------------------------------------------------------


@pytest.fixture
def without_redis(settings: Any) -> Iterator[None]:
    """The embedded default: no Redis for the allowance, the counts or the activity."""
    settings.REDIS_URL = ""
    limits.allowance.cache_clear()
    counts.cache_clear()
    activity._pruned.clear()
    yield
    limits.allowance.cache_clear()
    counts.cache_clear()


def test_without_redis_the_database_keeps_the_hour(post_events, org, without_redis):
    assert post_events([ERROR] * 3).status_code == 202
    assert post_events([ERROR] * 2).status_code == 202
    hour = _hour(org.pk)
    assert hour.total == 5 and sum(hour.per_minute[-2:]) == 5
    assert hour.last_at is not None and time.time() - hour.last_at.timestamp() < 60
    assert IngestMinute.objects.filter(organization=org).count() in (1, 2)


def test_without_redis_minutes_fall_in_place_and_old_ones_go(org, without_redis):
    now = time.time()
    minute = activity.minute_of(now)
    old = minute - activity.KEEP_SECONDS // 60 - 5
    activity.add_to_database(org.pk, 4, old * 60.0)
    activity._pruned.clear()
    activity.add_to_database(org.pk, 2, now - 600)  # ten minutes ago: prunes the old minute
    activity.add_to_database(org.pk, 3, now)
    activity.add_to_database(org.pk, 1, now)
    hour = _hour(org.pk)
    assert hour.per_minute[-1] == 4 and hour.per_minute[-11] == 2 and hour.total == 6
    assert hour.last_at is not None and abs(hour.last_at.timestamp() - now) < 0.01
    assert not IngestMinute.objects.filter(organization=org, minute=old).exists()


def test_refusals_counted_in_the_next_minute_come_off_the_one_before() -> None:
    """A batch taken at a minute's end, its refusals counted just after: no minute shows
    fewer than none, and the hour's accepted events stay right."""
    hour = activity.Activity(0, (0, 5, 0), None, (0, 0, 2))
    assert hour.accepted_per_minute == (0, 3, 0) and hour.accepted == 3


@pytest.mark.django_db
def test_counting_refused_events_that_fails_without_redis_keeps_the_batch(
    settings, monkeypatch, caplog
):
    """The refused count is the dashboard's; a database error writing it is logged, never
    the batch's (whose events are already counted and kept)."""
    from django.db import DatabaseError

    settings.REDIS_URL = ""

    def broken(*args: object) -> None:
        raise DatabaseError("could not extend file")

    monkeypatch.setattr(activity, "_add_refused_to_database", broken)
    activity.add_refused(1, 2, time.time())  # no exception: the request goes on
    assert "Counting refused events of organization 1 failed" in caplog.text
