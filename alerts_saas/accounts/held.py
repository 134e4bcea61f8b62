"""What each member holds in their organization, counted inside a list of memberships'
own query (the members page, the leave, removal and account-deletion pages say what a
departure takes): one subquery per kind, never a query per member."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce


def count_per_member(rows: QuerySet[Any], made_by: str) -> Coalesce:
    """How many of `rows` a membership's user made (`made_by`, the rows' field naming them)
    in the membership's organization; 0 for none. Annotate memberships with it."""
    counted = (
        rows.filter(organization=OuterRef("organization"), **{made_by: OuterRef("user")})
        .order_by()
        .values("organization")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)
