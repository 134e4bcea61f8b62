"""How often an open firing's page asks for what was sent to PagerDuty, and what it says.

Every 3 s while a page is on its way and for a minute after anything in it changes (an
acknowledgement shows within seconds); every 15 s after that, so a tab left open on a phone
does not ask 20 times a minute for hours. The "As of" line says both, as they are.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts_saas.alerts.models import Alert
from integrations.pagerduty.models import Delivery
from tests.alerts.test_alert_page import _alert, _events, _page

pytestmark = pytest.mark.django_db


@pytest.fixture
def firing_alert(org, connected_service) -> Alert:
    alert = _alert(org, connected_service)
    _events(org, 3)
    return alert


def _interval(fragment: str) -> str:
    found = re.search(r'id="firing-targets"[^>]*hx-trigger="every (\d+)s"', fragment, re.S)
    assert found, fragment
    return found.group(1)


def _quiet_for(alert: Alert, minutes: int) -> None:
    """Nothing changed for `minutes`: the firing opened and its page was delivered then."""
    before = timezone.now() - timedelta(minutes=minutes)
    alert.firings.update(opened_at=before)
    Delivery.objects.filter(alert=alert).update(
        status=Delivery.Status.DELIVERED, delivered_at=before, next_attempt_at=before
    )


def test_a_page_on_its_way_is_checked_every_3_s(admin_client, firing_alert) -> None:
    assert Delivery.objects.filter(alert=firing_alert, status="queued").exists()
    assert _interval(_page(admin_client, firing_alert, "live/targets/")) == "3"
    page = _page(admin_client, firing_alert)
    assert _interval(page) == "3"
    updated = re.search(r'id="alert-updated".*?</p>', page, re.S)
    assert updated, page
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", updated.group(0)))
    assert "it updates itself every 15 s while this tab is in view" in words
    assert (
        "what was sent to PagerDuty every 3 s while a page is on its way "
        "or in the minute after it changes." in words
    )


def test_a_firing_quiet_for_a_minute_is_checked_every_15_s(admin_client, firing_alert) -> None:
    url = f"/o/{firing_alert.organization.slug}/alerts/{firing_alert.pk}/live/targets/"
    fast = admin_client.get(url)
    _quiet_for(firing_alert, 2)
    assert _interval(_page(admin_client, firing_alert)) == "15"
    # The page holding the 3 s version is sent the 15 s one, not "304: unchanged".
    calm = admin_client.get(url, headers={"If-None-Match": fast["ETag"]})
    assert calm.status_code == 200 and calm["ETag"] != fast["ETag"]
    assert _interval(calm.content.decode()) == "15"
    assert admin_client.get(url, headers={"If-None-Match": calm["ETag"]}).status_code == 304


def test_a_change_speeds_it_up_again(admin_client, firing_alert) -> None:
    _quiet_for(firing_alert, 2)
    assert _interval(_page(admin_client, firing_alert, "live/targets/")) == "15"
    Delivery.objects.filter(alert=firing_alert).update(delivered_at=timezone.now())
    assert _interval(_page(admin_client, firing_alert, "live/targets/")) == "3"
