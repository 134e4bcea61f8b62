"""What the alert page adds to its page of firing rows as a whole: the incidents their
failed resolves left open (one query for the page), and whether the newest one paged
nobody (the state card says so)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from alerts_saas.alerts.views.rows import FiringRow
from integrations.pagerduty.left_open import left_open
from integrations.pagerduty.models import Delivery


def with_left_open(organization_id: int, rows: list[FiringRow]) -> list[FiringRow]:
    """The rows, each cleared firing's with the incidents its failed resolves left open in
    PagerDuty: one query for the page, none unless a cleared firing has a failed delivery
    (counted for a `lazy` row, loaded for the others)."""
    cleared = [row.firing.pk for row in rows if not row.firing.is_open and _any_failed(row)]
    if not cleared:
        return rows
    left = left_open(organization_id, cleared, limit=len(cleared) * 10)
    return [
        replace(row, left_open=tuple(o for o in left if o.firing_id == row.firing.pk))
        for row in rows
    ]


def _any_failed(row: FiringRow) -> bool:
    if row.lazy:
        return row.sent_failed > 0
    return any(d.status == Delivery.Status.FAILED for d in row.deliveries)


MISSED_SHOWN = timedelta(hours=24)  # how long the state card says the last firing paged nobody


def last_missed(rows: list[FiringRow], now: datetime) -> FiringRow | None:
    """The newest firing (of `rows`, newest first), when it cleared within MISSED_SHOWN and
    paged nobody, or may have (not confirmed): the alert's state says so beside "Not
    firing"."""
    newest = rows[0] if rows else None
    if newest is None or newest.is_open or newest.cleared_at < now - MISSED_SHOWN:
        return None
    return newest if newest.missed or newest.not_confirmed else None
