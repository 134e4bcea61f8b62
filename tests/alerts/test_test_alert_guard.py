""" "Send test alert" pages a person: it asks first, naming who; a second tap while the first
test is open sends nothing; the test's summary claims no events. And resolving or deleting an
alert says only what is sent to PagerDuty. (The browser walk is test_test_alert_browser.py.)"""

from __future__ import annotations

import pytest
from django.utils import timezone

from integrations.pagerduty import delivery as engine
from integrations.pagerduty.incidents.models import OnCallNow
from integrations.pagerduty.models import Delivery, EventAction

pytestmark = pytest.mark.django_db


def _olivia(service) -> None:
    OnCallNow.objects.update_or_create(
        service=service,
        defaults={
            "organization_id": service.organization_id,
            "names": ["Olivia Oncall"],
            "escalation_policy": "Checkout",
            "checked_at": timezone.now(),
            "problem": "",
        },
    )


def _asked(form_data, service, **more) -> dict[str, object]:
    data = {**form_data([service.pk], **more)}
    del data["confirm_test"]  # the first press of "Send test alert…"
    return data


def test_send_test_alert_asks_first_naming_who_it_pages(
    admin_client, org, connected_service, form_data
):
    _olivia(connected_service)
    url = f"/o/{org.slug}/alerts/test/"
    page = admin_client.post(url, _asked(form_data, connected_service)).content.decode()
    assert not Delivery.objects.exists()  # asked, nothing sent
    assert '<dialog id="test-confirm" open' in page
    assert "This pages Olivia Oncall (Checkout API 001) now." in page
    assert "Send a test alert?" in page
    assert (  # its rule not read: PagerDuty decides, and each person how they are told
        "so this test may be high urgency: then PagerDuty notifies whoever is on call by their "
        "high-urgency rules (usually a phone call or push)." in page
    )
    assert "resolves itself after 10 minutes" in page
    assert 'name="confirm_test" value="1"' in page

    cancelled = {**_asked(form_data, connected_service), "cancel_test": "1"}
    page = admin_client.post(url, cancelled).content.decode()
    assert "Nothing was sent." in page and 'id="test-confirm"' not in page
    assert not Delivery.objects.exists()


def test_a_second_tap_while_the_test_is_open_pages_no_one_again(
    admin_client, org, connected_service, form_data
):
    url = f"/o/{org.slug}/alerts/test/"
    admin_client.post(url, form_data([connected_service.pk]))
    [first] = Delivery.objects.filter(event_action=EventAction.TRIGGER)
    engine.attempt(first.pk)
    page = admin_client.post(url, form_data([connected_service.pk])).content.decode()
    assert Delivery.objects.filter(event_action=EventAction.TRIGGER).count() == 1
    assert "Not sent again to Checkout API 001: the test alert sent from this form is still " in (
        page
    )
    assert f'id="delivery-{first.pk}"' in page  # its panel, with Resolve test incident


def test_the_test_summary_claims_no_events(admin_client, org, connected_service, form_data):
    admin_client.post(f"/o/{org.slug}/alerts/test/", form_data([connected_service.pk]))
    payload = Delivery.objects.get(event_action=EventAction.TRIGGER).body["payload"]
    assert payload["summary"].startswith("[TEST] Checkout errors: a test alert")
    assert "No events were counted" in payload["summary"]
    assert "errors in" not in payload["summary"]
