"""The task's soft time limit can stop a try inside a database query, leaving its connection
mid-command: PostgreSQL keeps that session, and the cleanup slot it holds, until the
server's query ends. The try cancels that query and closes the connection, so the slot is
free at once; a failed try still keeps the row's next try (saved on a fresh connection),
and the log says what happened, not that the slot already went."""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from billiard.exceptions import SoftTimeLimitExceeded
from django.db import connection
from django.utils import timezone

from integrations.pagerduty.incidents import unsubscriptions
from integrations.pagerduty.incidents.models import Unsubscription
from tests.conftest import wait_for
from tests.incidents import test_unsubscriptions as base
from tests.incidents.test_unsubscribe_robust import _removed, queued  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
ours = base.ours  # its fixture
QUERY_SECONDS = 30  # the query the limit stops: far longer than the slot may stay taken


def _slot_free() -> bool:
    """Whether another session can take the cleanup slot (and gives it back)."""
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True
    ) as other:
        row = other.execute("SELECT pg_try_advisory_lock(%s)", [unsubscriptions._SLOT]).fetchone()
        if row and row[0]:
            other.execute("SELECT pg_advisory_unlock(%s)", [unsubscriptions._SLOT])
        return bool(row and row[0])


def _soft_limit(*_: Any) -> None:
    raise SoftTimeLimitExceeded()


@contextmanager
def _soft_limit_armed() -> Iterator[None]:
    old = signal.signal(signal.SIGALRM, _soft_limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _long_query(*_: Any) -> None:
    """A query the soft time limit interrupts (armed here, so it goes off inside it)."""
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [QUERY_SECONDS])


@pytest.fixture(autouse=True)
def _postgresql() -> None:
    assert connection.vendor == "postgresql"  # the slot is a session advisory lock


def test_a_try_stopped_inside_a_query_frees_the_slot_and_keeps_its_next_try(
    ours,
    pagerduty,
    queued,  # noqa: F811
    monkeypatch,
    caplog,
) -> None:
    row = _removed(ours)
    monkeypatch.setattr(unsubscriptions, "_delete_one", _long_query)
    started = timezone.now()

    with _soft_limit_armed(), caplog.at_level(logging.DEBUG):
        assert unsubscriptions.attempt(row.pk) == "retry"
    wait_for(_slot_free, timeout=10, message="the slot freed before the query would end")

    row.refresh_from_db()
    assert row.next_attempt_at > started  # its next try, not left due with no wait
    assert row.subscription_ids == [ours.pd_subscription_id]
    assert "SoftTimeLimitExceeded" in row.last_error
    told = [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= logging.INFO]
    assert [level for level, _ in told] == ["INFO"]
    assert "Tripwire tries again at" in told[0][1]
    assert queued == [([row.pk], 60.0)]


def test_a_slot_holder_stopped_inside_a_query_frees_the_slot_and_says_so(
    ours,
    pagerduty,
    queued,  # noqa: F811
    monkeypatch,
    caplog,
) -> None:
    row = _removed(ours)
    claimed_try = unsubscriptions._claimed_try
    monkeypatch.setattr(unsubscriptions, "_claimed_try", _long_query)

    with _soft_limit_armed(), caplog.at_level(logging.INFO), pytest.raises(SoftTimeLimitExceeded):
        unsubscriptions.attempt(row.pk)
    wait_for(_slot_free, timeout=10, message="the slot freed before the query would end")

    said = [r.getMessage() for r in caplog.records if r.name == unsubscriptions.__name__]
    assert said == [
        "The cleanup slot's database connection broke; Tripwire closed it, and the slot is "
        "freed when PostgreSQL ends that session."
    ]
    monkeypatch.setattr(unsubscriptions, "_claimed_try", claimed_try)
    assert unsubscriptions.attempt(row.pk) == "done"  # a fresh connection, the slot free
    assert not Unsubscription.objects.exists()
