"""The engine's hot statements: write deliveries, claim due ones, settle what became of them.

Each is one round trip however many rows a chunk holds, and costs little in Python:

- `insert` writes a batch with one `INSERT ... SELECT FROM jsonb_to_recordset(...)`: the
  rows go as one JSON document (orjson, in C) instead of a bound value per column and row,
  and each distinct routing key is encrypted once per batch, not once per row.
- `claim` is a compare-and-set `UPDATE ... RETURNING` that stamps a token and a lease, and
  returns only what sending needs, as `Attempt` records (no model instances); a routing
  key is decrypted once per process and ciphertext.
- `settle` writes every row's outcome with one `UPDATE ... FROM jsonb_to_recordset(...)`,
  only where the row is still ours (same token, still sending), so a worker whose lease ran
  out never overwrites the one that took over; the same statement says which services a
  delivery reached are marked refused or failing, to heal in a transaction of its own
  (`paths.heal`: rare, and it pages again what the mark kept from paging).

Claims, settles and renewals are committed without waiting for the disk (PostgreSQL's
`synchronous_commit` off, for that statement's transaction only). That is safe because each
can be lost and replayed: a lost claim or outcome leaves the row to be sent again, with the
same dedup key, which PagerDuty folds into the same incident. The row itself is written
durably, with its cause. It halves the fsyncs per delivery, and setting it inside the
statement (`set_config` in a CTE) keeps each to one round trip, not four (BEGIN, SET LOCAL,
the statement, COMMIT). Inside a caller's transaction they leave its durability alone.

SQLite (the embedded default) gets the same results from plain statements.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

from alerts_saas.crypto import decrypt_cached, encrypt
from integrations.pagerduty import paths
from integrations.pagerduty.models import Delivery, PagerDutyService

TABLE = Delivery._meta.db_table
SERVICES = PagerDutyService._meta.db_table
QUEUED, SENDING = Delivery.Status.QUEUED.value, Delivery.Status.SENDING.value
DELIVERED, FAILED = Delivery.Status.DELIVERED.value, Delivery.Status.FAILED.value

# Written by `insert`: (column, PostgreSQL type). The model's own defaults fill them.
INSERTED = [
    ("organization_id", "bigint"),
    ("service_id", "bigint"),
    ("service_name", "text"),
    ("alert_id", "bigint"),
    ("firing_id", "bigint"),
    ("region", "text"),
    ("routing_key", "text"),
    ("event_action", "text"),
    ("dedup_key", "text"),
    ("body", "jsonb"),
    ("is_test", "boolean"),
    ("reason", "text"),
    ("trim_note", "text"),
    ("status", "text"),
    ("attempts", "int"),
    ("next_attempt_at", "timestamptz"),
    ("last_error", "text"),
    ("response_status", "int"),
    ("response_message", "text"),
    ("response_errors", "jsonb"),
    ("latency_ms", "int"),
    ("created_by_id", "bigint"),
    ("created_by_token_id", "bigint"),
    ("created_at", "timestamptz"),
    ("delivered_at", "timestamptz"),
]
# A document of rows stays well under jsonb's 256 MB (events are up to 512 KB each).
BATCH_BYTES = 16 * 1024 * 1024
# What an attempt's answer sets (written only for rows that were tried).
ANSWER = [
    ("last_error", "text"),
    ("response_status", "int"),
    ("response_message", "text"),
    ("response_errors", "jsonb"),
    ("latency_ms", "int"),
    ("delivered_at", "timestamptz"),
]


@dataclass(slots=True)
class Attempt:
    """A claimed delivery as the engine sends it, and the outcome it sets.

    `tried` says whether it was sent: only then are the answer's fields written back. A
    row given back untried keeps its previous answer.
    """

    pk: int
    organization_id: int
    service_id: int | None
    region: str
    routing_key: str
    event_action: str
    dedup_key: str
    body: dict[str, Any]
    attempts: int
    created_at: datetime
    status: str = SENDING
    next_attempt_at: datetime | None = None
    tried: bool = False
    refused: bool = False  # PagerDuty refused the routing key (paths.refuses_key)
    last_error: str = ""
    response_status: int | None = None
    response_message: str = ""
    response_errors: list[str] = field(default_factory=list)
    latency_ms: int | None = None
    delivered_at: datetime | None = None

    @property
    def is_final(self) -> bool:
        return self.status in (DELIVERED, FAILED)


def _db(field_name: str, value: Any) -> Any:
    """`value` as the database stores `Delivery.<field>` (UUIDs and datetimes differ)."""
    model_field = Delivery._meta.get_field(field_name)
    if not isinstance(model_field, Field):
        raise TypeError(f"Delivery.{field_name} is a relation")
    return model_field.get_db_prep_value(value, connection)


def _json(value: Any) -> bytes:
    """orjson where it can (all but integers beyond 64 bits), else the standard library."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, default=str).encode()


def _batches(rows: list[bytes], limit: int = BATCH_BYTES) -> list[list[bytes]]:
    """The rows in order, in documents of at most `limit` bytes (or one row, if larger)."""
    batches: list[list[bytes]] = [[]]
    size = 0
    for row in rows:
        if batches[-1] and size + len(row) > limit:
            batches.append([])
            size = 0
        batches[-1].append(row)
        size += len(row) + 1
    return batches


def _run(sql: str, params: list[Any], *, prepare: bool = True) -> list[tuple[Any, ...]]:
    """Run one of these statements on PostgreSQL with its parameters bound on the server,
    and (`prepare`) prepared once per connection: Django's cursors bind on the client, so
    PostgreSQL parses and plans every statement afresh. Errors are Django's, as from its
    own cursors. Behind PgBouncer, prepared statements need its support for them (1.21+)."""
    connection.ensure_connection()
    started = time.monotonic()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=prepare)
        rows = cursor.fetchall() if cursor.description else []
    if connection.queries_logged:  # seen where Django's queries are (tests, debug pages)
        connection.queries_log.append(
            {"sql": " ".join(sql.split()), "time": f"{time.monotonic() - started:.3f}"}
        )
    return rows


def _relaxed() -> tuple[str, str]:
    """A CTE that turns off waiting for the disk at this statement's commit, and the
    FROM item that makes it run; nothing inside a caller's transaction."""
    if connection.in_atomic_block:
        return "", ""
    return (
        "WITH relaxed AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true))",
        "relaxed",
    )


def insert(deliveries: list[Delivery]) -> list[Delivery]:
    """Write unsaved deliveries; set and return them with their primary keys."""
    if not deliveries:
        return deliveries
    if connection.vendor != "postgresql":
        return list(Delivery.objects.bulk_create(deliveries))
    ciphertexts = {key: encrypt(key) for key in {d.routing_key for d in deliveries}}
    rows = [
        _json(
            {
                name: (ciphertexts[d.routing_key] if name == "routing_key" else getattr(d, name))
                for name, _type in INSERTED
            }
        )
        for d in deliveries
    ]
    names = ", ".join(name for name, _type in INSERTED)
    columns = ", ".join(f"{name} {type_}" for name, type_ in INSERTED)
    sql = f"""
        INSERT INTO {TABLE} ({names})
        SELECT {names} FROM jsonb_to_recordset(%s::jsonb) AS v({columns})
        RETURNING id
    """  # noqa: S608 - column and table names are ours; the rows are one parameter
    ids: list[int] = []
    for batch in _batches(rows):
        ids += [row[0] for row in _run(sql, [(b"[" + b",".join(batch) + b"]").decode()])]
    # One row back per row in, in order (as Django's own bulk insert relies on).
    for delivery, pk in zip(deliveries, ids, strict=True):
        delivery.pk = pk
        delivery._state.adding = False
        delivery._state.db = "default"
    return deliveries


def claim(
    delivery_ids: list[int], token: uuid.UUID, now: datetime, lease_until: datetime
) -> list[Attempt]:
    """Take the due rows among `delivery_ids`; return them, by id, as attempts to make.

    Due: queued and due, or sending with an expired lease (its worker died). A row waits
    while an earlier delivery with its dedup key is unfinished, so that a resolve never
    overtakes its trigger. Rows another worker is claiming right now are skipped, not waited
    for (PostgreSQL).

    The statement is driven by the ids (primary key lookups), however many other rows are
    queued: the status tests are CASEs, which the partial index of unfinished rows cannot
    serve, so no plan (prepared and generic ones included, whatever the statistics) walks
    that index instead: the rows by their key, earlier ones by (organization, dedup key).
    """
    if not delivery_ids:
        return []
    ids = list(delivery_ids)
    if connection.vendor == "postgresql":
        source = f"unnest(%s::bigint[]) AS w(id) JOIN {TABLE} c ON c.id = w.id"
        source_params, only_these, these_params = [ids], "TRUE", []
        locking = "FOR UPDATE OF c SKIP LOCKED"
        body = "body::text"
    else:
        source, source_params, locking, body = f"{TABLE} c", [], "", "body"
        only_these, these_params = f"c.id IN ({', '.join(['%s'] * len(ids))})", ids
    cte, relaxed = _relaxed() if connection.vendor == "postgresql" else ("", "")
    sql = f"""
        {cte}
        UPDATE {TABLE}
           SET status = %s, lease_until = %s, attempts = attempts + 1, claim = %s
          {"FROM " + relaxed if relaxed else ""}
         WHERE id IN (
            SELECT c.id FROM {source}
             WHERE {only_these}
               AND CASE c.status WHEN %s THEN c.next_attempt_at <= %s
                                 WHEN %s THEN c.lease_until < %s
                                 ELSE FALSE END
               AND NOT EXISTS (
                    SELECT 1 FROM {TABLE} e
                     WHERE e.organization_id = c.organization_id
                       AND e.dedup_key = c.dedup_key
                       AND e.id < c.id
                       AND CASE WHEN e.status IN (%s, %s) THEN TRUE ELSE FALSE END)
             {locking})
        RETURNING id, organization_id, service_id, region, routing_key, event_action, dedup_key,
                  {body}, attempts, created_at
    """  # noqa: S608 - table name and placeholders only; every value is a parameter
    when, until = _db("next_attempt_at", now), _db("lease_until", lease_until)
    params = [SENDING, until, _db("claim", token), *source_params, *these_params]
    params += [QUEUED, when, SENDING, when, QUEUED, SENDING]
    if connection.vendor == "postgresql":
        rows = _run(sql, params)
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    return sorted((_attempt(row) for row in rows), key=lambda a: a.pk)


def _attempt(row: tuple[Any, ...]) -> Attempt:
    pk, org, service_id, region, routing_key, action, dedup_key, body, attempts, created_at = row
    if not isinstance(created_at, datetime):  # SQLite: text, naive UTC
        created_at = datetime.fromisoformat(created_at)
    if timezone.is_naive(created_at):
        created_at = created_at.replace(tzinfo=UTC)
    return Attempt(
        pk=pk,
        organization_id=org,
        service_id=service_id,
        region=region,
        routing_key=decrypt_cached(routing_key),
        event_action=action,
        dedup_key=dedup_key,
        body=orjson.loads(body) if isinstance(body, str | bytes) else body,
        attempts=attempts,
        created_at=created_at,
    )


def settle(token: uuid.UUID, attempts: list[Attempt], failed: Collection[int] = ()) -> None:
    """Write each attempt's outcome, where the row is still ours; the services a delivery
    just reached, marked refused or failing (but those of `failed`, which a delivery of this
    batch failed for good), page again (`paths.heal`), in the transaction that writes those
    deliveries' outcomes: no one reads one without the other. The statement that writes the
    others reads which services are marked: while every path works, it is the only one."""
    if not attempts:
        return
    delivered = {(a.service_id, a.region) for a in attempts if a.status == DELIVERED}
    failed_ids = set(failed)
    reached = sorted((pk, region) for pk, region in delivered if pk and pk not in failed_ids)
    if connection.vendor != "postgresql":
        with transaction.atomic():
            _settle_one_by_one(token, attempts)
            paths.heal([pk for pk, _ in reached], reached_in=reached)
        return
    marked = _settle_unless_marked(token, attempts, reached)
    if marked:
        with transaction.atomic():
            ids = {pk for pk, _ in marked}
            healing = [a for a in attempts if a.status == DELIVERED and a.service_id in ids]
            _settle_unless_marked(token, healing, [])
            paths.heal(ids, reached_in=marked)


def _settle_unless_marked(
    token: uuid.UUID, attempts: list[Attempt], reached: list[tuple[int, str]]
) -> set[tuple[int, str]]:
    """Write the outcomes in one statement, but a delivered one's to a service of `reached`
    ((service, region) pairs) marked refused or failing, reached in its region now (not the
    one a person switched it from); return those marked services, with that region."""
    rows = [
        {
            "id": a.pk,
            "status": a.status,
            "attempts": a.attempts,
            "next_attempt_at": a.next_attempt_at,
            "tried": a.tried,
            **{name: getattr(a, name) for name, _type in ANSWER},
        }
        for a in attempts
    ]
    answer = ", ".join(
        f"{name} = CASE WHEN v.tried THEN v.{name} ELSE d.{name} END" for name, _type in ANSWER
    )
    columns = ", ".join(f"{name} {type_}" for name, type_ in ANSWER)
    cte, relaxed = _relaxed()
    # A data-modifying CTE runs whether or not the statement reads it.
    settled = f"""marked AS (
        SELECT s.id, s.region
          FROM unnest(%s::bigint[], %s::text[]) AS r(id, region)
          JOIN {SERVICES} s ON s.id = r.id AND s.region = r.region
         WHERE (refused_at IS NOT NULL OR failing_since IS NOT NULL
                OR unconfirmed_at IS NOT NULL)),
      settled AS (
        UPDATE {TABLE} AS d
           SET status = v.status, attempts = v.attempts, lease_until = NULL,
               next_attempt_at = COALESCE(v.next_attempt_at, d.next_attempt_at), {answer}
          FROM jsonb_to_recordset(%s::jsonb) AS v(
               id bigint, status text, attempts int, next_attempt_at timestamptz,
               tried boolean, {columns}){", " + relaxed if relaxed else ""}
         WHERE d.id = v.id AND d.claim = %s AND d.status = %s
           AND NOT (v.status = %s AND EXISTS (SELECT 1 FROM marked m WHERE m.id = d.service_id)))
    """  # noqa: S608
    cte = f"{cte}, {settled}" if cte else f"WITH {settled}"
    sql = f"{cte} SELECT id, region FROM marked"  # noqa: S608 - names and placeholders only
    params = [[pk for pk, _ in reached], [region for _, region in reached]]
    params += [_json(rows).decode(), _db("claim", token), SENDING, DELIVERED]
    return {(row[0], row[1]) for row in _run(sql, params)}


def _settle_one_by_one(token: uuid.UUID, attempts: list[Attempt]) -> None:
    """The embedded default (SQLite): the same outcome, a statement per row."""
    mine = Delivery.objects.filter(claim=token, status=Delivery.Status.SENDING)
    for a in attempts:
        values: dict[str, Any] = {"lease_until": None, "status": a.status, "attempts": a.attempts}
        if a.next_attempt_at is not None:
            values["next_attempt_at"] = a.next_attempt_at
        if a.tried:
            values.update({name: getattr(a, name) for name, _type in ANSWER})
        mine.filter(pk=a.pk).update(**values)


def renew(token: uuid.UUID, delivery_ids: list[int], lease_until: datetime) -> set[int]:
    """Extend the lease on the rows still ours; return their ids."""
    if connection.vendor == "postgresql":
        cte, relaxed = _relaxed()
        sql = (
            f"{cte} UPDATE {TABLE} SET lease_until = %s "  # noqa: S608 - placeholders only
            f"{'FROM ' + relaxed if relaxed else ''} "
            "WHERE claim = %s AND status = %s AND id = ANY(%s::bigint[]) RETURNING id"
        )
        params = [_db("lease_until", lease_until), _db("claim", token), SENDING, delivery_ids]
        return {row[0] for row in _run(sql, params)}
    with connection.cursor() as cursor:
        ids = ", ".join(["%s"] * len(delivery_ids))
        cursor.execute(
            f"UPDATE {TABLE} SET lease_until = %s "  # noqa: S608 - placeholders only
            f"WHERE claim = %s AND status = %s AND id IN ({ids}) RETURNING id",
            [_db("lease_until", lease_until), _db("claim", token), SENDING, *delivery_ids],
        )
        return {row[0] for row in cursor.fetchall()}
