"""The alert page lists its latest few deliveries, with a link to them all, so it does not
grow with the alert's history; the link lists them all, walked by cursor."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.pagerduty.history import LATEST_SHOWN, PAGE_SIZE
from tests.alerts.alert_page_deliveries_setup import firing_with_deliveries

pytestmark = pytest.mark.django_db


def _rows(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="delivery-row-(\d+)"', html)]


def test_the_page_shows_the_latest_deliveries_and_links_to_all(admin_client, org):
    alert, rows = firing_with_deliveries(org, 30)
    url = f"/o/{org.slug}/alerts/{alert.pk}/"
    with CaptureQueriesContext(connection) as many:
        html = admin_client.get(url).content.decode()
    newest_first = [d.pk for d in reversed(rows)]
    assert _rows(html) == newest_first[:LATEST_SHOWN]
    assert f'href="{url}?deliveries=all#deliveries">Show all deliveries</a>' in html
    # No label with nothing after it: a delivery without an error names no "Error".
    assert 'data-label="Error"' not in html

    everything = admin_client.get(f"{url}?deliveries=all").content.decode()
    assert _rows(everything) == newest_first
    assert "Show all deliveries" not in everything

    # However long the history, the page asks the database as many times.
    short, _ = firing_with_deliveries(org, LATEST_SHOWN + 1)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(f"/o/{org.slug}/alerts/{short.pk}/")
    assert len(few) == len(many)


def test_a_short_history_is_shown_whole_without_the_link(admin_client, org):
    alert, rows = firing_with_deliveries(org, LATEST_SHOWN)
    html = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    assert _rows(html) == [d.pk for d in reversed(rows)]
    assert "Show all deliveries" not in html


def test_all_deliveries_are_walked_by_cursor(admin_client, org):
    alert, rows = firing_with_deliveries(org, PAGE_SIZE + 2)
    url = f"/o/{org.slug}/alerts/{alert.pk}/"
    first = admin_client.get(f"{url}?deliveries=all").content.decode()
    assert len(_rows(first)) == PAGE_SIZE
    older = re.search(r'href="\?before=([^"]+)" rel="next"', first)
    assert older is not None
    rest = admin_client.get(f"{url}?before={older.group(1)}").content.decode()
    assert _rows(rest) == [rows[1].pk, rows[0].pk]
