"""Our webhook subscriptions go from PagerDuty in a worker, not in the request that removed
their services or organization: against the sandbox, the request asks PagerDuty nothing; the
worker's try deletes them with the tokens kept as the account went (refreshed if they
expired meanwhile), counts one already gone as done, tries again what PagerDuty could not
take, and says in the log, without a token, when it gives up."""

from __future__ import annotations

import json
import logging
from base64 import b64decode
from datetime import timedelta

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from integrations.pagerduty.incidents import subscriptions, unsubscriptions
from integrations.pagerduty.incidents.models import Unsubscription, WebhookSubscription
from integrations.pagerduty.rest import AccountApi
from integrations.pagerduty.task_names import DELETE_SUBSCRIPTIONS

pytestmark = pytest.mark.django_db


def run_queued() -> list[str]:
    """What the workers do with the rows queued so far, each tried once now."""
    Unsubscription.objects.update(next_attempt_at=timezone.now())
    return [
        unsubscriptions.attempt(pk) for pk in Unsubscription.objects.values_list("pk", flat=True)
    ]


def _deletes(pagerduty) -> list[str]:
    return [
        r["path"].rpartition("/webhook_subscriptions/")[2]
        for r in pagerduty.requests_log()
        if r["method"] == "DELETE" and "/webhook_subscriptions/" in r["path"]
    ]


def _queued_messages() -> list[bytes]:
    """The messages queued for the task that deletes subscriptions, as the broker keeps them."""
    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    return [
        raw
        for raw in client.lrange("celery", 0, -1)
        if json.loads(raw)["headers"]["task"] == DELETE_SUBSCRIPTIONS
    ]


@pytest.fixture
def ours(connected_service, settings) -> WebhookSubscription:
    settings.SITE_URL = "http://tripwire.example"
    made = subscriptions.subscribe(connected_service)
    assert made is not None and made.pd_subscription_id
    return made


@pytest.fixture
def purged():
    from alerts_saas.celery import app

    app.control.purge()
    yield
    app.control.purge()


def _delete_org(admin_client, org: Organization, capture) -> None:
    with capture(execute=True):
        response = admin_client.post(f"/o/{org.slug}/settings/delete/", {"name": org.name})
    assert response.status_code == 302


def test_the_request_asks_pagerduty_nothing_and_queues_no_secret(
    ours, org, admin_client, pagerduty, purged, django_capture_on_commit_callbacks
) -> None:
    token = ours.account.access_token
    refresh = ours.account.refresh_token
    _delete_org(admin_client, org, django_capture_on_commit_callbacks)

    assert _deletes(pagerduty) == [], "the request waited on PagerDuty"
    row = Unsubscription.objects.get()
    assert row.subscription_ids == [ours.pd_subscription_id] and row.account is None
    with connection.cursor() as cursor:  # encrypted at rest, as on the account
        cursor.execute("SELECT access_token, refresh_token FROM pagerduty_incidents_unsubscription")
        stored = " ".join(cursor.fetchone())
    assert token not in stored and refresh not in stored
    [message] = _queued_messages()
    assert token.encode() not in message and refresh.encode() not in message
    args = json.loads(b64decode(json.loads(message)["body"]))[0]
    assert args == [row.pk]  # the row's id, nothing else

    assert run_queued() == ["done"]
    assert _deletes(pagerduty) == [ours.pd_subscription_id]
    assert pagerduty.webhook_subscriptions() == []
    assert not Unsubscription.objects.exists()


def test_tokens_that_expired_after_the_account_went_are_refreshed(
    ours, org, admin_client, pagerduty, purged, django_capture_on_commit_callbacks
) -> None:
    token = ours.account.access_token
    _delete_org(admin_client, org, django_capture_on_commit_callbacks)
    assert pagerduty.expire_tokens(access_token=token) == 1  # the one kept no longer works

    assert run_queued() == ["done"]
    assert pagerduty.webhook_subscriptions() == []


def test_one_already_gone_counts_as_deleted(
    ours,
    connected_service,
    org,
    admin_client,
    pagerduty,
    purged,
    caplog,
    django_capture_on_commit_callbacks,
) -> None:
    AccountApi(connected_service.account).delete_webhook_subscription(ours.pd_subscription_id)
    _delete_org(admin_client, org, django_capture_on_commit_callbacks)

    with caplog.at_level(logging.INFO, logger=unsubscriptions.__name__):
        assert run_queued() == ["done"]
    assert not Unsubscription.objects.exists()
    assert [r.levelname for r in caplog.records if r.name == unsubscriptions.__name__] == ["INFO"]


def test_pagerduty_down_is_tried_again_with_what_is_left(
    ours,
    connected_service,
    org,
    admin_client,
    pagerduty,
    purged,
    monkeypatch,
    django_capture_on_commit_callbacks,
) -> None:
    other = AccountApi(connected_service.account).create_webhook_subscription(
        connected_service.pd_service_id,
        "http://tripwire.example/other",
        ["incident.triggered"],
        "2",
    )
    ours.pd_subscription_id, first = other["id"], ours.pd_subscription_id
    WebhookSubscription.objects.filter(pk=ours.pk).update(pd_subscription_id=other["id"])
    _delete_org(admin_client, org, django_capture_on_commit_callbacks)
    row = Unsubscription.objects.get()
    row.subscription_ids = [first, other["id"]]  # two of ours: the second meets the outage
    row.save()
    queued: list[tuple[list[int], float]] = []
    monkeypatch.setattr(
        unsubscriptions, "queue", lambda ids, countdown=0: queued.append((ids, countdown))
    )

    original = unsubscriptions._delete_one

    def first_then_down(api, subscription_id):
        original(api, subscription_id)
        pagerduty.fault("rest-us", "500", count=10)

    monkeypatch.setattr(unsubscriptions, "_delete_one", first_then_down)
    assert run_queued() == ["retry"]
    monkeypatch.setattr(unsubscriptions, "_delete_one", original)
    row.refresh_from_db()
    assert row.subscription_ids == [other["id"]] and row.attempts == 1
    assert row.last_error == "PagerDuty answered 500: Internal Server Error."
    [(ids, countdown)] = queued
    assert ids == [row.pk] and countdown == django_settings.PAGERDUTY_UNSUBSCRIBE_RETRY_FIRST
    assert row.next_attempt_at > timezone.now()
    assert unsubscriptions.attempt(row.pk) == "not ours"  # not due yet

    pagerduty.clear_faults()
    assert run_queued() == ["done"]
    assert pagerduty.webhook_subscriptions() == []
    assert _deletes(pagerduty).count(first) == 1


@pytest.mark.parametrize("cause", ["revoked", "a day of outage"])
def test_giving_up_is_logged_in_words_without_a_token(
    cause,
    ours,
    org,
    admin_client,
    pagerduty,
    purged,
    caplog,
    monkeypatch,
    django_capture_on_commit_callbacks,
) -> None:
    secrets = (ours.account.access_token, ours.account.refresh_token)
    _delete_org(admin_client, org, django_capture_on_commit_callbacks)
    if cause == "revoked":
        pagerduty.revoke_tokens(all=True)
    else:
        Unsubscription.objects.update(created_at=timezone.now() - timedelta(hours=24))
        pagerduty.fault("rest-us", "500", count=10)
    monkeypatch.setattr(unsubscriptions, "queue", lambda *a, **k: None)

    with caplog.at_level(logging.INFO, logger=unsubscriptions.__name__):
        assert run_queued() == ["failed"]
    [record] = [r for r in caplog.records if r.name == unsubscriptions.__name__]
    said = record.getMessage()
    assert record.levelname == "WARNING"
    assert said.startswith(
        f"Tripwire gave up deleting its webhook subscription(s) {ours.pd_subscription_id} "
        f"in PagerDuty account {ours.account.subdomain} (US, organization {org.pk}) after 1 "
        "attempt(s). Last error: "
    )
    assert "deletes them in PagerDuty (Integrations, Generic Webhooks (v3))." in said
    assert not any(secret in said for secret in secrets)
    assert not Unsubscription.objects.exists()  # its tokens with it
    assert [s["id"] for s in pagerduty.webhook_subscriptions()] == [ours.pd_subscription_id]


def test_the_sweep_queues_a_row_whose_task_was_lost(ours, org, monkeypatch) -> None:
    from django.db import transaction

    with transaction.atomic():  # the removal's transaction; its commit's task is lost
        ids = unsubscriptions.capture([ours.service])
    queued: list[list[int]] = []
    monkeypatch.setattr(unsubscriptions, "queue", lambda ids, countdown=0: queued.append(ids))
    assert unsubscriptions.sweep() == 0  # just written: its task is on its way
    Unsubscription.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=2))
    assert unsubscriptions.sweep() == 1 and queued == [ids]
