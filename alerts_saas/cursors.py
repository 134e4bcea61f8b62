"""Walking a history newest first by where the last page ended, not by page number.

OFFSET reads and throws away every row before the page, so the 2,000th page of a service's
deliveries read the whole table; a cursor (the last row's time and id) starts the next page
on the index where the last one ended, as fast at any depth. Rows of the same time are told
apart by id, so none is shown twice or skipped. The failed deliveries' page, a service's
deliveries and the API's `before` share this one cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from django.db.models import Model, Q, QuerySet

M = TypeVar("M", bound=Model)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ends: its last row's time and id (newest first)."""

    at: datetime
    pk: int

    def __str__(self) -> str:
        return f"{(self.at - EPOCH) // MICROSECOND}-{self.pk}"

    @classmethod
    def parse(cls, raw: str | None) -> Cursor | None:
        """A cursor as sent back; None for anything malformed (or nothing)."""
        micros, _, pk = (raw or "").partition("-")
        if not all(part.isascii() and part.isdigit() and len(part) < 19 for part in (micros, pk)):
            return None
        try:
            at = EPOCH + int(micros) * MICROSECOND
        except OverflowError:
            return None
        return cls(at, int(pk))

    @classmethod
    def of(cls, row: Model, field: str) -> Cursor:
        return cls(getattr(row, field), row.pk)


def older_than(rows: QuerySet[M], cursor: Cursor | None, field: str) -> QuerySet[M]:
    """The rows after `cursor` in (`field`, pk) newest first (all of them for None)."""
    if cursor is None:
        return rows
    # The first condition is implied by the second: said alone, it bounds the index scan.
    return rows.filter(**{f"{field}__lte": cursor.at}).filter(
        Q(**{f"{field}__lt": cursor.at}) | Q(pk__lt=cursor.pk)
    )


def walk(
    rows: QuerySet[M], cursor: Cursor | None, size: int, field: str = "created_at"
) -> tuple[list[M], Cursor | None]:
    """`size` rows after `cursor`, newest first by (`field`, pk), and where the next page
    starts (None on the last one): one query, reading one row more than it shows."""
    ordered = older_than(rows, cursor, field).order_by(f"-{field}", "-pk")
    found = list(ordered[: size + 1])
    shown = found[:size]
    return shown, Cursor.of(shown[-1], field) if len(found) > size else None
