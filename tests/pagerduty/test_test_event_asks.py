""" "Send test event" on Integrations pages a human, so it asks first, as "Send test alert"
does (the same question, `guarded_tests.confirmation`): the first press sends nothing and
names who it would page; "Yes, send the test event" sends one event. Once PagerDuty took it,
the panel says whom it pages, when the on-call reading knows."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.utils import timezone

from integrations.pagerduty import delivery as engine
from integrations.pagerduty.incidents.models import OnCallNow
from integrations.pagerduty.models import Delivery

pytestmark = pytest.mark.django_db


def _words(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture
def olivia(connected_service) -> OnCallNow:
    return OnCallNow.objects.create(
        organization_id=connected_service.organization_id,
        service=connected_service,
        names=["Olivia Oncall"],
        checked_at=timezone.now(),
        urgency_rule={"type": "constant", "urgency": "high"},
    )


def _url(org, service) -> str:
    return f"/o/{org.slug}/settings/integrations/pagerduty/services/{service.pk}/test/"


@pytest.mark.parametrize("htmx", [True, False])
def test_the_first_press_asks_who_it_pages_and_sends_nothing(
    admin_client, org, connected_service, olivia, pagerduty, htmx
) -> None:
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = admin_client.post(_url(org, connected_service), **headers)

    assert response.status_code == 200
    words = _words(response.content.decode())
    assert "Send a test event to Checkout API 001?" in words
    assert "This pages Olivia Oncall (Checkout API 001) now. Send a test event?" in words
    assert "makes this test high urgency" in words
    assert "Yes, send the test event" in words
    assert not Delivery.objects.exists()
    assert pagerduty.events(routing_key=connected_service.integration_key) == []


def test_confirming_sends_one_event_and_says_whom_it_pages(
    admin_client, org, connected_service, olivia, pagerduty
) -> None:
    url = _url(org, connected_service)
    admin_client.post(url, HTTP_HX_REQUEST="true")
    response = admin_client.post(url, {"confirm": "1"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    [trigger] = Delivery.objects.filter(event_action="trigger")
    assert engine.attempt(trigger.pk) == Delivery.Status.DELIVERED
    assert len(pagerduty.events(routing_key=connected_service.integration_key)) == 1
    panel = admin_client.get(
        f"/o/{org.slug}/pagerduty/deliveries/{trigger.pk}/", HTTP_HX_REQUEST="true"
    )
    words = _words(panel.content.decode())
    assert "Sent: PagerDuty accepted it" in words
    assert "; it pages Olivia Oncall." in words


def test_without_a_reading_it_does_not_say_whom(
    admin_client, org, connected_service, pagerduty
) -> None:
    admin_client.post(_url(org, connected_service), {"confirm": "1"})
    [trigger] = Delivery.objects.filter(event_action="trigger")
    engine.attempt(trigger.pk)
    panel = admin_client.get(
        f"/o/{org.slug}/pagerduty/deliveries/{trigger.pk}/", HTTP_HX_REQUEST="true"
    )
    words = _words(panel.content.decode())
    assert "PagerDuty accepted it" in words
    assert "it pages" not in words
