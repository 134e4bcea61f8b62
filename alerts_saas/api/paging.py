"""One page of a list: `page` and `per_page` in, the items and where the others are out.

History (firings, deliveries, the activity log) grows without end, so its lists count at
most COUNT_CAP rows ("10000+" past that), reach that far by `page`, and further by `before`:
a cursor on the index (`alerts_saas.cursors`) that is as fast at any depth.

The other lists (alerts, services, ingest keys, mute windows not over yet) stay counted
exactly, by `page_of`: people make their rows one at a time, retention removes ended
windows, so they stay small enough to count whole, and an exact count is what they are
read for."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from ninja import Schema
from pydantic import Field

from alerts_saas.api.errors import Problems
from alerts_saas.api.schemas import COUNT_CAP, FieldProblem
from alerts_saas.cursors import Cursor, walk

M = TypeVar("M", bound=Model)
MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000  # OFFSET is a bigint: a page past it was a 500


class Paging(Schema):
    page: int = Field(default=1, ge=1, le=MAX_PAGE, description=f"From 1 to {MAX_PAGE:,}.")
    per_page: int = Field(default=50, ge=1, le=MAX_PER_PAGE, description=f"1 to {MAX_PER_PAGE}.")


class HistoryPaging(Paging):
    page: int = Field(
        default=1,
        ge=1,
        description=f"From 1, as far as the first {COUNT_CAP:,} rows reach; past them (400), "
        "walk with `before`.",
    )
    before: str | None = Field(
        default=None,
        description="The rows older than this: a page's `next_before`, as it came. Walks the "
        "whole history, any depth, none shown twice or missed. With `page` 1 only.",
    )


def page_of(
    request: HttpRequest, rows: QuerySet[M], paging: Paging
) -> tuple[list[M], dict[str, Any]]:
    """The page's rows (one query, and one to count) and the page's facts for `PageOut`."""
    count = rows.count()
    start = (paging.page - 1) * paging.per_page
    items = list(rows[start : start + paging.per_page])
    facts = {
        "count": count,
        "page": paging.page,
        "per_page": paging.per_page,
        "next": _link(request, page=paging.page + 1) if start + paging.per_page < count else None,
        "previous": _link(request, page=paging.page - 1) if paging.page > 1 else None,
    }
    return items, facts


def history_page_of(
    request: HttpRequest, rows: QuerySet[M], paging: HistoryPaging, field: str, noun: str
) -> tuple[list[M], dict[str, Any]]:
    """A page of `rows`, newest first by (`field`, pk), and its facts for `HistoryPageOut`:
    one query for the rows (one more than shown, to know if there are older ones) and one
    counting at most COUNT_CAP + 1 of them, from the index where it can."""
    per_page = paging.per_page
    if paging.before is not None:
        after = _cursor(paging, noun)
        items, older = walk(rows, after, per_page, field)
    else:
        start = (paging.page - 1) * per_page
        if start >= COUNT_CAP:
            raise Problems(
                f"Page {paging.page} starts past the first {COUNT_CAP:,} {noun}, which is as "
                f"far as `page` reaches. To read older {noun}, follow `next` (or pass "
                "`before` with the `next_before` of the last page you read).",
                [FieldProblem(field="page", message=f"is at most {-(-COUNT_CAP // per_page)}")],
            )
        ordered = rows.order_by(f"-{field}", "-pk")
        found = list(ordered[start : start + per_page + 1])
        items = found[:per_page]
        older = Cursor.of(items[-1], field) if len(found) > per_page else None
    count = rows.order_by().values(field)[: COUNT_CAP + 1].count()
    if older is None:
        next_link = None
    elif paging.before is None and paging.page * per_page < COUNT_CAP:
        next_link = _link(request, page=paging.page + 1)
    else:
        next_link = _link(request, before=str(older))
    facts = {
        "count": min(count, COUNT_CAP),
        "count_capped": count > COUNT_CAP,
        "page": paging.page,
        "per_page": per_page,
        "next": next_link,
        "next_before": str(older) if older is not None else None,
        "previous": _link(request, page=paging.page - 1)
        if paging.before is None and paging.page > 1
        else None,
    }
    return items, facts


def _cursor(paging: HistoryPaging, noun: str) -> Cursor:
    after = Cursor.parse(paging.before)
    if after is not None and paging.page == 1:
        return after
    problem = (
        "is not one we gave: pass a page's `next_before` as it came"
        if after is None
        else "goes with page 1 only: it says where the page starts"
    )
    raise Problems(
        f"The request was not understood, and nothing was done. To walk older {noun}, "
        "follow `next`, or pass `before` with a page's `next_before`.",
        [FieldProblem(field="before", message=problem)],
    )


def _link(request: HttpRequest, *, page: int | None = None, before: str | None = None) -> str:
    query = request.GET.copy()
    if before is not None:
        query.pop("page", None)
        query["before"] = before
    else:
        query["page"] = str(page)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
