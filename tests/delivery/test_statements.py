"""The engine's statements (statements.py) on real PostgreSQL: rows written as the ORM
would, claims that read only the rows asked for, settles that keep what a row untried
already knew, and callers' transactions left durable."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import psycopg
import pytest
from django.db import connection, transaction
from django.utils import timezone

from alerts_saas.crypto import decrypt
from integrations.pagerduty import delivery as engine
from integrations.pagerduty import statements
from integrations.pagerduty.models import Delivery, EventAction

TRIGGER = {"summary": "Disk full on db-1 — 98 %", "source": "db-1", "severity": "critical"}


def _queue(rows: list[Delivery]) -> list[Delivery]:
    with transaction.atomic():
        return engine.queue(rows)


@pytest.mark.django_db
def test_rows_are_written_as_the_orm_reads_them(make_service, org):
    service = make_service()
    user = org.memberships.get().user
    payload = {**TRIGGER, "custom_details": {"huge": 2**70, "emoji": "🔥", "nested": {"a": [1]}}}
    built = engine.build_event(
        service, EventAction.TRIGGER, "written-1", payload, is_test=True, created_by=user
    )
    [saved] = _queue([built])
    row = Delivery.objects.get(pk=saved.pk)
    assert row.organization_id == service.organization_id and row.service_id == service.pk
    assert row.routing_key == service.integration_key  # decrypts to the key
    assert row.body == built.body and row.body["payload"]["custom_details"]["huge"] == 2**70
    assert row.status == Delivery.Status.QUEUED and row.attempts == 0
    assert row.is_test and row.created_by_id == user.pk
    assert row.created_at == built.created_at and row.response_errors == []
    with connection.cursor() as cursor:  # stored encrypted, never as the key itself
        cursor.execute("SELECT routing_key FROM pagerduty_delivery WHERE id = %s", [row.pk])
        [(stored,)] = cursor.fetchall()
    assert service.integration_key not in stored
    assert decrypt(stored) == service.integration_key


@pytest.mark.django_db
def test_a_batch_larger_than_one_document_keeps_its_order(make_service, monkeypatch):
    monkeypatch.setattr(statements, "BATCH_BYTES", 2000)
    service = make_service()
    rows = _queue(
        [engine.build_event(service, EventAction.TRIGGER, f"order-{i}", TRIGGER) for i in range(30)]
    )
    found = Delivery.objects.filter(pk__in=[d.pk for d in rows])
    stored = dict(found.values_list("pk", "dedup_key"))
    assert [stored[d.pk] for d in rows] == [f"order-{i}" for i in range(30)]


@pytest.mark.django_db
def test_a_claim_reads_the_rows_asked_for_not_the_backlog(make_service, monkeypatch):
    """With thousands of rows queued (an outage's backlog) and statistics that predate them,
    claiming one row looks up that row by its key: no plan walks the unfinished rows."""
    service = make_service()
    [first] = _queue([engine.build_event(service, EventAction.TRIGGER, "history", TRIGGER)])
    with connection.cursor() as cursor:  # a history of finished rows, then fresh statistics
        columns = ", ".join(
            f.column for f in Delivery._meta.concrete_fields if f.column not in ("id", "status")
        )
        cursor.execute(
            f"INSERT INTO pagerduty_delivery ({columns}, status) "  # noqa: S608 - model columns
            f"SELECT {columns}, 'delivered' FROM pagerduty_delivery, generate_series(1, 20000) "
            "WHERE id = %s",
            [first.pk],
        )
        cursor.execute("ANALYZE pagerduty_delivery")
    backlog = _queue(
        [
            engine.build_event(service, EventAction.TRIGGER, f"backlog-{i}", TRIGGER)
            for i in range(3000)
        ]
    )
    target = backlog[1500]
    seen: list[tuple[str, list]] = []
    real_run = statements._run

    def spy(sql: str, params: list, **kw: object) -> list:
        seen.append((sql, params))
        return real_run(sql, params, **kw)

    now = timezone.now()
    monkeypatch.setattr(statements, "_run", spy)
    [claimed] = statements.claim([target.pk], uuid.uuid4(), now, now + timedelta(seconds=20))
    monkeypatch.setattr(statements, "_run", real_run)
    assert claimed.pk == target.pk and claimed.routing_key == service.integration_key
    sql, params = seen[0]
    with transaction.atomic(), psycopg.Cursor(connection.connection) as cursor:
        for mode in ("force_custom_plan", "force_generic_plan"):
            cursor.execute(f"SET LOCAL plan_cache_mode = {mode}")
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
            plan = json.dumps(cursor.fetchone()[0])
            assert "pagerduty_delivery_unfinished" not in plan, mode
            assert "Seq Scan" not in plan, mode
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_a_row_given_back_untried_keeps_its_last_answer(make_service, pagerduty, settings):
    """A retry that the key's budget holds back is not an attempt: it keeps PagerDuty's last
    answer and its count of attempts."""
    service = make_service()
    [row] = _queue([engine.build_event(service, EventAction.TRIGGER, "held", TRIGGER)])
    pagerduty.fault("events-us", "500")
    assert engine.attempt(row.pk) == Delivery.Status.QUEUED
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    settings.PAGERDUTY_EVENTS_PER_MINUTE = 0  # no room for this key now
    assert engine.attempt(row.pk) == Delivery.Status.QUEUED
    row.refresh_from_db()
    assert row.attempts == 1 and row.response_status == 500
    assert "500" in row.last_error and row.lease_until is None
    assert row.next_attempt_at > timezone.now()


@pytest.mark.django_db
def test_a_callers_transaction_keeps_waiting_for_the_disk(make_service):
    """The engine commits its own claims without waiting for the disk, but inside a caller's
    transaction it leaves that transaction's durability alone."""
    service = make_service()
    [row] = _queue([engine.build_event(service, EventAction.TRIGGER, "durable", TRIGGER)])
    now = timezone.now()
    with transaction.atomic():
        statements.claim([row.pk], uuid.uuid4(), now, now + timedelta(seconds=20))
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"
