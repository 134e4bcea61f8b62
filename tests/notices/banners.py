"""Shared setup of the paging-banner tests: an alert on a service whose paging broke or whose
account needs reconnecting, reconciled as the product does, and the page it shows on, on a
phone."""

from __future__ import annotations

from django.utils import timezone
from playwright.sync_api import Browser, Page

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from alerts_saas.notices.reconcile import reconcile
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from tests.browser import phone, sign_in
from tests.tenant_objects import _pd_account


def paging(org: Organization, service: PagerDutyService) -> Alert:
    """An alert of `org` that pages `service`."""
    alert = Alert.objects.create(organization=org, name="Checkout errors", threshold=1)
    alert.targets.add(service)
    return alert


def revoked(org: Organization, detail: str) -> tuple[PagerDutyAccount, Alert]:
    """An alert on a service of an account whose grant PagerDuty revoked (as `tokens.py`
    records it, `detail` its words), the problems reconciled (the email sent, the banner's
    row open)."""
    account = _pd_account(org, org.memberships.get().user)
    assert isinstance(account, PagerDutyAccount)
    service = PagerDutyService.objects.create(
        organization=org, account=account, name="Checkout API", integration_key="0" * 32
    )
    alert = paging(org, service)
    PagerDutyAccount.objects.filter(pk=account.pk).update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT,
        status_detail=detail,
        refused_at=timezone.now(),
    )
    reconcile(org)
    account.refresh_from_db()
    return account, alert


def alerts_on_phone(browser: Browser, base: str, org: Organization, scheme: str) -> Page:
    """The organization's alert list, where the banner shows, on a phone in the `scheme`
    colours, signed in as its owner. Close `page.context` when done."""
    page = phone(browser, scheme).new_page()
    sign_in(page, base, "owner@acme.example")
    page.goto(f"{base}/o/{org.slug}/alerts/")
    return page
