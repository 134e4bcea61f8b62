"""A disconnect after a refusal that is over (r18 must-fix 1): PagerDuty refused the key
once (a sandbox "refuse" fault), then the fault was cleared. The confirmation says the
refusal was PagerDuty's last answer and that the resolves are sent anyway, never that the
incidents stay open; the message after says what was sent and queued, and the incidents are
resolved in PagerDuty."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from devtools.sandbox.testing import SandboxProcess
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
from tests.pagerduty.test_removal import deliver_queued, disconnect_url, the_message

pytestmark = pytest.mark.django_db


def _send_test(client: Client, org: Organization, service: PagerDutyService) -> Delivery:
    """ "Send test event", confirmed, its trigger sent; its automatic resolve not due yet."""
    url = f"/o/{org.slug}/settings/integrations/pagerduty/services/{service.pk}/test/"
    assert client.post(url, {"confirm": "1"}).status_code == 302
    trigger = (
        Delivery.objects.filter(service=service, event_action=EventAction.TRIGGER)
        .order_by("-pk")
        .first()
    )
    assert trigger is not None
    engine.attempt(trigger.pk)
    trigger.refresh_from_db()
    return trigger


@pytest.mark.parametrize("incidents", [1, 4])
def test_an_old_refusal_is_not_said_to_keep_incidents_open(
    admin_client: Client,
    org: Organization,
    connected_service: PagerDutyService,
    pagerduty: SandboxProcess,
    incidents: int,
):
    service = connected_service
    opened = [_send_test(admin_client, org, service) for _ in range(incidents)]
    assert {t.status for t in opened} == {Delivery.Status.DELIVERED}
    pagerduty.fault("events-us", "refuse", count=1)
    refused = _send_test(admin_client, org, service)
    assert refused.status == Delivery.Status.FAILED
    service.refresh_from_db()
    assert service.refused_at is not None  # PagerDuty's last answer: a refusal
    pagerduty.clear_faults()  # fixed since; Tripwire can't know until it sends

    page = admin_client.get(disconnect_url(org, service.account)).content.decode()
    start = page.index('id="removal-effects"')
    effects = page[start : page.index("</ul>\n  <", start)]
    assert "stay open in PagerDuty: resolve" not in effects
    assert "stays open in PagerDuty: resolve" not in effects
    assert "PagerDuty refused the key of Checkout API 001 (since <time" in effects
    assert "the last time Tripwire sent there" in effects
    assert "sent anyway" in effects

    response = admin_client.post(disconnect_url(org, service.account), {"seen": ""})
    message = the_message(response)
    assert "stay open in PagerDuty" not in message and "stays open in PagerDuty" not in message
    assert "refuses Tripwire's resolve" not in message
    if incidents == 1:
        assert "1 open incident was resolved in PagerDuty." in message
    else:  # three tried at once, the rest queued
        assert "3 open incidents were resolved in PagerDuty." in message
        assert "1 resolve is queued: it goes out through the usual delivery" in message
        assert "PagerDuty refused the key of Checkout API 001 the last time Tripwire" in message
        assert "it may refuse that resolve too" in message
    Delivery.objects.filter(status=Delivery.Status.QUEUED).update(next_attempt_at=timezone.now())
    deliver_queued()
    for trigger in opened:
        assert pagerduty.alerts(dedup_key=trigger.dedup_key)[0]["status"] == "resolved"
