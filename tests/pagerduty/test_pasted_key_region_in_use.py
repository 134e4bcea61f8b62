"""A pasted key already in use and working, pasted again or switched with the other region,
stays where PagerDuty takes it."""

from __future__ import annotations

import pytest

from integrations.pagerduty.models import Delivery, PagerDutyService
from tests.pagerduty.test_pasted_key_region import _eu_key, _paste, _test_event

pytestmark = pytest.mark.django_db


def test_a_working_pasted_key_pasted_again_with_the_other_region_is_not_switched(
    admin_client, org, pagerduty
):
    """Billing EU pages fine in the EU. Someone adds "the same" key again, leaving the region
    at United States: it is a key already in use (as before cf109b8), not a correction; the
    working service must not be moved to a region where PagerDuty does not know its key."""
    key = _eu_key(pagerduty)
    assert _paste(admin_client, org, key, "eu").status_code == 302
    service = PagerDutyService.objects.get()
    assert _test_event(admin_client, org, service) == Delivery.Status.DELIVERED

    response = _paste(admin_client, org, key, "us", name="Billing")
    service.refresh_from_db()
    assert service.region == "eu", "a working service was switched to the US: pages now fail"
    assert response.status_code == 400
    assert "already in use" in response.content.decode()


def test_switch_region_from_a_page_not_yet_refreshed_leaves_a_working_key_where_it_is(
    admin_client, org, pagerduty
):
    """The row said "Switch to European Union" while the key was refused; someone has
    corrected it since (the test event went through). The stale button moves nothing."""
    key = _eu_key(pagerduty)
    assert _paste(admin_client, org, key, "eu").status_code == 302
    service = PagerDutyService.objects.get()
    assert _test_event(admin_client, org, service) == Delivery.Status.DELIVERED

    url = f"/o/{org.slug}/settings/integrations/pagerduty/services/{service.pk}/region/"
    page = admin_client.post(url, {"region": "us"}, follow=True).content.decode()
    service.refresh_from_db()
    assert service.region == "eu"
    assert (
        "Billing EU was not switched: PagerDuty has not refused its key in the European "
        "Union, so it stays there."
    ) in page
    assert "now sends to PagerDuty in the United States" not in page
