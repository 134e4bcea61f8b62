"""Beat's check of OAuth access: a grant revoked in PagerDuty is found within the interval
with nobody loading a page, and the account reads "needs reconnecting" with the email the
product sends for a refused grant; a working account is stamped checked and nothing else
changes; PagerDuty failing or slow marks nothing; other organizations' accounts are left as
they are; a run's stamps cost one update per ten accounts, never one per account. Real HTTP
to the sandbox."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import crontab
from django.core import mail
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from alerts_saas.notices import tasks as notices
from integrations.pagerduty import tasks as beat
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from tests.pagerduty.beat_reads import access_line, oauth_account, rest_calls
from tests.pagerduty_fixtures import EU_USER

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(settings: Any, django_capture_on_commit_callbacks: Any) -> Callable[[], dict[str, int]]:
    """Beat's task as the worker runs it, its commit callbacks run; every account due in
    every run (an interval of one minute, one slice)."""
    settings.PAGERDUTY_ACCESS_CHECK_INTERVAL = 60

    def run_once() -> dict[str, int]:
        with django_capture_on_commit_callbacks(execute=True):
            return beat.check_access()

    return run_once


@pytest.fixture
def theirs(make_org: Any, make_user: Any, pagerduty: Any) -> PagerDutyAccount:
    """Another organization's account, connected by a PagerDuty user of the EU."""
    return oauth_account(
        make_org("Globex", owner=make_user("owner@globex.example")), pagerduty, EU_USER
    )


def test_a_revoked_grant_is_found_by_the_check_and_the_owner_told_once(
    org: Organization,
    connected_service: PagerDutyService,
    theirs: PagerDutyAccount,
    pagerduty: Any,
    admin_client: Any,
    run: Callable[[], dict[str, int]],
    queued: list[int],
) -> None:
    account = connected_service.account
    assert account is not None
    Alert.objects.create(organization=org, name="Checkout errors", threshold=1).targets.add(
        connected_service
    )
    assert pagerduty.revoke_tokens(access_token=account.access_token) == 1  # in PagerDuty
    mail.outbox.clear()
    before = len(rest_calls(pagerduty))

    assert run() == {"refused": 1, "works": 1}

    account.refresh_from_db()
    assert account.needs_reconnect and account.refused_at is not None
    assert account.access_checked_at is None
    # One read, refused; the refresh the product tries on a 401, refused too.
    assert rest_calls(pagerduty)[before:] == ["GET /rest/us/services"]
    assert "invalid_grant" in account.status_detail
    # Told as a refusal met anywhere else is: the check queued, one email.
    assert queued == [org.pk]
    notices.reconcile_organization(org.pk)
    [email] = mail.outbox
    assert email.to == ["owner@acme.example"]
    assert email.subject == (
        "[Tripwire] Reconnect PagerDuty in Acme Ops: acknowledging and on-call from Tripwire "
        "stopped; pages still go out"
    )
    line = access_line(admin_client, org, account)
    assert line.startswith("Needs reconnecting PagerDuty withdrew Tripwire's access at ")

    # The other organization's account works: stamped, still connected, nobody told.
    theirs.refresh_from_db()
    assert not theirs.needs_reconnect and theirs.access_checked_at is not None

    # Later runs leave the marked account alone: no read, no second email.
    first = account.refused_at
    assert run() == {"works": 1}
    notices.check_paging_problems()
    assert queued == [org.pk] and len(mail.outbox) == 1
    account.refresh_from_db()
    assert account.refused_at == first
    assert rest_calls(pagerduty)[before:] == ["GET /rest/us/services"]


def test_a_token_without_the_scope_to_read_is_refused_and_marked(
    org: Organization, pagerduty: Any, run: Callable[[], dict[str, int]], queued: list[int]
) -> None:
    account = oauth_account(org, pagerduty, scope="oncalls.read")  # PagerDuty answers 403
    assert run() == {"refused": 1}
    account.refresh_from_db()
    assert account.needs_reconnect and account.refused_at is not None
    assert account.status_detail.startswith("PagerDuty refused access when Tripwire checked it")
    assert "(403: Access Denied: The access token does not have the 'services.read' scope)" in (
        account.status_detail
    )
    assert account.status_detail.endswith("). Reconnect the account to keep managing its services.")
    assert queued == [org.pk]


def test_a_working_account_is_stamped_checked_and_nothing_else_changes(
    org: Organization,
    pagerduty: Any,
    admin_client: Any,
    run: Callable[[], dict[str, int]],
    queued: list[int],
    settings: Any,
) -> None:
    account = oauth_account(org, pagerduty)
    row = model_to_dict(PagerDutyAccount.objects.get(pk=account.pk))
    before = len(pagerduty.requests_log("rest-us"))
    start = timezone.now()

    assert run() == {"works": 1}

    checked = PagerDutyAccount.objects.get(pk=account.pk)
    assert checked.access_checked_at is not None and checked.access_checked_at >= start
    assert {**model_to_dict(checked), "access_checked_at": None} == row
    [call] = pagerduty.requests_log("rest-us")[before:]
    assert (call["method"], call["path"], call["status_code"]) == ("GET", "/rest/us/services", 200)
    assert queued == [] and mail.outbox == []

    # Integrations says so, in the member's time zone.
    owner = org.memberships.get().user
    owner.time_zone = "America/New_York"
    owner.save(update_fields=["time_zone"])
    settings.PAGERDUTY_ACCESS_CHECK_INTERVAL = 900
    local = checked.access_checked_at.astimezone(ZoneInfo("America/New_York"))
    line = access_line(admin_client, org, checked)
    assert line.startswith(f"Access confirmed Access checked just now (at {local:%H:%M}).")
    assert "Tripwire checks it every 15 minutes and renews it before " in line

    # A second run moves the stamp on, never back.
    settings.PAGERDUTY_ACCESS_CHECK_INTERVAL = 60
    assert run() == {"works": 1}
    again = PagerDutyAccount.objects.get(pk=account.pk)
    assert again.access_checked_at is not None
    assert again.access_checked_at >= checked.access_checked_at


def test_an_expired_token_is_refreshed_first(
    org: Organization, pagerduty: Any, run: Callable[[], dict[str, int]]
) -> None:
    account = oauth_account(org, pagerduty)
    pagerduty.expire_tokens(access_token=account.access_token)
    PagerDutyAccount.objects.filter(pk=account.pk).update(expires_at=timezone.now())
    before = len(rest_calls(pagerduty))

    assert run() == {"works": 1}

    account.refresh_from_db()
    assert account.token_version == 1 and account.refreshed_at is not None
    assert account.access_checked_at is not None and not account.needs_reconnect
    assert rest_calls(pagerduty)[before:] == ["GET /rest/us/services"]  # no 401 first


@pytest.mark.parametrize(
    ("host", "mode", "seconds", "words"),
    [
        ("rest-us", "500", 0, "could not reach PagerDuty (answered 500)"),
        ("rest-us", "429", 0, "could not reach PagerDuty (answered 429: too many requests)"),
        ("rest-us", "hang", 3, "could not reach PagerDuty (no answer within 1 s)"),
        ("identity", "500", 0, "could not renew the token with PagerDuty (server_error)"),
    ],
    ids=["rest-500", "rest-429", "rest-timeout", "refresh-500"],
)
def test_pagerduty_failing_or_slow_marks_nothing(
    org: Organization,
    pagerduty: Any,
    run: Callable[[], dict[str, int]],
    queued: list[int],
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    host: str,
    mode: str,
    seconds: float,
    words: str,
) -> None:
    account = oauth_account(org, pagerduty)
    if host == "identity":  # the token is due for a refresh, and the sign-in host fails
        PagerDutyAccount.objects.filter(pk=account.pk).update(expires_at=timezone.now())
    settings.PAGERDUTY_HTTP_TIMEOUT = 1
    pagerduty.fault(host, mode, count=5, seconds=seconds)
    row = model_to_dict(PagerDutyAccount.objects.get(pk=account.pk))
    start = timezone.now()

    with caplog.at_level(logging.DEBUG):
        assert run() == {"failed": 1}
    pagerduty.clear_faults()

    # Nothing marked; the attempt and what it met are recorded, in words.
    after = model_to_dict(PagerDutyAccount.objects.get(pk=account.pk))
    assert after.pop("access_failure") == words
    assert after.pop("access_failed_at") >= start
    assert after == {k: v for k, v in row.items() if not k.startswith("access_fail")}
    assert queued == []
    told = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert [r.getMessage().split(" (")[0] for r in told] == [
        f"Checking access to PagerDuty account {account.pk} failed just now"
    ]
    assert told[0].levelno == logging.INFO
    # The next run (PagerDuty back) finds it working.
    assert run() == {"works": 1}


def test_one_account_failing_does_not_stop_the_others(
    org: Organization,
    pagerduty: Any,
    run: Callable[[], dict[str, int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from integrations.pagerduty import access_check  # each test fails alone on the old code

    broken, working = oauth_account(org, pagerduty, n=1), oauth_account(org, pagerduty, n=2)
    real = access_check.AccountApi.first_service

    def first_service(api: Any) -> None:
        if api.account.pk == broken.pk:
            raise RuntimeError("a bug")
        real(api)

    monkeypatch.setattr(access_check.AccountApi, "first_service", first_service)
    assert run() == {"failed": 1, "works": 1}
    working.refresh_from_db()
    assert working.access_checked_at is not None


def _queries(run: Callable[[], dict[str, int]]) -> tuple[dict[str, int], int]:
    with CaptureQueriesContext(connection) as queries:
        outcome = run()
    return outcome, len(queries)


def test_a_run_stamps_ten_reads_in_one_update_never_one_per_account(
    org: Organization, pagerduty: Any, run: Callable[[], dict[str, int]]
) -> None:
    for n in range(1, 4):
        oauth_account(org, pagerduty, n=n)
    few = _queries(run)
    for n in range(4, 41):
        oauth_account(org, pagerduty, n=n)
    many = _queries(run)
    assert few[0] == {"works": 3} and many[0] == {"works": 40}
    assert few[1] == 2  # the batch read, and its stamps in one update
    assert many[1] == 1 + 4  # the batch read, and one update per ten reads' stamps
    assert not PagerDutyAccount.objects.filter(access_checked_at__isnull=True).exists()


def test_beat_reads_each_connected_account_once_per_interval_a_slice_a_minute(
    org: Organization, make_org: Any, settings: Any
) -> None:
    from integrations.pagerduty import access_check  # each test fails alone on the old code

    entry = settings.CELERY_BEAT_SCHEDULE["pagerduty-check-access"]
    assert entry["task"] == "integrations.pagerduty.tasks.check_access"
    assert entry["schedule"] == crontab()  # at the start of every minute
    assert entry["options"]["expires"] < 60  # a late run gives way to the next minute's
    assert settings.PAGERDUTY_ACCESS_CHECK_INTERVAL == 900

    other = make_org("Globex")
    accounts = []
    for n in range(45):
        account = PagerDutyAccount.objects.create(
            organization=org if n % 2 else other,  # every organization's, services or none
            pd_account_id=f"PACC{n}",
            subdomain=f"acme-{n}",
            name=f"Acme {n}",
            access_token="at",
            refresh_token="rt",
            expires_at=timezone.now() + timedelta(days=1),
        )
        accounts.append(account.pk)
    PagerDutyAccount.objects.filter(pk=accounts[0]).update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT  # reconnecting mends it, not a read
    )
    start = datetime(2026, 12, 1, 3, 7, 0, tzinfo=UTC)
    runs = [
        list(access_check.due(start + timedelta(minutes=m, seconds=5)).values_list("pk"))
        for m in range(15)
    ]
    read = [pk for run in runs for (pk,) in run]
    assert sorted(read) == accounts[1:]  # each once in 15 minutes, none skipped
    assert max(len(run) for run in runs) == 3  # 44 accounts over 15 minutes
