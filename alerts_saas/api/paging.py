"""One page of a list: `page` and `per_page` in, the items and where the others are out."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from ninja import Schema
from pydantic import Field

M = TypeVar("M", bound=Model)
MAX_PER_PAGE = 100


class Paging(Schema):
    page: int = Field(default=1, ge=1, description="From 1.")
    per_page: int = Field(default=50, ge=1, le=MAX_PER_PAGE, description=f"1 to {MAX_PER_PAGE}.")


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
        "next": _link(request, paging.page + 1) if start + paging.per_page < count else None,
        "previous": _link(request, paging.page - 1) if paging.page > 1 else None,
    }
    return items, facts


def _link(request: HttpRequest, number: int) -> str:
    query = request.GET.copy()
    query["page"] = str(number)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
