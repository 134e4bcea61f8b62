"""Test pages wake a real person, so each is in Settings → Activity (r18 should-fix 5): "Send
test alert" on the alert form and "Send test event" on Integrations each record who sent it,
to which service, when and from where, in the organization's log only; the first press,
which only asks, records nothing."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client

from alerts_saas.accounts.models import Role
from alerts_saas.audit.models import Action, Entry
from alerts_saas.audit.words import describe
from integrations.pagerduty.models import Delivery, EventAction

pytestmark = pytest.mark.django_db


def _words(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _activity(client: Client, org) -> str:
    response = client.get(f"/o/{org.slug}/settings/activity/")
    assert response.status_code == 200
    return _words(response.content.decode())


def test_a_test_event_from_integrations_is_in_the_activity_log(
    admin_client, org, connected_service, make_org
) -> None:
    other = make_org("Other Org")
    url = f"/o/{org.slug}/settings/integrations/pagerduty/services/{connected_service.pk}/test/"
    admin_client.post(url)  # asks only
    assert not Entry.objects.filter(object_type="test_page").exists()
    assert admin_client.post(url, {"confirm": "1"}).status_code == 302

    [trigger] = Delivery.objects.filter(event_action=EventAction.TRIGGER)
    [entry] = Entry.objects.filter(object_type="test_page")
    person = org.memberships.get(role=Role.OWNER).user
    assert entry.organization_id == org.pk and entry.action == Action.CREATED
    assert entry.actor_user_id == person.pk and entry.object_id == str(trigger.pk)
    assert str(describe(entry)) == (
        f"{person.email} sent a test page to PagerDuty service “Checkout API 001”: sent from: "
        "Integrations"
    )
    assert f"{person.email} sent a test page to PagerDuty service “Checkout API 001”" in (
        _activity(admin_client, org)
    )
    # Not in another organization's log.
    assert not Entry.objects.filter(organization=other, object_type="test_page").exists()
    other_owner = Client()
    other_owner.force_login(other.memberships.get(role=Role.OWNER).user)
    assert "sent a test page" not in _activity(other_owner, other)
    # The Activity page's filter by kind lists them.
    response = admin_client.get(f"/o/{org.slug}/settings/activity/?kind=test_page")
    assert "sent a test page to PagerDuty service" in _words(response.content.decode())


def test_a_test_alert_from_the_alert_form_is_in_the_activity_log(
    admin_client, org, connected_service, form_data
) -> None:
    url = f"/o/{org.slug}/alerts/test/"
    asked = {**form_data([connected_service.pk])}
    del asked["confirm_test"]
    admin_client.post(url, asked)  # asks only
    assert not Entry.objects.filter(object_type="test_page").exists()
    admin_client.post(url, form_data([connected_service.pk]))

    [trigger] = Delivery.objects.filter(event_action=EventAction.TRIGGER, is_test=True)
    [entry] = Entry.objects.filter(organization=org, object_type="test_page")
    assert entry.object_id == str(trigger.pk)
    assert str(describe(entry)).endswith(
        "sent a test page to PagerDuty service “Checkout API 001”: sent from: a new alert, "
        "not saved"
    )
    assert "sent a test page to PagerDuty service “Checkout API 001”" in _activity(
        admin_client, org
    )
