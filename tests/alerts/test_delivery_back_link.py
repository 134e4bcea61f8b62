"""A delivery's page links back to where the person came from (the alert, the failed
deliveries, the service's deliveries), chosen among links Tripwire builds itself: a
`?from=` or a Referer pointing elsewhere never becomes the link."""

from __future__ import annotations

import re

import pytest

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from integrations.pagerduty.models import Delivery
from tests.history_rows import delivery
from tests.tenant_objects import _pd_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(org: Organization) -> Delivery:
    service = _pd_service(org, org.memberships.get().user)
    alert = Alert.objects.create(organization=org, name="Checkout errors", threshold=1)
    alert.targets.add(service)
    return delivery(service, alert=alert, status=Delivery.Status.FAILED, last_error="boom")


def _back(client, org: Organization, d: Delivery, query: str = "", **headers: str) -> str:
    page = client.get(f"/o/{org.slug}/pagerduty/deliveries/{d.pk}/{query}", **headers)
    assert page.status_code == 200
    found = re.search(r'<a href="([^"]*)" id="delivery-back">← ([^<]*)</a>', page.content.decode())
    assert found, "no back link"
    return f"{found.group(1)} {found.group(2)}"


def test_back_to_the_alert_by_default_and_to_the_page_it_was_opened_from(
    org, sent, admin_client
) -> None:
    alert_page = f"/o/{org.slug}/alerts/{sent.alert_id}/"
    failures = f"/o/{org.slug}/deliveries/failed/"
    service = (
        f"/o/{org.slug}/settings/integrations/pagerduty/services/{sent.service_id}/deliveries/"
    )
    assert _back(admin_client, org, sent) == f"{alert_page} Checkout errors"
    assert _back(admin_client, org, sent, "?from=failures") == f"{failures} Failed deliveries"
    came = {"HTTP_REFERER": f"http://testserver{failures}?before=12"}
    assert _back(admin_client, org, sent, **came) == f"{failures} Failed deliveries"
    came = {"HTTP_REFERER": f"http://testserver{service}"}
    assert _back(admin_client, org, sent, **came) == f"{service} Deliveries to Checkout"
    came = {"HTTP_REFERER": f"http://testserver/o/{org.slug}/"}
    assert _back(admin_client, org, sent, **came) == f"/o/{org.slug}/ Dashboard"


def test_a_test_event_goes_back_to_integrations(org, sent, admin_client) -> None:
    test = delivery(sent.service, is_test=True)
    integrations = f"/o/{org.slug}/settings/integrations/"
    assert _back(admin_client, org, test) == f"{integrations} Integrations"
    # With no service left, neither its deliveries nor Integrations show it: the dashboard,
    # or the failed deliveries for one that failed (r15: Integrations no longer listed it).
    Delivery.objects.filter(pk=test.pk).update(service=None)
    assert _back(admin_client, org, test, "?from=service") == f"/o/{org.slug}/ Dashboard"
    assert _back(admin_client, org, test) == f"/o/{org.slug}/ Dashboard"
    Delivery.objects.filter(pk=test.pk).update(status=Delivery.Status.FAILED)
    failures = f"/o/{org.slug}/deliveries/failed/"
    assert _back(admin_client, org, test) == f"{failures} Failed deliveries"


@pytest.mark.parametrize(
    "query, referer",
    [
        ("?from=https://evil.example/", ""),
        ("?from=//evil.example", ""),
        ("", "https://evil.example/o/acme-ops/deliveries/failed/"),
        ("", "http://testserver/o/someone-else/deliveries/failed/"),
        ("", "http://testserver/accounts/logout/"),
        ("", "javascript:alert(1)"),
    ],
)
def test_nothing_from_the_request_becomes_the_link(
    org, sent, admin_client, query: str, referer: str
) -> None:
    back = _back(admin_client, org, sent, query, HTTP_REFERER=referer)
    assert back == f"/o/{org.slug}/alerts/{sent.alert_id}/ Checkout errors"
