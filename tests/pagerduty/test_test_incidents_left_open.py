"""Test incidents whose resolve PagerDuty refuses stay open there, and every page says so
(r15 must-fix 1): the service was deleted in PagerDuty after two test events, so their
automatic resolves were refused. The disconnect page promises only resolves sent and says
up front which incidents may stay open, linked (r18: the refusal may be over); the message
after names where to see them; the failed resolve's page says its test incident stays open
and links back to a page that exists. A pasted key PagerDuty refuses is not said to stay
valid (r15 nit 13)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from devtools.sandbox.testing import SandboxProcess
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.incidents.models import Incident, IncidentStatus
from integrations.pagerduty.left_open import left_open
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
from tests.pagerduty.test_removal import delete_url, disconnect_url, section, the_message

pytestmark = pytest.mark.django_db
INCIDENT_URL = "https://acme.pagerduty.com/incidents/PTEST01"


def _send_test(client: Client, org: Organization, service: PagerDutyService) -> Delivery:
    """ "Send test event", confirmed; its trigger sent to the sandbox."""
    url = f"/o/{org.slug}/settings/integrations/pagerduty/services/{service.pk}/test/"
    assert client.post(url, {"confirm": "1"}).status_code == 302
    trigger = Delivery.objects.filter(service=service, event_action=EventAction.TRIGGER).first()
    assert trigger is not None
    engine.attempt(trigger.pk)
    trigger.refresh_from_db()
    return trigger


def _automatic_resolves_refused(service: PagerDutyService) -> list[Delivery]:
    """Their automatic resolves' time comes; PagerDuty refuses them."""
    resolves = Delivery.objects.filter(service=service, event_action=EventAction.RESOLVE)
    resolves.update(next_attempt_at=timezone.now())
    for resolve in resolves:
        assert engine.attempt(resolve.pk) == Delivery.Status.FAILED
    return list(resolves.order_by("pk"))


def _part(page: str, element_id: str, end: str) -> str:
    """The page from the element with this id to the next `end`."""
    start = page.index(f'id="{element_id}"')
    return page[start : page.index(end, start)]


def _page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_test_incidents_a_deleted_service_keeps_open_are_said_to_stay_open(
    admin_client: Client, org: Organization, connected_service, pagerduty: SandboxProcess
):
    service = connected_service
    first, second = (_send_test(admin_client, org, service) for _ in range(2))
    assert {first.status, second.status} == {Delivery.Status.DELIVERED}
    pagerduty.delete_service(service.pd_service_id)
    failed = _automatic_resolves_refused(service)
    service.refresh_from_db()
    assert service.refused_at is not None  # Tripwire knows PagerDuty refuses the key
    # The incident sync knows the first test incident, open.
    Incident.objects.create(
        organization=org,
        service=service,
        pd_incident_id="PTEST01",
        dedup_key=first.dedup_key,
        html_url=INCIDENT_URL,
        status=IncidentStatus.TRIGGERED,
        status_changed_at=timezone.now(),
    )

    # The failed resolve's page: its test incident stays open, linked.
    slug = org.slug
    page = _page(admin_client, f"/o/{slug}/pagerduty/deliveries/{failed[0].pk}/")
    assert (
        "The test incident in Checkout API 001 is still open in PagerDuty: resolve it there."
        in (page)
    )
    assert f'href="{INCIDENT_URL}"' in page
    page = _page(admin_client, f"/o/{slug}/pagerduty/deliveries/{failed[1].pk}/")
    assert "is still open in PagerDuty unless someone resolved it there" in page
    # So does the test trigger's own panel, under its failed automatic resolve, once.
    page = _page(admin_client, f"/o/{slug}/pagerduty/deliveries/{first.pk}/")
    assert "The test incident could not be resolved automatically" in page
    assert page.count("data-left-open") == 1 and f'href="{INCIDENT_URL}"' in page

    # The disconnect page promises resolves sent, and says which stay open, linked.
    account = service.account
    page = _page(admin_client, disconnect_url(org, account))
    assert "will be <strong>resolved</strong>" not in page
    effects = _part(page, "removal-effects", "</ul>\n  <")
    assert (
        "Tripwire will send a resolve for each of the 2 incidents it opened on it that are "
        "still open in PagerDuty."
    ) in effects
    # Said as PagerDuty's last answer, not as what will happen: the refusal may be over.
    assert "PagerDuty refused the key of Checkout API 001 (since <time" in effects
    assert "so it may refuse the resolves of all of them too." in effects
    assert "if it still refuses, those incidents stay open in PagerDuty" in effects
    listed = _part(page, "stays-open-list", "</ul>")
    assert listed.count("data-stays-open") == 2
    assert f'<a href="{INCIDENT_URL}" target="_blank" rel="noopener">Open it in PagerDuty</a>' in (
        listed
    )
    assert f'<a href="{service.html_url}" target="_blank" rel="noopener">Checkout API 001 in ' in (
        listed
    )

    response = admin_client.post(disconnect_url(org, account), {"seen": ""})
    assert response.status_code == 302
    message = the_message(response)
    assert "the alert&#x27;s page" not in message and "alert's page" not in message
    assert (
        "2 incidents stay open in PagerDuty, as PagerDuty refuses Tripwire's resolves: "
        "resolve them there: "
    ) in message
    assert f'<a href="{INCIDENT_URL}" target="_blank" rel="noopener">the test incident in ' in (
        message
    )
    assert (
        f'(<a href="{service.html_url}" target="_blank" rel="noopener">Checkout API 001 in '
        "PagerDuty</a>)"
    ) in message
    assert f'<a href="/o/{slug}/deliveries/failed/">Failed deliveries</a> lists their' in message
    assert "queued: retried" not in message  # nothing is promised to get through

    # The removal's resolves are sent and refused; the incidents are still open there.
    engine.attempt_many(
        list(Delivery.objects.filter(status=Delivery.Status.QUEUED).values_list("pk", flat=True))
    )
    for trigger in (first, second):
        assert pagerduty.alerts(dedup_key=trigger.dedup_key)[0]["status"] == "triggered"
    # Listed once each, though the service is gone from Tripwire.
    assert sorted(o.service_name for o in left_open(org.pk)) == ["Checkout API 001"] * 2
    listing = _page(admin_client, f"/o/{slug}/deliveries/failed/")
    assert "The test incident in Checkout API 001 is still open in PagerDuty" in listing

    # The failed resolve's page still says so, and leads back to a page that exists.
    page = _page(admin_client, f"/o/{slug}/pagerduty/deliveries/{failed[1].pk}/")
    assert "The test incident in Checkout API 001 is still open in PagerDuty" in page
    assert f'<a href="/o/{slug}/deliveries/failed/" id="delivery-back">← Failed deliveries</a>' in (
        page
    )


def test_a_resolve_refused_during_the_removal_says_its_incident_stays_open(
    admin_client: Client, org: Organization, connected_service, pagerduty: SandboxProcess
):
    """Not known before: PagerDuty refuses the removal's own resolve."""
    service = connected_service
    trigger = _send_test(admin_client, org, service)
    pagerduty.remove_integration(service.integration_id)  # Tripwire doesn't know yet
    page = _page(admin_client, delete_url(org, service))
    assert 'id="removal-stays-open"' not in page
    response = admin_client.post(delete_url(org, service), {"seen": ""})
    message = the_message(response)
    assert message.startswith(
        "Checkout API 001 was removed from Tripwire. The test incident in Checkout API 001 "
        "from <time"
    )
    assert (
        "stays open in PagerDuty, as PagerDuty refuses Tripwire's resolve: resolve it "
        f'there. <a href="/o/{org.slug}/deliveries/failed/">Failed deliveries</a> lists its '
        "resolve."
    ) in message
    assert pagerduty.alerts(dedup_key=trigger.dedup_key)[0]["status"] == "triggered"


def test_deleting_a_refused_pasted_key_says_only_what_is_known(
    admin_client: Client, org: Organization, make_service
):
    typo = make_service("Typo key", key="0123456789abcdef0123456789abcdef")
    trigger = _send_test(admin_client, org, typo)
    assert trigger.status == Delivery.Status.FAILED
    typo.refresh_from_db()
    assert typo.refused_at is not None

    page = _page(admin_client, delete_url(org, typo))
    assert "No incident raised by Tripwire on this service is open." in page
    left = section(page, "left-in-pagerduty")
    assert "stays valid" not in left and "still valid" not in left
    assert "resolves above" not in left
    assert "PagerDuty refuses the key you pasted for <strong>Typo key</strong>" in left

    message = the_message(admin_client.post(delete_url(org, typo), {"seen": ""}))
    assert message.startswith("Typo key was removed from Tripwire. PagerDuty refuses the key you")
    assert "stays valid" not in message
