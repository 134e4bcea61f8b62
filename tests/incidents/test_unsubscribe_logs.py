"""A cleanup call that fails is told once in the log, by Tripwire, at the level of what it
means: a failure waited out (a token refresh failing just then too) is one INFO line saying
what failed and when it is tried again, one given up is one WARNING; no other logger says
more at INFO or above, except that a refused grant also has the account's own warning (it
needs reconnecting). The PagerDuty client's own lines about the same request are DEBUG
details, never an ERROR that reads as an unhandled failure. No token in any line."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from integrations.pagerduty.incidents import unsubscriptions
from integrations.pagerduty.incidents.models import Unsubscription, WebhookSubscription
from integrations.pagerduty.models import PagerDutyAccount
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


def _told(records: list[logging.LogRecord]) -> list[tuple[str, str, str]]:
    """What every logger said at INFO or above: what an operator reads."""
    return [(r.name, r.levelname, r.getMessage()) for r in records if r.levelno >= logging.INFO]


def _no_token(records: list[logging.LogRecord], ours: WebhookSubscription) -> None:
    account = ours.account
    assert account is not None
    for record in records:
        said = record.getMessage()
        assert account.access_token not in said and account.refresh_token not in said


@pytest.mark.parametrize(
    ("host", "fault", "reason"),
    [
        ("rest-us", "500", "PagerDuty answered 500: .+"),
        ("rest-us", "429", "PagerDuty answered 429: .+"),
        ("rest-us", "drop", "PagerDuty could not be reached"),
        ("identity", "500", r"PagerDuty could not refresh access just now \(server_error\)"),
        ("identity", "drop", "PagerDuty could not be reached to refresh access"),
    ],
)
def test_a_failure_waited_out_is_one_info_line_saying_when(
    removed, pagerduty, caplog, host, fault, reason
) -> None:
    if host == "identity":  # a refresh comes first, and PagerDuty's sign-in host fails
        PagerDutyAccount.objects.update(expires_at=timezone.now())
    pagerduty.fault(host, fault, count=1)
    records = _tried(caplog)

    [(logger, level, said)] = _told(records)  # every logger: this line alone
    assert (logger, level) == (unsubscriptions.__name__, "INFO")
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
    if host == "rest-us" and fault != "drop":  # the client's line about the failed answer
        assert any("Non-transient HTTP error" in r.getMessage() for r in client)
    _no_token(records, removed)


def test_a_failure_given_up_is_one_warning(removed, pagerduty, caplog) -> None:
    Unsubscription.objects.update(created_at=timezone.now() - timedelta(hours=24))  # its day
    pagerduty.fault("rest-us", "500", count=1)
    records = _tried(caplog)

    [(logger, level, said)] = _told(records)  # every logger: this line alone
    assert (logger, level) == (unsubscriptions.__name__, "WARNING")
    assert said.startswith(
        f"Tripwire gave up deleting its webhook subscription(s) {removed.pd_subscription_id}"
    )
    _no_token(records, removed)
    assert not Unsubscription.objects.exists()


def test_a_refused_grant_is_the_give_up_and_the_accounts_own_warning(
    removed, pagerduty, caplog
) -> None:
    PagerDutyAccount.objects.update(expires_at=timezone.now())  # a refresh comes first
    pagerduty.revoke_tokens(all=True)
    records = _tried(caplog)

    account = removed.account
    assert [(logger, level) for logger, level, _ in _told(records)] == [
        ("integrations.pagerduty.tokens", "WARNING"),  # the account needs reconnecting
        (unsubscriptions.__name__, "WARNING"),
    ]
    [(_, _, refused), (_, _, gave_up)] = _told(records)
    assert refused == f"PagerDuty token refresh refused for account {account.pk}: invalid_grant"
    assert "Last error: PagerDuty refused to refresh access (invalid_grant)." in gave_up
    _no_token(records, removed)
    assert not Unsubscription.objects.exists()
