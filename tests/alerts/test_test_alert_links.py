""" "Send test alert" rehearses the real page: its event carries the links a real trigger
would (`paging.trigger_extra`), from the form as it stands, saved or not: the runbook in the
description, the custom details whose value is an address; only http(s) addresses."""

from __future__ import annotations

import pytest

from alerts_saas.alerts.models import Alert
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, EventAction

pytestmark = pytest.mark.django_db

RUNBOOK = "https://wiki.example/runbooks/checkout-cards?step=2"
DESCRIPTION = (
    f"Checkout can't take cards. Runbook: {RUNBOOK}. Don't open javascript:alert(1) "
    "or data:text/html,hi."
)


def _sent(pagerduty, **filters) -> dict[str, object]:
    """The test trigger as the sandbox received it, after one delivery attempt."""
    trigger = Delivery.objects.get(event_action=EventAction.TRIGGER, is_test=True, **filters)
    assert engine.attempt(trigger.pk) == Delivery.Status.DELIVERED
    [received] = pagerduty.events(dedup_key=trigger.dedup_key)
    assert received["status_code"] == 202
    return received["body"]


def test_a_test_from_an_unsaved_form_carries_its_runbook_link(
    admin_client, org, connected_service, form_data, pagerduty
) -> None:
    data = form_data([connected_service.pk], description=DESCRIPTION)
    response = admin_client.post(f"/o/{org.slug}/alerts/test/", data)
    assert response.status_code == 200 and not Alert.objects.exists()  # nothing saved

    body = _sent(pagerduty)
    assert body["links"] == [
        {"href": RUNBOOK, "text": "Runbook"},
        {"href": "https://wiki.example/checkout", "text": "runbook"},  # the custom detail
    ]
    assert "javascript:" not in str(body["links"]) and "data:" not in str(body["links"])
    assert "client_url" not in body  # no page of its own yet


def test_a_saved_alerts_test_carries_its_page_and_the_forms_unsaved_runbook(
    admin_client, org, connected_service, form_data, pagerduty, settings
) -> None:
    settings.SITE_URL = "https://tripwire.example"
    admin_client.post(f"/o/{org.slug}/alerts/new/", form_data([connected_service.pk]))
    alert = Alert.objects.get()
    edited = {
        **form_data([connected_service.pk], description=DESCRIPTION, name="Checkout cards"),
        "details-0-value": "not an address",
        "alert_id": alert.pk,
    }
    admin_client.post(f"/o/{org.slug}/alerts/test/", edited)
    alert.refresh_from_db()
    assert alert.description == ""  # the test saved nothing

    page = f"https://tripwire.example/o/{org.slug}/alerts/{alert.pk}/"
    body = _sent(pagerduty, alert=alert)
    assert body["client_url"] == page
    assert body["links"] == [
        {"href": page, "text": "“Checkout cards” in Tripwire"},
        {"href": RUNBOOK, "text": "Runbook"},
    ]
