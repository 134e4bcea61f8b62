"""The fallback counts: an alert whose own service PagerDuty refuses is paged through the
organization's fallback, and every page says so instead of "nobody"; a fallback chosen
while a firing reaches nobody pages for it at once, once. A real worker sends to the
sandbox, which refuses the pasted key."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from alerts_saas.alerts import firings
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.problems import problems
from alerts_saas.notices.emails import alert_lines
from alerts_saas.notices.models import PagingProblem
from alerts_saas.notices.reconcile import reconcile
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
from tests.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
FALLBACK_URL = "/o/{slug}/settings/integrations/pagerduty/services/{pk}/fallback/"


def _services(make_service) -> tuple[PagerDutyService, PagerDutyService]:
    """ "Legacy DB", a pasted key PagerDuty refuses, and "Android Sync", which pages."""
    legacy = make_service("Legacy DB", key="0123456789abcdef0123456789abcdef")
    android = make_service("Checkout API 002")
    PagerDutyService.objects.filter(pk=android.pk).update(name="Android Sync")
    android.refresh_from_db()
    return legacy, android


def _firing(org, legacy: PagerDutyService) -> tuple[Alert, Firing]:
    alert = Alert.objects.create(organization=org, name="DB errors", threshold=1)
    alert.targets.set([legacy])
    with transaction.atomic():
        firing = firings.open_firing(alert, 5, timezone.now())
    assert firing is not None
    return alert, firing


def _refused(firing: Firing) -> None:
    """Wait until PagerDuty refused the firing's own trigger (and the key is marked)."""

    def done() -> bool:
        own = firing.deliveries.exclude(reason="fallback")
        return bool(own) and all(d.status == Delivery.Status.FAILED for d in own)

    wait_for(done, timeout=30, interval=0.2, message="the refused trigger")
    assert PagerDutyService.objects.get(name="Legacy DB").refused_at is not None


def _fallback_events(pagerduty, org, firing: Firing, action: str) -> list[dict]:
    android = PagerDutyService.objects.get(organization=org, name="Android Sync")
    key = engine.fallback_dedup_key(org.pk, firing.pk, android.pk)
    return [
        e
        for e in pagerduty.events(dedup_key=key)
        if e["status_code"] == 202 and e["body"]["event_action"] == action
    ]


def _choose(admin_client, org, service: PagerDutyService) -> str:
    url = FALLBACK_URL.format(slug=org.slug, pk=service.pk)
    response = admin_client.post(url, {"use": "1"}, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_a_firing_paged_through_the_fallback_is_not_said_to_page_nobody(
    celery_worker, org, make_service, pagerduty, admin_client
):
    legacy, android = _services(make_service)
    _choose(admin_client, org, android)
    alert, firing = _firing(org, legacy)
    _refused(firing)
    wait_for(
        lambda: _fallback_events(pagerduty, org, firing, "trigger"),
        timeout=30,
        message="the fallback's trigger",
    )

    dashboard = admin_client.get(f"/o/{org.slug}/").content.decode()
    assert "pages nobody" not in dashboard
    assert "Nobody is paged for it" not in dashboard
    assert "Paged through the fallback, Android Sync." in dashboard

    page = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    assert "this firing pages nobody" not in page
    assert "Paged through the fallback, Android Sync." in page

    listing = admin_client.get(f"/o/{org.slug}/alerts/?state=nobody").content.decode()
    assert "DB errors" not in listing
    assert 'data-show="nobody">Pages nobody <small class="muted">0</small>' in listing

    [problem] = problems(org)
    assert problem.alerts == ("DB errors",) and problem.silenced == ()
    assert "Paged through the fallback, Android Sync: DB errors." in problem.words
    # The emails say what the problem's row says.
    reconcile(org)
    row = PagingProblem.objects.open().get(organization=org)
    assert "Paged through the fallback, Android Sync: DB errors." in row.words
    assert alert_lines(row) == ["Alerts that still page someone: DB errors."]


def test_without_the_fallback_every_page_agrees_it_pages_nobody(
    celery_worker, org, make_service, pagerduty, admin_client
):
    legacy, _android = _services(make_service)
    alert, firing = _firing(org, legacy)
    _refused(firing)

    dashboard = admin_client.get(f"/o/{org.slug}/").content.decode()
    assert "1 firing alert pages nobody." in dashboard
    page = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    assert "this firing pages nobody" in page
    listing = admin_client.get(f"/o/{org.slug}/alerts/?state=nobody").content.decode()
    assert 'data-show="nobody">Pages nobody <small class="muted">1</small>' in listing
    assert "DB errors" in listing
    [problem] = problems(org)
    assert problem.silenced == ("DB errors",)
    reconcile(org)
    row = PagingProblem.objects.open().get(organization=org)
    assert alert_lines(row) == ["Alerts that now page nobody: DB errors."]


def test_choosing_the_fallback_pages_it_at_once_for_a_firing_reaching_nobody_once(
    celery_worker, org, make_service, pagerduty, admin_client
):
    legacy, android = _services(make_service)
    _alert, firing = _firing(org, legacy)
    _refused(firing)
    assert not _fallback_events(pagerduty, org, firing, "trigger")

    shown = _choose(admin_client, org, android)
    [event] = wait_for(
        lambda: _fallback_events(pagerduty, org, firing, "trigger"),
        timeout=30,
        message="the fallback's trigger, with the firing still open",
    )
    assert "Android Sync is paged now for DB errors" in shown
    assert "Legacy DB" in event["body"]["payload"]["custom_details"]["fallback_reason"]
    firing.refresh_from_db()
    assert firing.cleared_at is None
    assert not _fallback_events(pagerduty, org, firing, "resolve")

    # Choosing it again (or a double click) pages nobody twice.
    again = _choose(admin_client, org, android)
    assert "is paged now" not in again
    key = engine.fallback_dedup_key(org.pk, firing.pk, android.pk)
    sent = Delivery.objects.filter(dedup_key=key, event_action=EventAction.TRIGGER)
    assert sent.count() == 1
    assert len(_fallback_events(pagerduty, org, firing, "trigger")) == 1
