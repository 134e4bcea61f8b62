"""Deleting our webhook subscriptions in PagerDuty holds up through what goes wrong: a token
refresh failing just then is waited out, not given up; tries are one request a call, on a
slow schedule, one at a time, bounded in length; a try that crashes is tried again, and a
row no try finished is given up after its day; tokens are kept only once the account goes,
as they are then."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from django.db import connection, transaction
from django.utils import timezone

from integrations.pagerduty.incidents import tasks, unsubscriptions
from integrations.pagerduty.incidents.models import Unsubscription
from integrations.pagerduty.models import PagerDutyAccount
from integrations.pagerduty.tokens import refresh_tokens
from tests.incidents import test_unsubscriptions as base
from tests.incidents.test_unsubscriptions import _delete_org, _deletes, run_queued

pytestmark = pytest.mark.django_db
ours, purged = base.ours, base.purged  # its fixtures


@pytest.fixture
def queued(monkeypatch) -> list[tuple[list[int], float]]:
    """What the tries queue, instead of the broker."""
    seen: list[tuple[list[int], float]] = []
    monkeypatch.setattr(
        unsubscriptions, "queue", lambda ids, countdown=0: seen.append((list(ids), countdown))
    )
    return seen


def _removed(ours) -> Unsubscription:
    """The service removed, its account staying (the removal's transaction, committed)."""
    with transaction.atomic():
        [row_id] = unsubscriptions.capture([ours.service])
    return Unsubscription.objects.get(pk=row_id)


def _words(caplog) -> list[tuple[str, str]]:
    return [
        (r.levelname, r.getMessage()) for r in caplog.records if r.name == unsubscriptions.__name__
    ]


def test_a_token_refresh_failing_just_then_is_waited_out_not_given_up(
    ours, pagerduty, queued, caplog
) -> None:
    _removed(ours)
    PagerDutyAccount.objects.update(expires_at=timezone.now())  # a refresh comes first
    pagerduty.fault("identity", "500", count=1)  # PagerDuty's sign-in host failing

    with caplog.at_level(logging.INFO, logger=unsubscriptions.__name__):
        assert run_queued() == ["retry"]
    row = Unsubscription.objects.get()
    assert row.last_error.startswith("PagerDuty could not")
    assert "tried again in a few minutes" not in row.last_error  # the log says when
    assert [level for level, _ in _words(caplog)] == ["INFO"]  # no "gave up"
    assert pagerduty.webhook_subscriptions() != []

    assert run_queued() == ["done"]  # the sign-in host is back
    assert pagerduty.webhook_subscriptions() == []


def test_a_try_is_one_request_a_call_on_a_schedule_of_minutes_to_an_hour(
    ours, pagerduty, queued
) -> None:
    row = _removed(ours)
    pagerduty.fault("rest-us", "500", count=10)

    assert run_queued() == ["retry"]
    assert _deletes(pagerduty) == [ours.pd_subscription_id]  # none of the client's retries
    assert queued == [([row.pk], 60.0)]  # a minute, not the deliveries' 5 s

    Unsubscription.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    queued.clear()
    assert run_queued() == ["retry"]
    [([_], countdown)] = queued
    assert 600 <= countdown < 660  # as long as it has gone on: doubling

    Unsubscription.objects.update(created_at=timezone.now() - timedelta(hours=5))
    queued.clear()
    assert run_queued() == ["retry"]
    assert queued == []  # an hour: left to the sweep, not held in the broker
    row.refresh_from_db()
    wait = row.next_attempt_at - timezone.now()
    assert timedelta(minutes=59) < wait <= timedelta(hours=1)
    task = tasks.delete_subscriptions
    assert task.soft_time_limit == unsubscriptions.SOFT_TIME_LIMIT and task.time_limit


def test_one_try_at_a_time_leaves_the_workers_to_pages(ours, pagerduty, queued) -> None:
    first, second = _removed(ours), _removed(ours)
    with another_try_under_way():
        assert unsubscriptions.attempt(second.pk) == "busy"
        assert _deletes(pagerduty) == []
        assert unsubscriptions.sweep() == 0  # nor does the sweep queue more

    assert unsubscriptions.attempt(second.pk) == "done"  # that try ended
    assert queued == [([first.pk], 0)]  # handed over to the row due


@contextmanager
def another_try_under_way() -> Iterator[None]:
    """The cleanup slot held by another worker's database connection."""
    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"], autocommit=True
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [unsubscriptions._SLOT])
        yield
        other.execute("SELECT pg_advisory_unlock(%s)", [unsubscriptions._SLOT])  # it ends


def test_a_try_that_crashes_is_tried_again(ours, pagerduty, queued, monkeypatch) -> None:
    row = _removed(ours)

    def crash(api, subscription_id):
        raise RuntimeError("a bug")

    monkeypatch.setattr(unsubscriptions, "_delete_one", crash)
    assert run_queued() == ["retry"]
    row.refresh_from_db()
    assert row.next_attempt_at > timezone.now()
    assert row.last_error == "The try stopped on an unexpected error (RuntimeError)."


def test_the_sweep_gives_up_a_row_past_its_day_that_no_try_finished(
    ours, org, pagerduty, queued, caplog
) -> None:
    row = _removed(ours)
    Unsubscription.objects.filter(pk=row.pk).update(  # its worker was killed mid-try
        created_at=timezone.now() - timedelta(hours=25),
        attempts=7,
        next_attempt_at=timezone.now() - timedelta(minutes=1),
    )
    with caplog.at_level(logging.INFO, logger=unsubscriptions.__name__):
        assert unsubscriptions.sweep() == 0
    [(level, said)] = _words(caplog)
    assert level == "WARNING" and said.startswith(
        f"Tripwire gave up deleting its webhook subscription(s) {ours.pd_subscription_id} in "
        f"PagerDuty account {ours.account.subdomain} (US, organization {org.pk}) after 7 "
        "attempt(s). Last error: No try got an answer."
    )
    assert not Unsubscription.objects.exists() and queued == []


def test_a_long_list_goes_in_tries_of_bounded_length(ours, pagerduty, queued, monkeypatch):
    row = _removed(ours)
    Unsubscription.objects.filter(pk=row.pk).update(
        subscription_ids=[ours.pd_subscription_id, "PGONE01", "PGONE02"]  # 404s: done
    )
    monkeypatch.setattr(unsubscriptions, "TRY_BUDGET", 0)

    assert unsubscriptions.attempt(row.pk) == "more"
    row.refresh_from_db()
    assert row.subscription_ids == ["PGONE01", "PGONE02"]
    assert queued == [([row.pk], 0)]  # the rest, at once
    assert run_queued() == ["more"] and run_queued() == ["done"]
    assert pagerduty.webhook_subscriptions() == []


def test_tokens_are_kept_only_once_the_account_goes_as_they_are_then(
    ours, org, admin_client, pagerduty, purged, queued, django_capture_on_commit_callbacks
) -> None:
    earlier = _removed(ours)  # a service removed; its account stays
    Unsubscription.objects.filter(pk=earlier.pk).update(
        next_attempt_at=timezone.now() + timedelta(hours=1)  # PagerDuty was down
    )
    earlier.refresh_from_db()
    assert earlier.access_token == "" and earlier.refresh_token == ""
    account = refresh_tokens(ours.account)  # PagerDuty rotates the refresh token

    _delete_org(admin_client, org, django_capture_on_commit_callbacks)
    earlier.refresh_from_db()
    assert earlier.account is None and earlier.refresh_token == account.refresh_token
    # The kept access token must be refreshed, by the first try; the second try (the
    # organization's row) uses the rotated tokens, not its copy.
    assert pagerduty.expire_tokens(access_token=account.access_token) == 1
    assert run_queued() == ["done", "done"]
    assert pagerduty.webhook_subscriptions() == []


def test_the_disconnect_page_says_when_the_tokens_go(ours, org, admin_client) -> None:
    page = admin_client.get(
        f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{ours.account.pk}/disconnect/"
    ).content.decode()
    assert "Its access tokens will be deleted" not in page
    assert (
        "Its access tokens are deleted once those subscriptions are removed in PagerDuty or "
        "Tripwire gives up trying." in page
    )
    assert "asks again for up to a day while PagerDuty can't be reached" in page
