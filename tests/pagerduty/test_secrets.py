"""No access token, refresh token, client secret or integration key ever reaches a log
line or a page."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings

from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, PagerDutyAccount, PagerDutyService
from integrations.pagerduty.rest import AccountApi

pytestmark = pytest.mark.django_db


def test_secrets_stay_out_of_logs_and_pages(admin_client, org, connect, pagerduty, caplog):
    caplog.set_level(logging.DEBUG)
    pages: list[str] = []

    def visit(url: str, method: str = "get", **data) -> None:
        response = getattr(admin_client, method)(url, data, follow=True)
        pages.append(response.content.decode())

    account = connect(admin_client)
    base = f"/o/{org.slug}/settings/integrations/pagerduty"
    visit(f"{base}/accounts/{account.pk}/services/")
    ids = {s["name"]: s["id"] for s in pagerduty.account("us")["services"]}
    visit(
        f"{base}/accounts/{account.pk}/services/",
        "post",
        service=[ids["Checkout API 001"], ids["Checkout API 002"]],
    )
    service = PagerDutyService.objects.order_by("pk").first()
    visit(f"{base}/services/{service.pk}/test/", "post", confirm="1")
    trigger = Delivery.objects.get(event_action="trigger")
    engine.attempt(trigger.pk)
    visit(f"/o/{org.slug}/pagerduty/deliveries/{trigger.pk}/")
    pagerduty.expire_tokens(access_token=account.access_token)
    first_tokens = (account.access_token, account.refresh_token)
    AccountApi(account).me()  # 401, refresh, retry: logs the refresh
    visit(f"/o/{org.slug}/settings/integrations/")
    visit(f"{base}/services/{service.pk}/delete/")
    visit(f"{base}/services/{service.pk}/delete/", "post")
    visit(f"/o/{org.slug}/settings/integrations/")

    account = PagerDutyAccount.objects.get()
    secrets = {
        *first_tokens,
        account.access_token,
        account.refresh_token,
        settings.PAGERDUTY_CLIENT_SECRET,
        *PagerDutyService.objects.values_list("integration_key", flat=True),
        trigger.routing_key,
    }
    assert len(secrets) >= 6
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "PagerDuty tokens refreshed" in logged  # the capture really saw our logs
    for secret in secrets:
        assert secret not in logged, "a secret was logged"
        for page in pages:
            assert secret not in page, "a secret was rendered in a page"
    assert any(f"••••••••{trigger.routing_key[-4:]}" in page for page in pages)
