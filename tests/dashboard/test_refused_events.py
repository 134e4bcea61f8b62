"""The dashboard's events headline counts the events accepted, with those refused one by
one beside it (linking to the API docs, where refusals are explained), in either store of
the ingest activity, in as many queries however many batches came."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts_saas.alerts.counting import counts
from alerts_saas.ingest import activity, limits
from alerts_saas.ingest.models import IngestKey
from tests.dashboard.conftest import alert
from tests.dashboard.test_dashboard import ERROR, part

pytestmark = pytest.mark.django_db

LOUD = {"app": "checkout", "level": "loud", "message": "card declined"}  # a bad level


@pytest.fixture(params=["redis", "database"])
def each_store(request: pytest.FixtureRequest, settings) -> Iterator[str]:
    """Each store of the ingest activity in turn: Redis, and the database (`make run`
    without Redis)."""
    if request.param == "database":
        settings.REDIS_URL = ""
    limits.allowance.cache_clear()
    counts.cache_clear()
    yield request.param
    limits.allowance.cache_clear()
    counts.cache_clear()


def test_the_headline_counts_accepted_events_and_says_how_many_were_refused(
    dashboard, org, post_events, each_store
):
    alert(org, "Checkout errors", match_app="checkout", threshold=100)
    _, secret = IngestKey.issue(org, "web servers")
    assert post_events(secret, [ERROR]).status_code == 202
    answer = post_events(secret, [ERROR, LOUD, LOUD])
    assert answer.status_code == 202 and answer.json()["rejected"] == 2
    with CaptureQueriesContext(connection) as two_batches:
        page = dashboard()
    events = part(page, "events")
    assert "2 events in the last hour (and 2 refused); the last batch came" in events
    assert '<a id="events-refused" href="/api/v1/docs"' in page
    assert "Events refused one by one (a bad level, a timestamp too old) are counted apart" in (
        events
    )
    found = activity.read(org.pk, time.time())
    assert found is not None and sum(s.events for s in found.stretches()) == 2

    # More batches: the words follow, the dashboard's queries stay as many.
    for _ in range(5):
        assert post_events(secret, [ERROR, LOUD]).status_code == 202
    with CaptureQueriesContext(connection) as more:
        events = part(dashboard(), "events")
    assert "7 events in the last hour (and 7 refused)" in events
    assert len(more) == len(two_batches)


def test_no_refusals_no_mention(dashboard, org, post_events, each_store):
    _, secret = IngestKey.issue(org, "web servers")
    assert post_events(secret, [ERROR] * 3).status_code == 202
    page = dashboard()
    assert "3 events in the last hour; the last batch came" in part(page, "events")
    assert "events-refused" not in page
