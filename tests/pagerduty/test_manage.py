"""Pasted keys and test events (deleting a service and disconnecting: test_removal.py)."""

from __future__ import annotations

import pytest

from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, PagerDutyAccount, PagerDutyService

pytestmark = pytest.mark.django_db


def _base(org) -> str:
    return f"/o/{org.slug}/settings/integrations/pagerduty"


@pytest.mark.parametrize(
    ("key", "error"),
    [
        ("abc", "An integration key is 32 characters long; this one has 3."),
        ("R" + "a" * 31, "R followed by capital letters and digits only"),
        ("ABCDEF0123456789abcdef0123456789", "only lowercase letters and digits"),
        ("https://events.pagerduty.com/v2/enqueue", "This is a URL."),
        ("0123456789abcdef0123456789abcde_", "only lowercase letters and digits"),
    ],
)
def test_pasted_keys_are_validated_in_words(admin_client, org, key, error):
    response = admin_client.post(
        f"{_base(org)}/keys/", {"name": "Pasted", "integration_key": key, "region": "us"}
    )
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not PagerDutyService.objects.exists()


def test_a_pasted_key_is_stored_encrypted_and_shown_masked(admin_client, org, pagerduty):
    key = pagerduty.add_integration(
        next(s["id"] for s in pagerduty.account("eu")["services"] if s["name"] == "Search EU")
    )["integration_key"]
    response = admin_client.post(
        f"{_base(org)}/keys/",
        {"name": "Search (EU)", "integration_key": key, "region": "eu"},
        follow=True,
    )
    page = response.content.decode()
    assert "Search (EU) was added. Send a test event to check the key works." in page
    assert key not in page
    assert f"••••••••{key[-4:]}" in page
    service = PagerDutyService.objects.get()
    assert service.is_pasted and service.region == "eu" and service.integration_key == key
    # Send test event: it goes to the EU events host and opens an alert there.
    response = admin_client.post(
        f"{_base(org)}/services/{service.pk}/test/", {"confirm": "1"}, follow=True
    )
    delivery = Delivery.objects.get(event_action="trigger")
    assert delivery.is_test and delivery.body["payload"]["summary"].startswith("[TEST]")
    assert engine.attempt(delivery.pk) == Delivery.Status.DELIVERED
    received = pagerduty.events(routing_key=key)
    assert received[-1]["host"] == "events-eu"
    assert received[-1]["body"]["payload"]["custom_details"]["test"].startswith("[TEST]")
    status = admin_client.get(f"/o/{org.slug}/pagerduty/deliveries/{delivery.pk}/").content
    assert "PagerDuty accepted it" in status.decode()
    assert delivery.dedup_key in status.decode()
    # "Resolve test incident" sends the resolve with the same dedup key.
    admin_client.post(f"/o/{org.slug}/pagerduty/deliveries/{delivery.pk}/resolve/")
    resolve = Delivery.objects.exclude(pk=delivery.pk).get()
    assert resolve.event_action == "resolve" and resolve.dedup_key == delivery.dedup_key
    engine.attempt(resolve.pk)
    alert = pagerduty.alerts(dedup_key=delivery.dedup_key)[0]
    assert alert["status"] == "resolved"


def test_each_test_event_has_a_fresh_dedup_key(admin_client, org, connected_service):
    url = f"{_base(org)}/services/{connected_service.pk}/test/"
    admin_client.post(url, {"confirm": "1"})
    admin_client.post(url, {"confirm": "1"})
    assert Delivery.objects.values("dedup_key").distinct().count() == 2


def test_an_empty_organization_sees_a_useful_empty_state(admin_client, org):
    page = admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert "No PagerDuty services connected yet." in page
    assert "Connect PagerDuty</button>" in page
    assert "Paste an integration key instead" in page


def test_deliveries_keep_working_while_the_account_needs_reconnecting(
    admin_client, org, connected_service, pagerduty
):
    pagerduty.revoke_tokens(all=True)
    PagerDutyAccount.objects.update(status=PagerDutyAccount.Status.NEEDS_RECONNECT)
    admin_client.post(f"{_base(org)}/services/{connected_service.pk}/test/", {"confirm": "1"})
    delivery = Delivery.objects.get(event_action="trigger")
    assert engine.attempt(delivery.pk) == Delivery.Status.DELIVERED  # integration keys, not tokens


def test_a_finished_delivery_tells_the_page_to_refresh(admin_client, org, connected_service):
    admin_client.post(f"{_base(org)}/services/{connected_service.pk}/test/", {"confirm": "1"})
    delivery = Delivery.objects.get(event_action="trigger")
    url = f"/o/{org.slug}/pagerduty/deliveries/{delivery.pk}/"
    assert "HX-Trigger" not in admin_client.get(url, HTTP_HX_REQUEST="true")
    engine.attempt(delivery.pk)
    assert admin_client.get(url, HTTP_HX_REQUEST="true")["HX-Trigger"] == "deliveryFinished"
    page = admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert ">Delivered</span>" in page
