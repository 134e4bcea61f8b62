"""The paging-problem email says which firings already paged nobody, not only which alerts
now would: "Checkout errors fired at 08:08 UTC and paged nobody: PagerDuty refused the
trigger to Checkout API 001.", above the problem. A firing paged, one still retried, and
one of another organization are not listed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django.utils.dateformat import format as date_format

from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.notices.reconcile import reconcile
from integrations.pagerduty import paths
from integrations.pagerduty.models import Delivery, PagerDutyService
from tests.dashboard.conftest import delivery

pytestmark = pytest.mark.django_db


def _service(org, name: str) -> PagerDutyService:
    return PagerDutyService.objects.create(organization=org, name=name, integration_key="0" * 32)


def _alert(org, name: str, target: PagerDutyService) -> Alert:
    alert = Alert.objects.create(organization=org, name=name, threshold=3)
    alert.targets.set([target])
    return alert


def _fired(alert: Alert, status: str, minutes_ago: float = 2, **fields) -> Firing:
    firing = Firing.objects.create(
        organization=alert.organization,
        alert=alert,
        opened_at=timezone.now() - timedelta(minutes=minutes_ago),
        cleared_at=timezone.now(),
        count_at_open=3,
    )
    target = alert.targets.get()
    delivery(alert.organization, target, made=alert, firing=firing, status=status, **fields)
    return firing


def test_the_email_names_the_firing_that_paged_nobody(org, make_org, make_user) -> None:
    old = _service(org, "Checkout API 001")
    checkout = _alert(org, "Checkout errors", old)
    paths.record([paths.Outcome(old.pk, refused=True, detail="Invalid routing key")])
    refused = _fired(
        checkout,
        Delivery.Status.FAILED,
        response_status=400,
        last_error="Invalid routing key",
    )
    fine = _alert(org, "Search errors", _service(org, "Search API"))
    _fired(fine, Delivery.Status.DELIVERED, minutes_ago=3)
    retried = _alert(org, "Login errors", _service(org, "Login API"))
    _fired(retried, Delivery.Status.QUEUED, attempts=2, last_error="PagerDuty answered 500")
    other = make_org("Globex", owner=make_user("owner@globex.example"))
    elsewhere = _alert(other, "Globex errors", _service(other, "Globex API"))
    _fired(elsewhere, Delivery.Status.FAILED, response_status=400)

    reconcile(org)
    [email] = mail.outbox
    at = date_format(timezone.localtime(refused.opened_at), "H:i e")
    body = email.body
    assert body.startswith(
        "Missed pages: PagerDuty accepted none of these firings' triggers, so nobody was "
        f"paged for them.\nCheckout errors fired at {at} and paged nobody: PagerDuty refused "
        "the trigger to Checkout API 001.\n"
    ), body
    assert "Alerts that now page nobody: Checkout errors." in body
    for name in ("Search errors", "Login errors", "Globex errors"):
        assert f"{name} fired at" not in body
