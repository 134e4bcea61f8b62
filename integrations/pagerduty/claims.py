"""The engine's two statements: claim due deliveries, and settle what became of them.

Each is one round trip however many rows a chunk holds. A claim is a compare-and-set
`UPDATE ... RETURNING` that stamps a token and a lease; settling writes every row's outcome
with one `UPDATE ... FROM unnest(...)`, only where the row is still ours (same token, still
sending), so a worker whose lease ran out never overwrites the one that took over.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Field

from integrations.pagerduty.models import Delivery

TABLE = Delivery._meta.db_table
QUEUED, SENDING = Delivery.Status.QUEUED.value, Delivery.Status.SENDING.value

# What settling writes, beside lease_until (cleared).
SETTLED = [
    ("status", "text"),
    ("attempts", "int"),
    ("next_attempt_at", "timestamptz"),
    ("last_error", "text"),
    ("response_status", "int"),
    ("response_message", "text"),
    ("response_errors", "text"),  # JSON, cast to jsonb
    ("latency_ms", "int"),
    ("delivered_at", "timestamptz"),
]


def _db(field: str, value: Any) -> Any:
    """`value` as the database stores `Delivery.<field>` (UUIDs and datetimes differ)."""
    model_field = Delivery._meta.get_field(field)
    if not isinstance(model_field, Field):
        raise TypeError(f"Delivery.{field} is a relation")
    return model_field.get_db_prep_value(value, connection)


def claim(
    delivery_ids: list[int], token: uuid.UUID, now: datetime, lease_until: datetime
) -> list[Delivery]:
    """Take the due rows among `delivery_ids`; return them as they now stand.

    Due: queued and due, or sending with an expired lease (its worker died). A row waits
    while an earlier delivery with its dedup key is unfinished, so that a resolve never
    overtakes its trigger. Rows another worker is claiming right now are skipped, not waited
    for (PostgreSQL).
    """
    if not delivery_ids:
        return []
    ids = list(delivery_ids)
    if connection.vendor == "postgresql":
        # Driven by the ids (primary key lookups), however many other rows are queued.
        source = f"unnest(%s::bigint[]) AS w(id) JOIN {TABLE} c ON c.id = w.id"
        source_params, only_these, these_params = [ids], "TRUE", []
        locking = "FOR UPDATE OF c SKIP LOCKED"
    else:
        source, source_params, locking = f"{TABLE} c", [], ""
        only_these, these_params = f"c.id IN ({', '.join(['%s'] * len(ids))})", ids
    sql = f"""
        UPDATE {TABLE}
           SET status = %s, lease_until = %s, attempts = attempts + 1, claim = %s
         WHERE id IN (
            SELECT c.id FROM {source}
             WHERE {only_these}
               AND ((c.status = %s AND c.next_attempt_at <= %s)
                    OR (c.status = %s AND c.lease_until < %s))
               AND NOT EXISTS (
                    SELECT 1 FROM {TABLE} e
                     WHERE e.organization_id = c.organization_id
                       AND e.dedup_key = c.dedup_key
                       AND e.id < c.id
                       AND e.status IN (%s, %s))
             {locking})
        RETURNING *
    """  # noqa: S608 - table name and placeholders only; every value is a parameter
    when, until = _db("next_attempt_at", now), _db("lease_until", lease_until)
    params = [SENDING, until, _db("claim", token), *source_params, *these_params]
    params += [QUEUED, when, SENDING, when, QUEUED, SENDING]
    return sorted(Delivery.objects.raw(sql, params), key=lambda d: d.pk)


def settle(token: uuid.UUID, rows: list[Delivery]) -> None:
    """Write each row's outcome (its fields as the engine set them), where still ours."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        _settle_one_by_one(token, rows)
        return
    columns = [[_value(row, name) for row in rows] for name, _type in SETTLED]
    assignments = ", ".join(
        f"{name} = v.{name}::jsonb" if name == "response_errors" else f"{name} = v.{name}"
        for name, _type in SETTLED
    )
    arrays = ", ".join(f"%s::{type_}[]" for _name, type_ in SETTLED)
    names = ", ".join(name for name, _type in SETTLED)
    sql = f"""
        UPDATE {TABLE} AS d
           SET {assignments}, lease_until = NULL
          FROM unnest(%s::bigint[], {arrays}) AS v(id, {names})
         WHERE d.id = v.id AND d.claim = %s AND d.status = %s
    """  # noqa: S608 - column and table names are ours; every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [[row.pk for row in rows], *columns, token, SENDING])


def _value(row: Delivery, name: str) -> Any:
    value = getattr(row, name)
    return json.dumps(value) if name == "response_errors" else value


def _settle_one_by_one(token: uuid.UUID, rows: list[Delivery]) -> None:
    """The embedded default (SQLite): the same outcome, a statement per row."""
    mine = Delivery.objects.filter(claim=token, status=Delivery.Status.SENDING)
    for row in rows:
        mine.filter(pk=row.pk).update(
            lease_until=None, **{name: getattr(row, name) for name, _type in SETTLED}
        )


def renew(token: uuid.UUID, delivery_ids: list[int], lease_until: datetime) -> set[int]:
    """Extend the lease on the rows still ours; return their ids."""
    with connection.cursor() as cursor:
        ids = ", ".join(["%s"] * len(delivery_ids))
        cursor.execute(
            f"UPDATE {TABLE} SET lease_until = %s "  # noqa: S608 - placeholders only
            f"WHERE claim = %s AND status = %s AND id IN ({ids}) RETURNING id",
            [_db("lease_until", lease_until), _db("claim", token), SENDING, *delivery_ids],
        )
        return {row[0] for row in cursor.fetchall()}
