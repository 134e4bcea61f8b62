"""The API tokens a member made that work now, by name: a change of role that takes away
the right to manage the organization says which stop (ingest/departures.py revokes them).
`named` also serves the ingest keys a departure leaves working (kept_keys)."""

from __future__ import annotations

from dataclasses import dataclass

from django import template
from django.db.models import QuerySet

from alerts_saas.accounts.models import Membership
from alerts_saas.ingest.models import ApiToken, IngestKey
from alerts_saas.words import listed

register = template.Library()

SHOWN = 10  # names listed; past that, "and 3 more"


@dataclass(frozen=True)
class Named:
    count: int
    names: str  # “ci”, “terraform” and “deploy”


def named(rows: QuerySet[ApiToken] | QuerySet[IngestKey]) -> Named | None:
    """The active ones of `rows`, counted and named in one query; None for none."""
    names = list(
        rows.filter(revoked_at__isnull=True).order_by("name", "pk").values_list("name", flat=True)
    )
    if not names:
        return None
    return Named(len(names), listed([f"“{n}”" for n in names], most=SHOWN))


@register.simple_tag
def active_api_tokens(membership: Membership) -> Named | None:
    """The active API tokens `membership`'s person made in its organization."""
    return named(
        ApiToken.objects.filter(
            organization_id=membership.organization_id, created_by_id=membership.user_id
        )
    )
