"""Filling a history table fast: copies of one real row, made by the database itself
(INSERT ... SELECT over generate_series), so a test can hold 10,000+ rows in a second and
EXPLAIN a query on a table the size of a real one."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import Model


def copies(
    row: Model,
    n: int,
    *,
    field: str = "created_at",
    every: timedelta,
    same: int = 1,
    numbered: Sequence[str] = (),
) -> None:
    """`n` copies of `row`, older and older: `same` at a time share one time (`field`), each
    such group `every` before the one before it, the first group `every` before `row`. The
    text columns `numbered` get "-<n>" added, to keep them unique."""
    model = type(row)
    table = model._meta.db_table
    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    values = [
        f'src."{column}" - ((1 + (n - 1) / {int(same)}) * %s::interval)'
        if column == model._meta.get_field(field).column
        else f"src.\"{column}\" || '-' || n"
        if column in numbered
        else f'src."{column}"'
        for column in columns
    ]
    names = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" ({names}) SELECT {", ".join(values)} '  # noqa: S608
            f'FROM "{table}" src, generate_series(1, %s) n WHERE src.id = %s',
            [every, n, row.pk],
        )
        cursor.execute(f'ANALYZE "{table}"')


def scans(sql: str, table: str) -> list[tuple[str, str]]:
    """How PostgreSQL's plan for `sql` reads `table`: each scan's kind and index ("" for
    none: a sequential scan)."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        [[plan]] = cursor.fetchall()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return [
        (node["Node Type"], _index(node))
        for node in _nodes(plan[0]["Plan"])
        if node.get("Relation Name") == table
    ]


def _index(node: dict[str, Any]) -> str:
    """The index a scan reads: its own, or a bitmap heap scan's bitmap index scans'."""
    if "Index Name" in node:
        return str(node["Index Name"])
    return " ".join(str(n["Index Name"]) for n in _nodes(node) if "Index Name" in n)


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def delivery(service: Any, **fields: object) -> Any:
    """One delivered trigger to `service` (a PagerDutyService), `fields` changed."""
    from integrations.pagerduty.models import Delivery, EventAction

    values: dict[str, object] = {
        "organization_id": service.organization_id,
        "service": service,
        "service_name": service.name,
        "region": "us",
        "routing_key": service.integration_key,
        "event_action": EventAction.TRIGGER,
        "dedup_key": "k",
        "body": {},
        "status": Delivery.Status.DELIVERED,
        **fields,
    }
    return Delivery.objects.create(**values)
