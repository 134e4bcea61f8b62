"""Beat's check of connected services: a service deleted in PagerDuty is found within the
interval with nobody opening the service picker, and the owner is told once, as for any
paging path that broke. Accounts are spread over the interval, each read with one listing;
a list that is not complete marks nothing deleted; an account to reconnect is not read; one
account failing does not stop the others; another organization's services are untouched."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from celery.schedules import crontab
from django.core import mail
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from alerts_saas.notices import tasks as notices
from integrations.pagerduty import paths, rest, service_check
from integrations.pagerduty import tasks as beat
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from tests.pagerduty.beat_reads import oauth_account, rest_calls
from tests.pagerduty_fixtures import EU_USER, US_USER, connect_service, unmarked

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(settings: Any, django_capture_on_commit_callbacks: Any) -> Callable[[], int]:
    """Beat's task as the worker runs it, its commit callbacks run as they would be; every
    account due in every run (an interval of one minute, one slice)."""
    settings.PAGERDUTY_SERVICE_CHECK_INTERVAL = 60

    def run_once() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return beat.check_services()

    return run_once


def _deleted(service: PagerDutyService) -> bool:
    service.refresh_from_db()
    return service.refused_at is not None and service.refused_detail == paths.SERVICE_DELETED


@pytest.fixture
def their_account(
    make_org: Any, make_user: Any, pagerduty: Any
) -> Callable[[str, str, str], PagerDutyAccount]:
    """Another organization (its name, its owner's email) with an account connected through
    OAuth by a PagerDuty user (of the EU for EU_USER: `oauth_account`)."""

    def make(name: str, owner: str, pd_user: str) -> PagerDutyAccount:
        return oauth_account(make_org(name, owner=make_user(owner)), pagerduty, pd_user)

    return make


def test_beat_reads_each_account_once_per_interval_a_slice_of_them_a_minute(
    org: Organization, make_org: Any, settings: Any
) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["pagerduty-check-services"]
    assert entry["task"] == "integrations.pagerduty.tasks.check_services"
    assert entry["schedule"] == crontab()  # at the start of every minute
    assert entry["options"]["expires"] < 60  # a late run gives way to the next minute's
    assert settings.PAGERDUTY_SERVICE_CHECK_INTERVAL == 900

    owner = org.memberships.get().user
    accounts = []
    for n in range(45):
        account = PagerDutyAccount.objects.create(
            organization=org,
            pd_account_id=f"PACC{n}",
            subdomain=f"acme-{n}",
            name=f"Acme {n}",
            access_token="at",
            refresh_token="rt",
            expires_at=timezone.now() + timedelta(days=1),
            connected_by=owner,
        )
        PagerDutyService.objects.create(
            organization=org, account=account, name=f"S{n}", integration_key=f"{n:032d}"
        )
        accounts.append(account.pk)
    PagerDutyAccount.objects.filter(pk=accounts[0]).update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT
    )
    PagerDutyService.objects.filter(account_id=accounts[1]).delete()  # nothing to check

    start = datetime(2026, 11, 30, 3, 7, 0, tzinfo=UTC)
    runs = [
        list(service_check.due(start + timedelta(minutes=m, seconds=5)).values_list("pk"))
        for m in range(15)
    ]
    read = Counter(pk for run in runs for (pk,) in run)
    assert read == Counter(accounts[2:])  # each once in 15 minutes, none skipped
    assert max(len(run) for run in runs) == 3  # 43 accounts over 15 minutes


def test_a_service_deleted_in_pagerduty_is_found_by_beat_and_the_owner_told_once(
    org: Organization,
    connected_service: PagerDutyService,
    pagerduty: Any,
    admin_client: Any,
    run: Callable[[], int],
    queued: list[int],
) -> None:
    alert = Alert.objects.create(organization=org, name="Checkout errors", threshold=1)
    alert.targets.add(connected_service)
    pagerduty.delete_service(connected_service.pd_service_id)
    before = len(rest_calls(pagerduty))
    mail.outbox.clear()

    assert run() == 1

    assert _deleted(connected_service)
    # One listing of the account (139 services, 100 a call), and one question about the
    # service it left out (PagerDuty's 404 confirms the deletion); nothing about the others.
    calls = rest_calls(pagerduty)[before:]
    pd_id = connected_service.pd_service_id
    assert calls == ["GET /rest/us/services"] * 2 + [f"GET /rest/us/services/{pd_id}"], calls
    # Whatever tells people of a paging path that broke is told: once.
    assert queued == [org.pk]
    notices.reconcile_organization(org.pk)
    [email] = mail.outbox
    assert email.to == ["owner@acme.example"]
    assert email.subject == (
        "[Tripwire] Paging broken in Acme Ops: Checkout API 001 was deleted in PagerDuty"
    )
    assert "Checkout errors" in email.body

    # The next runs find it marked already: nothing announced, nothing sent again.
    first = connected_service.refused_at
    assert run() == 0
    notices.check_paging_problems()
    assert queued == [org.pk] and len(mail.outbox) == 1
    connected_service.refresh_from_db()
    assert connected_service.refused_at == first
    dashboard = admin_client.get(f"/o/{org.slug}/").content.decode()
    assert "Checkout API 001 was deleted in PagerDuty" in dashboard


def _second(connected_service: PagerDutyService, pagerduty: Any) -> PagerDutyService:
    """Another service of the same account connected, on the list's first page."""
    assert connected_service.account is not None
    pd_service = next(
        s for s in pagerduty.account("us")["services"] if s["name"] == "Checkout API 002"
    )
    return connect_service(connected_service.account, pd_service, pagerduty)


def test_an_integration_removed_in_pagerduty_is_found_by_beat(
    org: Organization,
    connected_service: PagerDutyService,
    pagerduty: Any,
    run: Callable[[], int],
    queued: list[int],
) -> None:
    other = _second(connected_service, pagerduty)
    pagerduty.remove_integration(other.integration_id)  # in PagerDuty's web app

    assert run() == 1

    other.refresh_from_db()
    assert other.refused_at is not None and other.refused_detail == paths.INTEGRATION_REMOVED
    assert unmarked(connected_service)
    assert queued == [org.pk]


def test_a_list_that_is_not_complete_marks_nothing_deleted(
    connected_service: PagerDutyService,
    pagerduty: Any,
    run: Callable[[], int],
    queued: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pagerduty.delete_service(connected_service.pd_service_id)
    other = _second(connected_service, pagerduty)

    # PagerDuty failing midway: nothing is judged.
    pagerduty.fault("rest-us", "500", count=20)
    assert run() == 0
    pagerduty.clear_faults()
    # Paging cut short (PagerDuty pages no further than offset + limit 10,000): one page.
    # What it lists still counts (an integration gone from a service it shows); what it
    # leaves out says nothing.
    pagerduty.remove_integration(other.integration_id)
    monkeypatch.setattr(rest, "ITERATION_LIMIT", 100)
    assert run() == 1
    monkeypatch.undo()
    other.refresh_from_db()
    assert other.refused_detail == paths.INTEGRATION_REMOVED
    assert unmarked(connected_service)

    # Read to its end, the list says it.
    assert run() == 1
    assert _deleted(connected_service)


def test_an_account_to_reconnect_is_not_read_and_a_refused_token_marks_nothing(
    org: Organization,
    connected_service: PagerDutyService,
    pagerduty: Any,
    run: Callable[[], int],
    queued: list[int],
    their_account: Callable[[str, str, str, str], PagerDutyAccount],
) -> None:
    account = connected_service.account
    assert account is not None
    # Another organization connected the same PagerDuty account and service.
    theirs = their_account("Other Ops", "boss@other.example", US_USER)
    pd_service = {"id": connected_service.pd_service_id, "name": connected_service.name}
    their_service = connect_service(theirs, pd_service, pagerduty)
    pagerduty.delete_service(connected_service.pd_service_id)

    # Both to reconnect: neither is read, nothing is recorded.
    PagerDutyAccount.objects.update(status=PagerDutyAccount.Status.NEEDS_RECONNECT)
    before = len(rest_calls(pagerduty))
    assert run() == 0
    assert len(rest_calls(pagerduty)) == before

    # Connected again, but PagerDuty refuses our tokens: it says nothing of the services.
    PagerDutyAccount.objects.filter(pk=account.pk).update(status=PagerDutyAccount.Status.ACTIVE)
    pagerduty.revoke_tokens(access_token=account.access_token)
    assert run() == 0
    assert unmarked(connected_service) and unmarked(their_service)
    account.refresh_from_db()
    assert account.needs_reconnect  # as any call that meets the refusal records it
    assert queued == [org.pk]  # the account to reconnect, announced by the refusal itself


def test_one_account_failing_does_not_stop_the_others_nor_touch_them(
    org: Organization,
    connected_service: PagerDutyService,
    pagerduty: Any,
    run: Callable[[], int],
    queued: list[int],
    their_account: Callable[[str, str, str, str], PagerDutyAccount],
) -> None:
    # Another organization's EU account: one service deleted there, one still there.
    theirs = their_account("Globex Paging", "boss@globex.example", EU_USER)
    gone, kept = pagerduty.account("eu")["services"][:2]
    their_gone, their_kept = (connect_service(theirs, s, pagerduty) for s in (gone, kept))
    pagerduty.delete_service(gone["id"], region="eu")

    # Our account (read first) fails: theirs is read all the same.
    pagerduty.fault("rest-us", "500", count=20)
    assert run() == 1
    pagerduty.clear_faults()
    assert _deleted(their_gone)
    assert unmarked(their_kept)
    assert unmarked(connected_service)
    assert queued == [theirs.organization_id]

    # Ours deleted next: ours is marked, theirs stays as it was.
    pagerduty.delete_service(connected_service.pd_service_id)
    assert run() == 1
    assert _deleted(connected_service)
    assert unmarked(their_kept)
    assert queued == [theirs.organization_id, org.pk]


def test_the_services_read_is_the_accounts_access_check(
    org: Organization,
    connected_service: PagerDutyService,
    pagerduty: Any,
    run: Callable[[], int],
    queued: list[int],
) -> None:
    """The listing proves the token (`access_check` leaves these accounts to it): a read
    that works is stamped checked, one that cannot reach PagerDuty is recorded with why."""
    account = connected_service.account
    assert account is not None
    start = timezone.now()
    assert run() == 0
    account.refresh_from_db()
    assert account.access_checked_at is not None and account.access_checked_at >= start
    checked = account.access_checked_at

    pagerduty.fault("rest-us", "500", count=20)
    assert run() == 0
    pagerduty.clear_faults()
    account.refresh_from_db()
    assert account.access_failure == "could not reach PagerDuty (answered 500)"
    assert account.access_failed_at is not None and account.access_failed_at > checked
    assert account.access_checked_at == checked and not account.needs_reconnect
    assert queued == []


def test_a_403_to_the_listing_marks_the_account_to_reconnect_as_the_access_check_does(
    org: Organization,
    connected_service: PagerDutyService,
    pagerduty: Any,
    run: Callable[[], int],
    queued: list[int],
) -> None:
    account = connected_service.account
    assert account is not None
    # A token without services.read: PagerDuty answers 403 to the listing.
    token = pagerduty.issue_token(US_USER, scope="oncalls.read")["access_token"]
    PagerDutyAccount.objects.filter(pk=account.pk).update(access_token=token)
    assert run() == 0
    account.refresh_from_db()
    assert account.needs_reconnect
    assert account.status_detail.startswith(
        "PagerDuty refused access when Tripwire checked it (403:"
    )
    assert unmarked(connected_service)
    assert queued == [org.pk]
