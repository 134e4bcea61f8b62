"""The alerts list's "Last delivery" names the service it went to when that is not the one
service the row pages (r15 #9): beside "Typo key", which PagerDuty refused every time, the
fallback's resolve to Edge Gateway read "Delivered just now" as if Typo key had taken it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.pagerduty.models import Delivery, EventAction, Reason
from tests.alerts.test_alert_list import _alerts, _delivery, _get, _service

pytestmark = pytest.mark.django_db


def _cell(page: str, pk: int) -> str:
    row = dict(re.findall(r'<tr id="alert-(\d+)">(.*?)</tr>', page, re.S))[str(pk)]
    found = re.search(r'<td data-label="Last delivery">(.*?)</td>', row, re.S)
    assert found is not None
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def test_the_fallbacks_delivery_is_said_to_be_the_fallbacks(admin_client, org):
    typo, edge = _service(org, "Typo key"), _service(org, "Edge Gateway")
    edge.is_fallback = True
    edge.save()
    [payments] = _alerts(org, ["Payments 5xx"])
    payments.targets.add(typo)
    now = timezone.now()
    _delivery(payments, typo, EventAction.TRIGGER, now - timedelta(minutes=3), status="failed")
    trigger = _delivery(payments, edge, EventAction.TRIGGER, now - timedelta(minutes=3))
    Delivery.objects.filter(pk=trigger.pk).update(reason=Reason.FALLBACK)
    _delivery(payments, edge, EventAction.RESOLVE, now)  # the resolve: no fallback reason

    cell = _cell(_get(admin_client, org), payments.pk)
    assert cell.startswith("Resolve delivered to Edge Gateway (fallback) "), cell


def test_a_delivery_to_another_of_its_services_names_it(admin_client, org):
    alpha, zeta = _service(org, "Alpha on-call"), _service(org, "Zeta on-call")
    [both] = _alerts(org, ["Both"])
    both.targets.add(alpha, zeta)
    _delivery(both, zeta, EventAction.TRIGGER, timezone.now(), status="failed")

    assert _cell(_get(admin_client, org), both.pk).startswith("Failed to Zeta on-call ")


def test_its_own_one_services_delivery_names_no_service(admin_client, org):
    alpha = _service(org, "Alpha on-call")
    [own] = _alerts(org, ["Own"])
    own.targets.add(alpha)
    _delivery(own, alpha, EventAction.TRIGGER, timezone.now())

    cell = _cell(_get(admin_client, org), own.pk)
    assert cell.startswith("Delivered ") and " to " not in cell, cell
