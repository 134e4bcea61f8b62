"""A firing whose page went to a service Tripwire no longer has (removed, its resolve refused)
is nowhere said to be a pasted key's (r18 review): the alert page (Disable, Resolve, its
effect, Mute 1 h, the wait note), the delete page and the list say the service is no longer
in Tripwire, as the target entry does. A real pasted key still reads as one. And the list
judges every open firing of an alert that fires per value, not only the oldest."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, Firing, GroupBy
from integrations.pagerduty.models import Delivery, PagerDutyService, Reason
from tests.dashboard.conftest import delivery
from tests.incidents.test_gone_service_incident_words import _android_sync, _firing, _resolve
from tests.incidents.test_pasted_key_incident_unknown import _paged_through_pasted_key

pytestmark = pytest.mark.django_db

PASTED_WORDS = "pasted key"
PASTED_KEY = "the service was added with a pasted key"
GONE = "the service is no longer in Tripwire"


def _pages(client: Client, org: Organization, alert: Alert) -> dict[str, str]:
    """The alert page, its delete page and the alerts list, as a person reads them."""
    urls = {
        "alert": f"/o/{org.slug}/alerts/{alert.pk}/",
        "delete": f"/o/{org.slug}/alerts/{alert.pk}/delete/",
        "list": f"/o/{org.slug}/alerts/",
    }
    pages = {}
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, name
        pages[name] = unescape(response.content.decode())
    return pages


def _gone(org: Organization, auto_resolve: bool) -> Alert:
    """A firing alert whose page Android Sync took; the service then removed from Tripwire,
    PagerDuty refusing the resolve sent for it: its incident may still be open."""
    service = _android_sync(org)
    alert, _firing_row, trigger = _firing(org, service)
    Alert.objects.filter(pk=alert.pk).update(auto_resolve=auto_resolve)
    _resolve(trigger, Reason.SERVICE_DELETED, Delivery.Status.FAILED)
    service.delete()
    return alert


@pytest.mark.parametrize("auto_resolve", [True, False])
def test_a_removed_service_is_called_no_longer_in_tripwire_on_every_page(
    org: Organization, admin_client: Client, auto_resolve: bool
) -> None:
    alert = _gone(org, auto_resolve)
    pages = _pages(admin_client, org, alert)
    for name, page in pages.items():
        assert PASTED_WORDS not in page, name
        assert GONE in page, name
    detail = pages["alert"]
    assert "Android Sync was removed from Tripwire" in detail  # the target entry, as before
    assert (
        "Disabling it sends PagerDuty a resolve for its incident: Tripwire can't see whether "
        f"it is still open ({GONE})." in detail
    )
    assert f"Tripwire can't see whether its incident there is still open ({GONE})." in detail
    assert f"Tripwire can't see it ({GONE}): check PagerDuty." in detail  # Mute 1 h
    if not auto_resolve:
        assert f"Tripwire can't see that incident ({GONE})." in detail
        assert "stays open until resolved here" in detail
    assert (
        "Deleting it sends PagerDuty a resolve for its page: Tripwire can't see whether that "
        f"incident is still open ({GONE})." in pages["delete"]
    )
    assert f"Tripwire can't see whether it is still open ({GONE})." in pages["list"]


def test_a_pasted_key_still_says_pasted_key(
    org: Organization, admin_client: Client, make_service
) -> None:
    alert, _firing_row = _paged_through_pasted_key(org, make_service, auto_resolve=False)
    pages = _pages(admin_client, org, alert)
    for name, page in pages.items():
        assert PASTED_KEY in page, name
        assert GONE not in page, name
    assert f"Tripwire can't see that incident ({PASTED_KEY})." in pages["alert"]
    assert f"Tripwire can't see whether it is still open ({PASTED_KEY})." in pages["list"]


def test_the_list_reads_every_open_firing_of_an_alert_that_fires_per_value(
    org: Organization, admin_client: Client
) -> None:
    """web-1 fired first and paged a service connected through OAuth; web-2 then paged a
    pasted key's: the list says Tripwire can't see web-2's incident."""
    oauth = _android_sync(org)
    pasted = PagerDutyService.objects.create(
        organization=org, name="Edge Gateway", integration_key="e" * 32
    )
    alert = Alert.objects.create(
        organization=org,
        name="Host down",
        threshold=1,
        group_by=GroupBy.SOURCE,
        counting_since=timezone.now() - timedelta(hours=1),
    )
    alert.targets.add(oauth, pasted)
    early = timezone.now() - timedelta(minutes=10)
    for group, service, at in (("web-1", oauth, early), ("web-2", pasted, timezone.now())):
        firing = Firing.objects.create(
            organization=org, alert=alert, count_at_open=3, group=group, opened_at=at
        )
        delivery(org, service, made=alert, firing=firing, at=at)

    listing = _pages(admin_client, org, alert)["list"]
    assert f"Tripwire can't see whether it is still open ({PASTED_KEY})." in listing
    assert GONE not in listing
