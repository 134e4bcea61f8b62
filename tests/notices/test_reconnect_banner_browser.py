"""The notice for a PagerDuty account to reconnect, in headless Chromium on a 390 px phone,
light and dark: amber, not a paging alarm, it fits the screen, is readable, and its one
link leads to the account's Reconnect button."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from alerts_saas.notices.reconcile import reconcile
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from tests.browser import low_contrast, overflow, phone, sign_in
from tests.tenant_objects import _pd_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _revoked(org: Organization) -> PagerDutyAccount:
    account = _pd_account(org, org.memberships.get().user)
    assert isinstance(account, PagerDutyAccount)
    service = PagerDutyService.objects.create(
        organization=org, account=account, name="Checkout API", integration_key="0" * 32
    )
    alert = Alert.objects.create(organization=org, name="Checkout errors", threshold=1)
    alert.targets.add(service)
    PagerDutyAccount.objects.filter(pk=account.pk).update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT,
        status_detail="PagerDuty refused to refresh access (invalid_grant).",
        refused_at=timezone.now(),
    )
    reconcile(org)
    return account


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_reconnect_notice_on_a_phone(
    browser: Browser, live_server, org: Organization, screenshot, scheme: str
) -> None:
    account = _revoked(org)
    context = phone(browser, scheme)
    page = context.new_page()
    base = live_server.url
    sign_in(page, base, "owner@acme.example")
    page.goto(f"{base}/o/{org.slug}/alerts/")

    notice = page.locator(".paging-banner.is-reconnect")
    expect(notice).to_be_visible()
    expect(notice).to_have_attribute("role", "status")  # not an alarm: pages still go out
    expect(notice).to_contain_text(f"Reconnect PagerDuty: PagerDuty account {account.name}")
    expect(notice).to_contain_text("pages still go out")
    assert overflow(page) <= 0
    assert low_contrast(page) == []
    screenshot(page, f"reconnect-banner-{scheme}")

    notice.get_by_role("link", name="Reconnect it in Integrations").click()
    expect(page).to_have_url(re.compile(rf"/settings/integrations/#account-{account.pk}$"))
    expect(page.get_by_role("button", name=f"Reconnect {account.name}")).to_be_visible()
    assert overflow(page) <= 0
    context.close()
