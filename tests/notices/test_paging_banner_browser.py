"""The paging banner in headless Chromium on a 390 px wide phone, light and dark: it fits the
screen, its fix link and "+ N more" lead where they say, and the Notifications page is in
the user's menu."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from alerts_saas.notices.reconcile import reconcile
from integrations.pagerduty.models import PagerDutyService
from tests.browser import overflow
from tests.notices.banners import alerts_on_phone, paging

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_NAME = "Payments-Gateway-Production-Europe-West-Primary-Cluster-Checkout-API"


def _broken(org: Organization) -> PagerDutyService:
    service = PagerDutyService.objects.create(
        organization=org, name=LONG_NAME, integration_key="0" * 32
    )
    paging(org, service)
    Alert.objects.create(organization=org, name="Edge heartbeat missing", threshold=1)
    PagerDutyService.objects.filter(pk=service.pk).update(
        refused_at=timezone.now(),
        refused_detail="Event object is invalid; Invalid routing key: no integration with this key",
    )
    reconcile(org)
    return service


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_banner_on_a_phone(
    browser: Browser, live_server, org: Organization, screenshot, scheme: str
) -> None:
    service = _broken(org)
    base = live_server.url
    page = alerts_on_phone(browser, base, org, scheme)

    banner = page.locator(".paging-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(f"Paging problem: PagerDuty refuses {LONG_NAME}")
    assert overflow(page) <= 0
    screenshot(page, f"banner-{scheme}")

    banner.get_by_role("link", name="+ 1 more").click()
    expect(page).to_have_url(f"{base}/o/{org.slug}/problems/")
    expect(page.get_by_role("heading", name="Paging problems")).to_be_visible()
    expect(page.locator(".paging-problem")).to_have_count(2)
    assert overflow(page) <= 0
    screenshot(page, f"problems-{scheme}")

    page.locator(".paging-banner").get_by_role("link", name="Fix it in Integrations").click()
    expect(page).to_have_url(re.compile(rf"/settings/integrations/#service-{service.pk}$"))

    page.get_by_text("owner@acme.example").click()
    page.get_by_role("link", name="Notifications").click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    expect(page.get_by_label(re.compile("Acme Ops"))).to_be_checked()
    assert overflow(page) <= 0
    screenshot(page, f"notifications-{scheme}")
