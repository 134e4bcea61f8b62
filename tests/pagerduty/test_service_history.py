"""A service's deliveries (Settings → Integrations → a service's deliveries), walked by
cursor: "Older →" goes back through the whole history, none shown twice or missed (rows of
the same second included, and new ones arriving meanwhile), at the same cost on any page
and without counting the history."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from integrations.pagerduty.models import Delivery, PagerDutyService
from tests.history_rows import copies, scans
from tests.history_rows import delivery as _delivery

pytestmark = pytest.mark.django_db

ROW = re.compile(r'id="delivery-row-(\d+)"')
OLDER = re.compile(r'<a href="\?([^"]*before=[\d-]+)" rel="next">Older →</a>')


def _service(org: Organization, name: str, key: str) -> PagerDutyService:
    return PagerDutyService.objects.create(
        organization=org, name=name, region="us", integration_key=key * 32
    )


def _newest_first(service: PagerDutyService, **filters: object) -> list[int]:
    rows = Delivery.objects.filter(service=service, **filters).order_by("-created_at", "-pk")
    return list(rows.values_list("pk", flat=True))


def _walk(admin_client, url: str) -> tuple[list[int], list[str]]:
    """Every row shown from `url` on, following "Older →" to the end; and the pages."""
    seen: list[int] = []
    pages: list[str] = []
    while True:
        page = admin_client.get(url).content.decode()
        pages.append(page)
        seen += [int(pk) for pk in ROW.findall(page)]
        older = OLDER.search(page)
        if older is None:
            return seen, pages
        url = f"{url.split('?')[0]}?{older.group(1).replace('&amp;', '&')}"


@pytest.fixture
def history(org: Organization) -> PagerDutyService:
    """Checkout: 131 deliveries, three at a time in the same second, some failed; and the
    deliveries of another service and another organization, which its page never shows."""
    checkout = _service(org, "Checkout", "a")
    newest = _delivery(checkout, created_at=timezone.now() - timedelta(minutes=1))
    copies(newest, 120, every=timedelta(seconds=1), same=3)
    failed = _delivery(
        checkout, status=Delivery.Status.FAILED, created_at=newest.created_at - timedelta(hours=1)
    )
    copies(failed, 10, every=timedelta(seconds=1), same=2)
    other = _delivery(_service(org, "Payments", "b"))
    copies(other, 40, every=timedelta(seconds=1))
    return checkout


def _url(org: Organization, service: PagerDutyService) -> str:
    return f"/o/{org.slug}/settings/integrations/pagerduty/services/{service.pk}/deliveries/"


def test_older_walks_the_whole_history_once_with_a_way_back_to_the_newest(
    admin_client, org, history
):
    url = _url(org, history)
    seen, pages = _walk(admin_client, url)
    assert seen == _newest_first(history)  # 131: all, in order, none twice
    assert len(pages) == 3
    assert "← Newest" not in pages[0]
    assert all(f'<a href="{url}">← Newest</a>' in page for page in pages[1:])
    assert "Page 1 of" not in pages[0]  # no total: it would count the whole history

    failed, failed_pages = _walk(admin_client, f"{url}?status=failed")
    assert failed == _newest_first(history, status=Delivery.Status.FAILED)
    assert len(failed_pages) == 1
    assert "Older →" not in failed_pages[0] and "← Newest" not in failed_pages[0]


def test_the_filter_is_kept_from_page_to_page(admin_client, org, history):
    url = _url(org, history)
    copies(
        Delivery.objects.filter(service=history, status=Delivery.Status.FAILED).earliest(
            "created_at"
        ),
        60,
        every=timedelta(seconds=1),
    )
    failed, pages = _walk(admin_client, f"{url}?status=failed")
    assert failed == _newest_first(history, status=Delivery.Status.FAILED)
    assert len(failed) == 71 and len(pages) == 2
    assert 'href="?status=failed&amp;before=' in pages[0]
    assert f'<a href="{url}?status=failed">← Newest</a>' in pages[1]


def test_deliveries_sent_while_reading_do_not_repeat_rows_on_the_older_page(
    admin_client, org, history
):
    """A page number would shift by what arrived since: the next page would start with
    rows already read. The cursor starts where the page read ended."""
    url = _url(org, history)
    first = admin_client.get(url).content.decode()
    for _ in range(7):
        _delivery(history)  # paging goes on while someone reads
    older = OLDER.search(first)
    assert older is not None
    second = admin_client.get(f"{url}?{older.group(1)}").content.decode()
    shown_first = [int(pk) for pk in ROW.findall(first)]
    shown_second = [int(pk) for pk in ROW.findall(second)]
    assert not set(shown_first) & set(shown_second)
    everything = _newest_first(history)
    start = everything.index(shown_first[0])
    assert shown_first + shown_second == everything[start : start + 100]


def test_a_deep_page_costs_what_the_first_does_and_counts_nothing(admin_client, org, history):
    """20,000 deliveries to each of two services: a page 60 back reads 51 rows of one
    service from its index, no more than the first page."""
    long_ago = timezone.now() - timedelta(days=2)
    for service in (history, _service(org, "Search", "c")):
        copies(_delivery(service, created_at=long_ago), 20_000, every=timedelta(seconds=1))
    url = _url(org, history)
    with CaptureQueriesContext(connection) as first:
        admin_client.get(url)
    *_, deep_url = _older_urls(admin_client, url, 60)
    with CaptureQueriesContext(connection) as deep:
        page = admin_client.get(deep_url).content.decode()
    assert len(ROW.findall(page)) == 50
    assert len(deep.captured_queries) == len(first.captured_queries)
    read = [q["sql"] for q in first.captured_queries + deep.captured_queries]
    assert not [sql for sql in read if '"pagerduty_delivery"' in sql and "COUNT(" in sql]
    [rows] = [q["sql"] for q in deep.captured_queries if 'FROM "pagerduty_delivery"' in q["sql"]]
    assert scans(rows, "pagerduty_delivery") == [("Index Scan", "pagerduty_delivery_service")]


def _older_urls(admin_client, url: str, n: int) -> list[str]:
    urls = [url]
    for _ in range(n):
        older = OLDER.search(admin_client.get(urls[-1]).content.decode())
        assert older is not None
        urls.append(f"{url}?{older.group(1)}")
    return urls


def test_a_table_of_deliveries_loads_no_key_and_no_body(admin_client, org):
    """A table of deliveries shows neither the routing key nor the event sent: loading them
    cost two decryptions a row (the delivery's key and its service's) and each body."""
    service = _service(org, "Payments", "d")
    alert = Alert.objects.create(organization=org, name="Checkout errors")
    alert.targets.add(service)
    for _ in range(3):
        _delivery(service, alert=alert, body={"payload": {"summary": "x" * 500}})
    for url in (_url(org, service), f"/o/{org.slug}/alerts/{alert.pk}/"):
        with CaptureQueriesContext(connection) as seen:
            page = admin_client.get(url).content.decode()
        assert len(ROW.findall(page)) == 3, url
        rows = [q["sql"] for q in seen.captured_queries if 'FROM "pagerduty_delivery"' in q["sql"]]
        tables = [sql for sql in rows if '"pagerduty_delivery"."last_error"' in sql]
        assert tables, url
        for sql in tables:
            for unshown in ('"routing_key"', '"pagerduty_delivery"."body"', '"integration_key"'):
                assert unshown not in sql, (url, unshown)


def test_an_alerts_deliveries_walk_by_cursor_too(admin_client, org):
    """The alert page's "Show all deliveries" goes back with "Older →" as a service's
    does: every delivery of the alert once (three to a second), at a fixed cost, never
    counted."""
    service = _service(org, "Checkout", "e")
    alert = Alert.objects.create(organization=org, name="Checkout errors")
    alert.targets.add(service)
    newest = _delivery(service, alert=alert, created_at=timezone.now() - timedelta(minutes=1))
    copies(newest, 120, every=timedelta(seconds=1), same=3)
    copies(_delivery(service), 30, every=timedelta(seconds=1))  # another alert's: not shown
    url = f"/o/{org.slug}/alerts/{alert.pk}/"
    admin_client.get(url)  # the session and caches warm
    with CaptureQueriesContext(connection) as first:
        admin_client.get(url)
    shortened = admin_client.get(url).content.decode()
    assert f'href="{url}?deliveries=all#deliveries">Show all deliveries' in shortened
    seen, pages = _walk(admin_client, f"{url}?deliveries=all")
    assert seen == _newest_first(service, alert=alert)  # 121, in order, none twice
    assert len(pages) == 3 and "Page 1 of" not in pages[0]
    assert "← Newest" in pages[-1] and "Older →" not in pages[-1]
    older = OLDER.search(pages[0])
    assert older is not None
    with CaptureQueriesContext(connection) as deeper:
        admin_client.get(f"{url}?{older.group(1).replace('&amp;', '&')}")
    assert len(deeper.captured_queries) == len(first.captured_queries)
    read = [q["sql"] for q in first.captured_queries + deeper.captured_queries]
    assert not [sql for sql in read if 'FROM "pagerduty_delivery"' in sql and "COUNT(*)" in sql]
