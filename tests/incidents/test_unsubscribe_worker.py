"""Deleting an organization while PagerDuty is down, with a real worker and the sandbox: the
owner's click returns at once, and our webhook subscription goes from PagerDuty once it
answers again (the worker's retry), its tokens with it."""

from __future__ import annotations

import time

import pytest

from integrations.pagerduty.incidents import subscriptions
from tests.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_settings() -> dict[str, str]:
    """Retries two seconds apart (a minute doubling to an hour by default)."""
    return {"PAGERDUTY_UNSUBSCRIBE_RETRY_FIRST": "2", "PAGERDUTY_UNSUBSCRIBE_RETRY_CAP": "2"}


def test_pagerduty_down_the_delete_returns_at_once_and_the_worker_deletes_later(
    celery_worker, connected_service, org, admin_client, pagerduty, settings
) -> None:
    settings.SITE_URL = "http://tripwire.example"
    ours = subscriptions.subscribe(connected_service)
    assert ours is not None and ours.pd_subscription_id
    # PagerDuty's REST API failing for the first tries (one request each), then back.
    pagerduty.fault("rest-us", "500", count=3)

    started = time.monotonic()
    response = admin_client.post(f"/o/{org.slug}/settings/delete/", {"name": org.name})
    took = time.monotonic() - started
    assert response.status_code == 302
    assert took < 1, f"the deletion waited {took:.1f} s on PagerDuty"

    wait_for(
        lambda: pagerduty.webhook_subscriptions() == [],
        timeout=30,
        message="the subscription deleted once PagerDuty answers again",
    )
    statuses = [
        r["status_code"]
        for r in pagerduty.requests_log()
        if r["method"] == "DELETE" and r["path"].endswith(ours.pd_subscription_id)
    ]
    assert 500 in statuses and statuses[-1] == 204, statuses  # tried, failed, tried again
    from integrations.pagerduty.incidents.models import Unsubscription

    wait_for(lambda: not Unsubscription.objects.exists(), message="the kept tokens gone")
