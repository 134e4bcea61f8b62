"""A value's own Resolve button on an alert that groups, and the hosts' refresh: they say
the value and keep the page the person was on."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib.messages import get_messages

from alerts_saas.alerts.models import Alert, GroupBy
from alerts_saas.alerts.views.firing_values import VALUES_SHOWN
from tests.alerts.test_alert_page import _alert
from tests.alerts.test_firing_values import _fire

pytestmark = pytest.mark.django_db


@pytest.fixture
def per_host(org, connected_service) -> Alert:
    return _alert(org, connected_service, group_by=GroupBy.SOURCE)


def test_resolving_one_host_says_that_host_and_comes_back_to_its_page(
    admin_client, org, per_host
) -> None:
    """web-22 resolved from page 2 of hosts (deliveries filtered to failed ones), while 22
    others still fire: the confirmation names web-22 (not '“alert” resolved', which reads as
    all of it) and the page comes back to page 2 with its filter, where the person was."""
    firings = _fire(org, [f"web-{i:02}" for i in range(VALUES_SHOWN + 3)])
    last = firings[-1]
    url = f"/o/{org.slug}/alerts/{per_host.pk}/"
    page = admin_client.get(url, {"status": "failed", "values_page": 2}).content.decode()
    form = re.search(rf'<form[^>]*id="resolve-firing-{last.pk}".*?</form>', page, re.S)
    assert form, "no Resolve button for web-22"
    back = re.search(r'name="next" value="([^"]+)"', form.group(0))
    assert back, "the button does not say where it was pressed"
    posted = {"firing": str(last.pk), "next": html.unescape(back.group(1))}
    response = admin_client.post(f"{url}resolve/", posted)
    said = [str(m) for m in get_messages(response.wsgi_request)]
    last.refresh_from_db()
    assert last.cleared_at is not None
    assert said == [
        f"web-22 of “{per_host.name}” resolved. Its incident is being resolved in PagerDuty. "
        "If its condition still holds, it fires again at the next check."
    ]
    location = response["Location"]
    assert location.startswith(url) and "values_page=2" in location, location
    assert "status=failed" in location, location


@pytest.mark.parametrize(
    "elsewhere", ["https://evil.example/o/x/", "//evil.example/", "/o/other/alerts/1/"]
)
def test_a_next_that_is_not_this_alerts_page_comes_back_to_the_alert(
    admin_client, org, per_host, elsewhere
) -> None:
    [firing] = _fire(org, ["web-01"])
    url = f"/o/{org.slug}/alerts/{per_host.pk}/"
    response = admin_client.post(f"{url}resolve/", {"firing": firing.pk, "next": elsewhere})
    assert response["Location"] == url


def test_the_3_second_refresh_keeps_the_pages_other_choices_in_its_links(
    admin_client, org, per_host
) -> None:
    """The page was opened with the deliveries filtered to failed ones and the firings on
    their page 2; the hosts' own refresh (every 3 s) swaps in links that drop both."""
    _fire(org, [f"web-{i:02}" for i in range(VALUES_SHOWN + 3)])
    url = f"/o/{org.slug}/alerts/{per_host.pk}/"
    page = admin_client.get(url, {"status": "failed", "firings_page": 2}).content.decode()
    poll = re.search(r'id="firing-values"[^>]*?hx-get="([^"]+)"', page, re.S)
    assert poll, "no refresh url"
    later = re.search(r'href="([^"]+)" rel="next">Fired later', page).group(1)
    assert "status=failed" in later and "firings_page=2" in later
    fragment = admin_client.get(poll.group(1).replace("&amp;", "&")).content.decode()
    refreshed = re.search(r'href="([^"]+)" rel="next">Fired later', fragment).group(1)
    assert "status=failed" in refreshed and "firings_page=2" in refreshed, refreshed
