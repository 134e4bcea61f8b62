"""An alert page whose chart counted nothing says why: events arrive but none match its
rules (which it says in words), nothing arrived lately, or nothing ever did (then, and only
then, how to send events with an ingest key). A firing alert is charted even at zero. In
either store of the ingest activity (Redis, or the database without it), and in a fixed
number of queries however many batches and keys there are."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.alerts.counting import counts
from alerts_saas.alerts.models import Alert, ConditionKind, Firing, Level
from alerts_saas.ingest import limits
from alerts_saas.ingest.models import IngestKey
from tests.alerts.test_alert_page import _chart

pytestmark = pytest.mark.django_db

SEARCH = {"app": "search", "level": "error", "message": "slow query"}
KEYS_ADVICE = "Send events with an ingest key"


@pytest.fixture(params=["redis", "database"])
def each_store(request: pytest.FixtureRequest, settings) -> Iterator[str]:
    """Each store of the counts and the ingest activity in turn: Redis, and the database
    (`make run` without Redis)."""
    if request.param == "database":
        settings.REDIS_URL = ""
    limits.allowance.cache_clear()
    counts.cache_clear()
    yield request.param
    limits.allowance.cache_clear()
    counts.cache_clear()


def _alert(org, **fields) -> Alert:
    fields = {
        "name": "Checkout errors",
        "threshold": 3,
        "window_minutes": 5,
        "match_app": "checkout",
        "match_level": Level.ERROR,
        "counting_since": timezone.now() - timedelta(hours=2),  # before the hour shown
        **fields,
    }
    return Alert.objects.create(organization=org, **fields)


def _empty_box(client, alert) -> tuple[str, str]:
    """The page, and its 'Matching events' part as text."""
    page = client.get(f"/o/{alert.organization.slug}/alerts/{alert.pk}/").content.decode()
    start = page.index("<h2>Matching events</h2>")
    part = page[start : page.index("</div>", start) + len("</div>")]
    words = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", part))).strip()
    return page, re.sub(r" ([,.;:)])", r"\1", words)


def test_events_that_arrive_but_do_not_match_are_told_apart_from_none(
    admin_client, org, post_events, each_store
):
    alert = _alert(org)
    assert post_events([SEARCH] * 2).status_code == 202
    with CaptureQueriesContext(connection) as one_batch:
        page, words = _empty_box(admin_client, alert)
    assert "No matching events yet." in words
    assert (
        "Events arrive (2 in the last hour) but none matched this alert's rules: it counts "
        "events where app is “checkout”, level error or above." in words
    )
    assert KEYS_ADVICE not in page
    assert "alert-chart-data" not in page

    # More batches, more keys: the words follow, the page's queries stay as many.
    for n in range(4):
        secret = IngestKey.issue(org, f"key {n}")[1]
        assert post_events([SEARCH] * 3, secret=secret).status_code == 202
    with CaptureQueriesContext(connection) as many:
        _, words = _empty_box(admin_client, alert)
    assert "Events arrive (14 in the last hour)" in words
    assert len(many) == len(one_batch)


def test_only_an_organization_that_never_sent_is_told_to_use_an_ingest_key(
    admin_client, org, make_org, post_events, each_store
):
    alert = _alert(org)
    # Another organization's events are not ours.
    theirs = IngestKey.issue(make_org("Globex"), "theirs")[1]
    assert post_events([SEARCH] * 5, secret=theirs).status_code == 202
    page, words = _empty_box(admin_client, alert)
    assert f"{KEYS_ADVICE}: Settings / Ingest keys." in words
    assert f'href="/o/{org.slug}/settings/ingest-keys/"' in page

    # A key that sent hours ago: no advice to send, but that nothing came lately.
    key, _ = IngestKey.issue(org, "old sender")
    IngestKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now() - timedelta(hours=3))
    page, words = _empty_box(admin_client, alert)
    assert KEYS_ADVICE not in page
    assert (
        "No events arrived in the last hour; the last batch came 3 hours ago. It counts "
        "events where app is “checkout”, level error or above." in words
    )


def test_events_all_refused_say_so(admin_client, org, post_events, each_store):
    alert = _alert(org)
    assert post_events([{"app": "checkout", "level": "loud"}] * 2).status_code == 400
    page, words = _empty_box(admin_client, alert)
    assert "Events arrive (2 in the last hour) but each was refused" in words
    assert KEYS_ADVICE not in page


def test_a_firing_alert_is_charted_even_when_every_count_is_zero(
    admin_client, org, post_events, each_store
):
    """An absence alert firing for a job that stopped: the zero line under its threshold,
    and why nothing matched."""
    alert = _alert(
        org, name="Nightly backup ran", kind=ConditionKind.ABSENCE, threshold=1,
        window_minutes=1, match_app="backup", match_level=None,
    )  # fmt: skip
    Firing.objects.create(
        organization=org,
        alert=alert,
        opened_at=timezone.now() - timedelta(minutes=2),
        count_at_open=0,
    )
    assert post_events([SEARCH]).status_code == 202
    page, _ = _empty_box(admin_client, alert)
    assert 'data-state="firing"' in page
    chart = _chart(page)
    assert chart["threshold"] == 1 and chart["absence"] is True
    assert chart["values"] and set(chart["values"]) == {0}
    assert "No matching events yet." not in page
    assert (
        "Events arrive (1 in the last hour) but none matched this alert's rules: it counts "
        "events where app is “backup”." in html.unescape(page)
    )
