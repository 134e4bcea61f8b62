"""An alert page that counted nothing says only what is known about the organization's
events: those sent before the alert started counting (it didn't exist yet, or its rules
changed since) were never matched against it, so they are not "events that none of its
rules matched". Counted from `Alert.counting_since`, in either store of the activity, in
the same number of queries."""

from __future__ import annotations

import re
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.accounts.times import time_html
from alerts_saas.alerts.models import Alert
from tests.alerts.test_alert_page_arrivals import _alert, _empty_box, each_store  # noqa: F401

DECLINED = {"message": "Payment failed: card declined"}
NOT_COUNTED = "events sent before an alert exists or its rules change are not counted"


def _clock(alert: Alert) -> str:
    """How the page writes the moment counting started ("03:10" today)."""
    return re.sub(r"<[^>]+>", "", time_html(alert.counting_since, "clock"))


def test_events_sent_before_the_alert_existed_are_not_said_to_miss_its_rules(
    admin_client,
    org,
    post_events,
    each_store,  # noqa: F811
):
    assert post_events([DECLINED] * 6).status_code == 202
    alert = Alert.objects.create(
        organization=org, name="Cards declined", threshold=1, window_minutes=5,
        match_message="card declined",
    )  # fmt: skip
    _, words = _empty_box(admin_client, alert)
    assert "none matched" not in words
    assert (
        f"No event since this alert started counting at {_clock(alert)} (6 arrived earlier "
        f"in the last hour; {NOT_COUNTED}). It counts events where message contains "
        "“card declined”." in words
    ), words


def test_events_since_counting_began_are_counted_apart_from_those_before(
    admin_client,
    org,
    post_events,
    each_store,  # noqa: F811
):
    """Counting restarted ten minutes ago (the rules changed): the hour's events since then
    are those that missed the rules, and the number says so."""
    alert = _alert(org, counting_since=timezone.now() - timedelta(minutes=10))
    assert post_events([{"app": "search", "level": "error"}] * 2).status_code == 202
    with CaptureQueriesContext(connection) as queries:
        _, words = _empty_box(admin_client, alert)
    assert (
        f"Events arrive (2 since this alert started counting at {_clock(alert)}) but none "
        "matched this alert's rules" in words
    ), words
    # A batch after the alert's rules changed, in the same minute as earlier ones: the
    # minute's events may be either side, so "up to".
    Alert.objects.filter(pk=alert.pk).update(counting_since=timezone.now())
    alert.refresh_from_db()
    assert post_events([{"app": "search", "level": "error"}]).status_code == 202
    with CaptureQueriesContext(connection) as again:
        _, words = _empty_box(admin_client, alert)
    since = f"since this alert started counting at {_clock(alert)}) but none matched"
    said = re.search(r"Events arrive \((up to 3|up to 1|1) " + re.escape(since), words)
    assert said is not None, words
    assert len(again) == len(queries)
