"""A NUL in the alert list's search (?q=%00, a pasted name, a crafted link) was a 500:
PostgreSQL refuses one in a query. No alert name has one, so it is dropped from the term,
and the page says, and its links and search box keep, what was searched for."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts_saas.alerts.models import Alert

pytestmark = pytest.mark.django_db


def _page(client, org, query: str) -> str:
    response = client.get(f"/o/{org.slug}/alerts/{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_a_nul_in_the_search_is_dropped_and_the_page_says_what_it_searched(admin_client, org):
    since = timezone.now() - timedelta(minutes=30)
    for name in ("Checkout errors", "Search errors"):
        Alert.objects.create(organization=org, name=name, counting_since=since)
    page = _page(admin_client, org, "?q=check%00out")
    assert "1 alert matches “checkout”." in page
    assert "Checkout errors" in page and "Search errors" not in page
    assert 'name="q" value="checkout"' in page
    assert "\x00" not in page and "%00" not in page
    # The filters keep the search as it was searched.
    page = _page(admin_client, org, "?q=%00check%00out%00&state=enabled")
    tabs = re.findall(r'<a href="([^"]+)"[^>]*data-show="\w+"', page)
    assert tabs and all("q=checkout" in html.unescape(url) for url in tabs)

    # Only NULs: no search at all, every alert listed.
    page = _page(admin_client, org, "?q=%00%00")
    assert "Checkout errors" in page and "Search errors" in page
    assert "match “" not in page
