"""The alerts list's "Last delivery" says what was delivered (r18 review): beside "No service"
a green "Delivered just now" was the resolve sent when the account was disconnected, and on
a newly saved alert that never fired it was the test alert sent from the form. A resolve or
a test reads "Resolve delivered", "Test alert delivered", never a bare green "Delivered";
a trigger reads as before. The list's queries stay the same for 1 row and for several."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.pagerduty.models import Delivery, EventAction, Reason
from tests.alerts.test_alert_list import _alerts, _delivery, _get, _service

pytestmark = pytest.mark.django_db


def _cell(page: str, pk: int) -> str:
    row = dict(re.findall(r'<tr id="alert-(\d+)">(.*?)</tr>', page, re.S))[str(pk)]
    found = re.search(r'<td data-label="Last delivery">(.*?)</td>', row, re.S)
    assert found is not None
    return found.group(1)


def _text(cell: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()


def test_a_resolve_sent_on_disconnect_is_said_to_be_a_resolve(admin_client, org) -> None:
    android = _service(org, "Android Sync")
    [cron] = _alerts(org, ["Cron heartbeat"])
    now = timezone.now()
    _delivery(cron, android, EventAction.TRIGGER, now - timedelta(minutes=3))
    resolve = _delivery(cron, android, EventAction.RESOLVE, now)
    Delivery.objects.filter(pk=resolve.pk).update(reason=Reason.DISCONNECTED)
    android.delete()  # the account went: the alert has no service now

    cell = _cell(_get(admin_client, org), cron.pk)
    assert _text(cell).startswith("Resolve delivered to Android Sync "), _text(cell)
    assert "badge-ok" not in cell


def test_the_forms_test_alert_is_said_to_be_a_test(admin_client, org) -> None:
    android = _service(org, "Android Sync")
    [new] = _alerts(org, ["Never fired"])
    new.targets.add(android)
    test = _delivery(new, android, EventAction.TRIGGER, timezone.now())
    Delivery.objects.filter(pk=test.pk).update(is_test=True)

    cell = _cell(_get(admin_client, org), new.pk)
    assert _text(cell).startswith("Test alert delivered "), _text(cell)
    assert "badge-ok" not in cell


def test_a_trigger_reads_as_before(admin_client, org) -> None:
    android = _service(org, "Android Sync")
    [paging] = _alerts(org, ["Pages"])
    paging.targets.add(android)
    _delivery(paging, android, EventAction.TRIGGER, timezone.now())

    cell = _cell(_get(admin_client, org), paging.pk)
    assert _text(cell).startswith("Delivered ") and "badge-ok" in cell


def _queries(client, org) -> int:
    with CaptureQueriesContext(connection) as captured:
        _get(client, org)
    return len(captured)


def test_the_same_queries_for_one_row_and_several(admin_client, org) -> None:
    android = _service(org, "Android Sync")
    now = timezone.now()
    [first] = _alerts(org, ["First"])
    _delivery(first, android, EventAction.RESOLVE, now)
    _get(admin_client, org)  # the first page of an organization remembers it in the session
    one = _queries(admin_client, org)
    for n, alert in enumerate(_alerts(org, ["Second", "Third", "Fourth"])):
        made = _delivery(alert, android, EventAction.TRIGGER, now - timedelta(minutes=n))
        Delivery.objects.filter(pk=made.pk).update(is_test=bool(n % 2))
    assert _queries(admin_client, org) == one
