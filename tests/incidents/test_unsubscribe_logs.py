"""A cleanup call that fails is told once in the log, by Tripwire, at the level of what it
means: a failure waited out is one INFO line saying what failed and when it is tried again,
one given up is one WARNING. The PagerDuty client's own lines about the same request are
DEBUG details, never an ERROR that reads as an unhandled failure. No token in any line."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from integrations.pagerduty.incidents import unsubscriptions
from integrations.pagerduty.incidents.models import Unsubscription, WebhookSubscription
from tests.incidents import test_unsubscriptions as base
from tests.incidents.test_unsubscriptions import run_queued

pytestmark = pytest.mark.django_db
ours = base.ours  # its fixture


@pytest.fixture
def removed(ours: WebhookSubscription, monkeypatch) -> WebhookSubscription:
    """The service removed (the broker left out: each try is run here)."""
    monkeypatch.setattr(unsubscriptions, "queue", lambda ids, countdown=0: None)
    with transaction.atomic():
        unsubscriptions.capture([ours.service])
    return ours


def _tried(caplog) -> list[logging.LogRecord]:
    """A try's log records, every level (the client's DEBUG lines too, held back by
    LOGGING outside tests: they may carry request details)."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="pagerduty"):
        run_queued()
    return caplog.records


def _ours(records: list[logging.LogRecord]) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in records if r.name == unsubscriptions.__name__]


def _no_token(records: list[logging.LogRecord], ours: WebhookSubscription) -> None:
    account = ours.account
    assert account is not None
    for record in records:
        said = record.getMessage()
        assert account.access_token not in said and account.refresh_token not in said


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("500", "PagerDuty answered 500: .+"),
        ("429", "PagerDuty answered 429: .+"),
        ("drop", "PagerDuty could not be reached"),
    ],
)
def test_a_failure_waited_out_is_one_info_line_saying_when(
    removed, pagerduty, caplog, fault, reason
) -> None:
    pagerduty.fault("rest-us", fault, count=1)
    records = _tried(caplog)

    assert [r for r in records if r.levelno >= logging.WARNING] == []
    [(level, said)] = _ours(records)
    assert level == "INFO"
    assert re.fullmatch(
        rf"Deleting webhook subscription\(s\) {removed.pd_subscription_id} in PagerDuty "
        rf"account {removed.account.subdomain} \(US\) failed: {reason}\. "
        r"Tripwire tries again at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in 60 s\)\.",
        said,
    ), said
    row = Unsubscription.objects.get()
    assert f"{row.next_attempt_at:%H:%M:%S} UTC" in said
    client = [r for r in records if r.name.startswith("pagerduty")]
    assert {r.levelname for r in client} <= {"DEBUG"}  # details, held back by LOGGING
    if fault != "drop":  # the client's line about the failed answer, demoted
        assert any("Non-transient HTTP error" in r.getMessage() for r in client)
    _no_token(records, removed)


def test_a_failure_given_up_is_one_warning(removed, pagerduty, caplog) -> None:
    Unsubscription.objects.update(created_at=timezone.now() - timedelta(hours=24))  # its day
    pagerduty.fault("rest-us", "500", count=1)
    records = _tried(caplog)

    assert [r for r in records if r.levelno >= logging.ERROR] == []
    [(level, said)] = _ours(records)
    assert level == "WARNING" and said.startswith(
        f"Tripwire gave up deleting its webhook subscription(s) {removed.pd_subscription_id}"
    )
    others = [r for r in records if r.name != unsubscriptions.__name__]
    assert [r for r in others if r.levelno >= logging.WARNING] == []
    _no_token(records, removed)
    assert not Unsubscription.objects.exists()
