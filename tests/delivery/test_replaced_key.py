"""A delivery sent with an integration key its service no longer has: PagerDuty refusing it
says nothing about the service's new key, so it marks nothing. The sandbox removes the
integration as a person would in PagerDuty; "Add services" gives the service a new one."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from integrations.pagerduty import delivery as engine
from integrations.pagerduty import paths
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService

pytestmark = pytest.mark.django_db(transaction=True)
PAYLOAD = {"summary": "Does the new key page?", "source": "tests", "severity": "info"}


def _mend(org, service: PagerDutyService, admin_client) -> PagerDutyService:
    """Choose the service again under "Add services": a new integration, a new key."""
    picker = (
        f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{service.account_id}/services/"
    )
    admin_client.post(picker, {"service": [service.pd_service_id]})
    return PagerDutyService.objects.select_related("account").get(pk=service.pk)


def test_a_refused_resolve_sent_with_the_replaced_key_does_not_mark_the_mended_service(
    org, connected_service, pagerduty, admin_client
):
    # A test incident: its trigger delivered, its automatic resolve due later, on the old key.
    test_url = (
        f"/o/{org.slug}/settings/integrations/pagerduty/services/{connected_service.pk}/test/"
    )
    assert admin_client.post(test_url, {"confirm": "1"}).status_code == 302
    trigger = Delivery.objects.get(service=connected_service, event_action=EventAction.TRIGGER)
    resolve = Delivery.objects.get(service=connected_service, event_action=EventAction.RESOLVE)
    assert engine.attempt(trigger.pk) == Delivery.Status.DELIVERED

    # The integration is deleted in PagerDuty, then mended; a real trigger pages on the new key.
    pagerduty.remove_integration(connected_service.integration_id)
    service = _mend(org, connected_service, admin_client)
    assert service.integration_key != connected_service.integration_key
    with transaction.atomic():
        [page] = engine.queue(
            [engine.build_event(service, EventAction.TRIGGER, "tripwire-new-key", PAYLOAD)]
        )
    assert engine.attempt(page.pk) == Delivery.Status.DELIVERED

    # The automatic resolve's time comes: PagerDuty refuses the old key.
    Delivery.objects.filter(pk=resolve.pk).update(next_attempt_at=timezone.now())
    assert engine.attempt(resolve.pk) == Delivery.Status.FAILED
    assert "Invalid routing key" in Delivery.objects.get(pk=resolve.pk).last_error

    # The service still pages: no "Refused by PagerDuty", nothing for anyone to fix.
    service = PagerDutyService.objects.select_related("account").get(pk=service.pk)
    assert service.refused_at is None and service.failing_since is None
    assert paths.service_health(service).ok
    page_html = admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert 'data-health="refused"' not in page_html


def test_a_refusal_of_the_current_key_still_marks_the_service(org, connected_service, pagerduty):
    pagerduty.remove_integration(connected_service.integration_id)
    with transaction.atomic():
        [page] = engine.queue(
            [engine.build_event(connected_service, EventAction.TRIGGER, "tripwire-x", PAYLOAD)]
        )
    assert engine.attempt(page.pk) == Delivery.Status.FAILED
    connected_service.refresh_from_db()
    assert connected_service.refused_at is not None
    assert "Invalid routing key" in connected_service.refused_detail
