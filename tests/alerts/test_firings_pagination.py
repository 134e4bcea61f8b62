"""The alert page's firings, 20 a page: older pages, links that keep the other parameters,
and a bounded number of queries whatever the page holds."""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.alerts.models import Alert, Firing
from integrations.pagerduty.models import Delivery, EventAction

pytestmark = pytest.mark.django_db

_seq = count()


def _alert(org, name: str = "Checkout errors") -> Alert:
    return Alert.objects.create(
        organization=org,
        name=name,
        threshold=3,
        window_minutes=5,
        match_app="checkout",
        counting_since=timezone.now() - timedelta(minutes=30),
    )


def _firings(alert: Alert, n: int, open_newest: bool = False) -> list[Firing]:
    """`n` firings an hour apart, newest first (the newest open if asked), each with a
    trigger and a resolve."""
    now = timezone.now()
    firings = []
    for i in range(n):
        opened = now - timedelta(hours=i + 1)
        is_open = open_newest and i == 0
        firing = Firing.objects.create(
            organization=alert.organization,
            alert=alert,
            opened_at=opened,
            cleared_at=None if is_open else opened + timedelta(minutes=5),
            clear_reason="" if is_open else Firing.ClearReason.CLEARED,
            count_at_open=3,
        )
        dedup_key = f"tripwire-test-{next(_seq)}"
        for action in (EventAction.TRIGGER, EventAction.RESOLVE):
            Delivery.objects.create(
                organization=alert.organization,
                alert=alert,
                firing=firing,
                service_name="Checkout API",
                region="us",
                routing_key="R" * 32,
                event_action=action,
                dedup_key=dedup_key,
                body={},
                status=Delivery.Status.DELIVERED,
                created_at=opened,
            )
        firings.append(firing)
    return firings


def _get(client, alert: Alert, query: str = "", live: bool = False) -> str:
    suffix = "live/" if live else ""
    response = client.get(f"/o/{alert.organization.slug}/alerts/{alert.pk}/{suffix}{query}")
    assert response.status_code == 200
    return response.content.decode()


def _firing_ids(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="firing-(\d+)"', page)]


def _older_link(page: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">Older firings', page)
    return found.group(1).replace("&amp;", "&") if found else None


def test_page_two_shows_the_older_firings(admin_client, org):
    alert = _alert(org)
    firings = _firings(alert, 45, open_newest=True)
    ids = [f.pk for f in firings]

    first = _get(admin_client, alert)
    assert _firing_ids(first) == ids[:20]
    assert "The latest 20 of 45 firings." in first
    assert "Page 1 of 3" in first
    assert "← Newer firings" not in first

    older = _older_link(first)
    assert older == f"/o/{org.slug}/alerts/{alert.pk}/?firings_page=2"
    second = _get(admin_client, alert, older.split("/")[-1])
    assert _firing_ids(second) == ids[20:40]
    assert "Firings 21 to 40 of 45, newest first." in second
    assert "Page 2 of 3" in second and "← Newer firings" in second
    # Each row still says what its firing sent (the trigger and the resolve that followed),
    # listed when it is opened.
    table = second[second.index('id="firings"') :]
    assert table.count("1 trigger, accepted · 1 resolve") == 20
    opened = _get(admin_client, alert, older.split("/")[-1] + f"&sent={ids[20]}")
    table = opened[opened.index('id="firings"') :]
    assert table.count('class="firing-delivery"') == 1
    assert table.count("Trigger delivered at") == 1
    assert table.count("Resolve delivered at") == 1
    # The banner still shows the open firing, which is on the first page.
    assert "FIRING since" in second and 'data-state="firing"' in second

    last = _get(admin_client, alert, "?firings_page=3")
    assert _firing_ids(last) == ids[40:]
    assert _older_link(last) is None
    # Past the end is the last page; nonsense is the first.
    assert _firing_ids(_get(admin_client, alert, "?firings_page=99")) == ids[40:]
    assert _firing_ids(_get(admin_client, alert, "?firings_page=x")) == ids[:20]


def test_the_refreshing_section_keeps_the_page_and_the_other_parameters(admin_client, org):
    alert = _alert(org)
    ids = [f.pk for f in _firings(alert, 25)]

    live = _get(admin_client, alert, "?status=delivered&firings_page=2", live=True)
    assert _firing_ids(live) == ids[20:]
    # htmx re-fetches the section with the same query, so a refresh stays on page 2.
    assert re.search(r'hx-get="[^"]*/live/\?status=delivered&amp;firings_page=2"', live)
    newer = re.search(r'<a href="([^"]+)" rel="prev">', live).group(1).replace("&amp;", "&")
    assert newer == f"/o/{org.slug}/alerts/{alert.pk}/?status=delivered&firings_page=1"


def test_no_note_and_no_count_when_one_page_holds_them_all(admin_client, org):
    alert = _alert(org)
    _firings(alert, 3)
    with CaptureQueriesContext(connection) as queries:
        page = _get(admin_client, alert)
    assert len(_firing_ids(page)) == 3
    assert "firings-note" not in page and "firings-pages" not in page
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"] and "alerts_firing" in q["sql"]]
    assert counts == []


@pytest.mark.parametrize("page", ["", "?firings_page=2"])
def test_queries_do_not_grow_with_the_rows(admin_client, org, page, django_assert_max_num_queries):
    few, many = _alert(org, "Few"), _alert(org, "Many")
    _firings(few, 21)  # two pages, like `many`: the same queries but for the rows
    _firings(many, 40)

    with CaptureQueriesContext(connection) as baseline:
        _get(admin_client, few, page)
    with django_assert_max_num_queries(len(baseline)):
        page_html = _get(admin_client, many, page)
    assert len(_firing_ids(page_html)) == 20
    # A page's firings and their deliveries: one query each, never one per row.
    with CaptureQueriesContext(connection) as queries:
        _get(admin_client, many, page)
    firing_selects = [
        q for q in queries if q["sql"].startswith("SELECT") and 'FROM "alerts_firing"' in q["sql"]
    ]
    delivery_selects = [
        q
        for q in queries
        if q["sql"].startswith("SELECT")
        and 'FROM "pagerduty_delivery"' in q["sql"]
        and '"firing_id" IN' in q["sql"]
    ]
    page_selects = [
        q
        for q in firing_selects
        # Past the first page, the banner looks up the open firing on its own.
        if "COUNT(" not in q["sql"] and '"cleared_at" IS NULL' not in q["sql"]
    ]
    assert len(page_selects) == 1
    # The past firings' deliveries are counted (one query, and one for the services their
    # failed and fallback triggers went to: no PostgreSQL-only aggregate, for SQLite), the
    # open ones' loaded (one).
    assert len(delivery_selects) == 3
    loads = [q["sql"] for q in delivery_selects if "COUNT(" not in q["sql"]]
    assert len(loads) == 1 and '"alerts_firing"."cleared_at" IS NULL' in loads[0]
