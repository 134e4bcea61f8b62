"""A pasted key's region switched by a person is their guess, not PagerDuty's answer: the
service is "Not confirmed yet" (not refused, not OK) until PagerDuty takes an event there,
or refuses it again. The dashboard never says "Every paging path works" meanwhile, and no
email goes out for it. The firing the refusal kept from paging is paged again by the switch
(`mended.page_mended`), and that page confirms it. A key PagerDuty refused on its first
event is advised as a typo or the wrong region, not a removed integration (new customer's
walk r15, item 3 and nit 13)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from alerts_saas.alerts.models import Alert
from alerts_saas.notices.models import PagingProblem
from alerts_saas.notices.reconcile import reconcile
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, PagerDutyService
from integrations.pagerduty.paths import PathState, service_health
from tests.dashboard.test_dashboard import part, text
from tests.delivery.sending import open_firing, send_queued

pytestmark = pytest.mark.django_db
TYPO = "0123456789abcdef0123456789abcdef"  # known to PagerDuty in no region


def _base(org) -> str:
    return f"/o/{org.slug}/settings/integrations/pagerduty"


def _key(pagerduty, region: str, name: str) -> str:
    service = next(s for s in pagerduty.account(region)["services"] if s["name"] == name)
    return str(pagerduty.add_integration(service["id"])["integration_key"])


def _paste(client: Client, org, key: str, region: str, name: str) -> PagerDutyService:
    response = client.post(
        f"{_base(org)}/keys/", {"name": name, "integration_key": key, "region": region}
    )
    assert response.status_code == 302
    return PagerDutyService.objects.get(name=name)


def _test_event(client: Client, org, service: PagerDutyService) -> str:
    client.post(f"{_base(org)}/services/{service.pk}/test/", {"confirm": "1"})
    delivery = Delivery.objects.filter(service=service, event_action="trigger").latest("pk")
    return engine.attempt(delivery.pk)


def _switch(client: Client, org, service: PagerDutyService, region: str) -> str:
    response = client.post(
        f"{_base(org)}/services/{service.pk}/region/", {"region": region}, follow=True
    )
    return text(response.content.decode())


def _dashboard(client: Client, org) -> str:
    return client.get(f"/o/{org.slug}/").content.decode()


def _health(service: PagerDutyService):
    service.refresh_from_db()
    return service_health(service)


def test_a_switched_region_is_not_confirmed_until_pagerduty_takes_an_event_there(
    admin_client, org, pagerduty
):
    # An EU key pasted as a US one: PagerDuty refuses it in the US.
    service = _paste(admin_client, org, _key(pagerduty, "eu", "Search EU"), "us", "Billing EU")
    alert = Alert.objects.create(organization=org, name="Payments 5xx", threshold=1)
    alert.targets.set([service])
    assert _test_event(admin_client, org, service) == Delivery.Status.FAILED

    page = _switch(admin_client, org, service, "eu")
    assert "Billing EU now sends to PagerDuty in the European Union." in page
    health = _health(service)
    assert health.state == PathState.UNCONFIRMED and health.label == "Not confirmed yet"
    assert health.cause.startswith("Region changed to the European Union by owner@acme.example")
    assert health.cause.endswith("not confirmed until PagerDuty accepts an event there.")
    assert health.can_page and not health.needs_fallback  # still tried, as any key

    dashboard = _dashboard(admin_client, org)
    summary = part(dashboard, "dashboard-summary")
    assert "Every paging path works" not in summary
    assert "1 paging path is not confirmed yet (Billing EU)" in summary
    listed = text(dashboard[dashboard.index('id="unconfirmed-paths"') :])
    assert "Not confirmed yet Billing EU" in listed
    assert "Region changed to the European Union by owner@acme.example at" in listed
    assert "takes every key" not in text(dashboard)
    row = text(admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode())
    assert "Not confirmed yet" in row and "Refused by PagerDuty" not in row
    alerts = text(admin_client.get(f"/o/{org.slug}/alerts/").content.decode())
    assert "Not confirmed yet" in alerts and "Pages OK" not in alerts
    # Shown on the pages, not a problem: no email, no banner.
    reconcile(org)
    assert not PagingProblem.objects.exists() and mail.outbox == []

    # PagerDuty takes an event there: confirmed.
    assert _test_event(admin_client, org, service) == Delivery.Status.DELIVERED
    assert _health(service).state == PathState.OK
    assert service.unconfirmed_at is None and service.unconfirmed_why == ""
    dashboard = _dashboard(admin_client, org)
    assert "Every paging path works." in part(dashboard, "dashboard-summary")
    assert 'id="unconfirmed-paths"' not in dashboard


def test_a_key_refused_in_both_regions_is_refused_again_after_the_switch(
    admin_client, org, pagerduty
):
    service = _paste(admin_client, org, TYPO, "us", "Typo key")
    assert _test_event(admin_client, org, service) == Delivery.Status.FAILED
    # It never worked: a typo or the region is likelier than a removed integration.
    refused = _health(service)
    assert refused.state == PathState.REFUSED
    assert "has never taken an event for it, so a typo or the wrong region is likelier" in (
        refused.cause
    )
    assert "probably removed" not in refused.words
    assert "copy the key again from the integration in PagerDuty" in refused.mend

    _switch(admin_client, org, service, "eu")
    assert _health(service).state == PathState.UNCONFIRMED
    assert _test_event(admin_client, org, service) == Delivery.Status.FAILED
    again = _health(service)
    assert again.state == PathState.REFUSED and service.unconfirmed_at is None
    assert "in the European Union, and refused it in the United States" in again.cause


def test_the_firing_paged_again_by_the_switch_confirms_it(admin_client, org, pagerduty):
    service = _paste(admin_client, org, _key(pagerduty, "eu", "Search EU"), "us", "Billing EU")
    _, firing = open_firing(org, service, "Payments 5xx")
    send_queued()  # refused in the US
    assert _health(service).state == PathState.REFUSED

    page = _switch(admin_client, org, service, "eu")
    assert "the 1 firing alert that couldn't page it was sent now" in page
    assert _health(service).state == PathState.UNCONFIRMED  # sent, not answered yet
    alert_page = text(admin_client.get(f"/o/{org.slug}/alerts/{firing.alert_id}/").content.decode())
    assert "Not confirmed yet" in alert_page

    send_queued()  # PagerDuty takes it in the EU
    assert _health(service).state == PathState.OK
    assert "Every paging path works." in part(_dashboard(admin_client, org), "dashboard-summary")


def test_a_pasted_key_that_worked_before_is_still_advised_as_removed(admin_client, org, pagerduty):
    search = next(s for s in pagerduty.account("us")["services"] if s["name"] == "Redis Cache")
    made = pagerduty.add_integration(search["id"])
    service = _paste(admin_client, org, str(made["integration_key"]), "us", "Redis Cache")
    assert _test_event(admin_client, org, service) == Delivery.Status.DELIVERED
    pagerduty.remove_integration(made["id"])
    assert _test_event(admin_client, org, service) == Delivery.Status.FAILED
    health = _health(service)
    assert health.state == PathState.REFUSED and not service.refused_first
    assert "the integration was probably removed in PagerDuty" in health.words
    assert "typo" not in health.words
