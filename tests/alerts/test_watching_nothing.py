"""A per-host absence alert that has seen no host watches nothing and can't fire: the alert
list and the dashboard say so ("Watching nothing"), never a green OK nor "can fire from",
and count such alerts, in the same number of queries for 1 or 10 of them."""

from __future__ import annotations

import html
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.alerts import evaluation
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.counting import CounterSet, counts
from alerts_saas.alerts.models import Alert, ConditionKind, GroupBy

pytestmark = pytest.mark.django_db


def _per_host(
    org, name: str, *, counted_for: timedelta = timedelta(hours=1), app: str = "wroker"
) -> Alert:
    return Alert.objects.create(
        organization=org,
        name=name,
        kind=ConditionKind.ABSENCE,
        threshold=1,
        window_minutes=5,
        group_by=GroupBy.ATTRIBUTE,
        group_attribute="host",
        match_app=app,  # "wroker", a typo: no event ever matches
        counting_since=timezone.now() - counted_for,
    )


def _row(page: str, alert: Alert) -> str:
    start = page.index(f'<tr id="alert-{alert.pk}">')
    return page[start : page.index("</tr>", start)]


def _get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_the_list_says_watching_nothing_not_ok_nor_waiting(admin_client, org):
    old = _per_host(org, "Worker heartbeat per host")
    new = _per_host(org, "New heartbeat per host", counted_for=timedelta(minutes=1), app="cron")
    page = _get(admin_client, f"/o/{org.slug}/alerts/")
    for alert in (old, new):
        row = _row(page, alert)
        assert 'data-state="watching-nothing"' in row
        assert ">Watching nothing<" in row
        assert "Can't fire: no host is watched now" in row
        assert ">OK<" not in row and "Waiting" not in row and "can fire from" not in row
    assert "2 alerts can't fire</a>: they watch no value yet." in page

    # Its filter lists them and only them.
    filtered = _get(admin_client, f"/o/{org.slug}/alerts/?state=watching-nothing")
    assert f'<tr id="alert-{old.pk}">' in filtered and f'<tr id="alert-{new.pk}">' in filtered
    assert 'data-show="watching-nothing">Watching nothing <small class="muted">2</small>' in page

    # Once a host sends an event the first matches, it watches it: OK.
    now = time.time()
    evaluation.record(org.pk, [Event(timestamp=now, app="wroker", attributes={"host": "web-1"})])
    page = _get(admin_client, f"/o/{org.slug}/alerts/")
    assert ">OK<" in _row(page, old)
    assert "Watching nothing" in _row(page, new)
    assert "1 alert can't fire</a>: it watches no value yet." in page


def test_a_disabled_or_counting_together_alert_is_not_watching_nothing(admin_client, org):
    off = _per_host(org, "Off per host")
    off.enabled = False
    off.save()
    together = Alert.objects.create(
        organization=org, name="All quiet", kind=ConditionKind.ABSENCE, threshold=1
    )
    page = _get(admin_client, f"/o/{org.slug}/alerts/")
    assert "Watching nothing" not in page
    assert ">Disabled<" in _row(page, off) and 'data-state="waiting"' in _row(page, together)


def test_the_dashboard_counts_alerts_that_watch_nothing_and_links_them(admin_client, org):
    alert = _per_host(org, "Worker heartbeat per host")
    page = _get(admin_client, f"/o/{org.slug}/")
    assert "1 alert can't fire: it watches no host yet" in page
    assert f'<a href="/o/{org.slug}/alerts/{alert.pk}/">Worker heartbeat per host</a>' in page


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        _get(client, url)
    return len(captured)


@pytest.mark.parametrize("path", ["alerts/", "alerts/?state=watching-nothing", ""])
def test_the_same_queries_for_one_or_ten_alerts_that_watch_nothing(admin_client, org, path):
    url = f"/o/{org.slug}/{path}"
    _per_host(org, "Heartbeat 00")
    _get(admin_client, url)  # the session settles
    one = _queries(admin_client, url)
    for n in range(1, 10):
        _per_host(org, f"Heartbeat {n:02d}")
    page = _get(admin_client, url)
    assert page.count("Watching nothing") >= (10 if path.startswith("alerts") else 1)
    assert _queries(admin_client, url) == one


@pytest.mark.parametrize("store_kind", ["redis", "database"])
def test_each_count_store_counts_the_values_seen_without_reading_them(org, settings, store_kind):
    """`seen_counts`: how many values each alert has seen, as `groups` would list them."""
    if store_kind == "database":
        settings.REDIS_URL = ""
    counts.cache_clear()
    try:
        made = [
            Alert.objects.create(
                organization=org, name=f"a{n}", group_by=GroupBy.SOURCE, match_app=f"app{n}"
            )
            for n in range(3)
        ]
        now = time.time()
        sources = {made[0]: ["web-1", "web-2"], made[1]: ["db-1"], made[2]: []}
        for alert, values in sources.items():
            if values:
                app = alert.match_app
                evaluation.record(org.pk, [Event(timestamp=now, source=v, app=app) for v in values])
        sets = [CounterSet.of(alert) for alert in made]
        found = counts().seen_counts(sets)
        assert [found[s] for s in sets] == [len(sources[a]) for a in made]
        assert found == {s: len(g) for s, g in counts().groups(sets).items()}
    finally:
        counts.cache_clear()
