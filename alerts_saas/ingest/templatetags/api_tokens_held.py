"""The API tokens a member made that work now, by name: a change of role that takes away
the right to manage the organization says which stop (ingest/departures.py revokes them)."""

from __future__ import annotations

from dataclasses import dataclass

from django import template

from alerts_saas.accounts.models import Membership
from alerts_saas.ingest.models import ApiToken
from alerts_saas.words import listed

register = template.Library()

SHOWN = 10  # names listed; past that, "and 3 more"


@dataclass(frozen=True)
class HeldTokens:
    count: int
    names: str  # “ci”, “terraform” and “deploy”


@register.simple_tag
def active_api_tokens(membership: Membership) -> HeldTokens | None:
    """The active API tokens `membership`'s person made in its organization; None for none.
    One query, whatever their number."""
    names = list(
        ApiToken.objects.filter(
            organization_id=membership.organization_id,
            created_by_id=membership.user_id,
            revoked_at__isnull=True,
        )
        .order_by("name", "pk")
        .values_list("name", flat=True)
    )
    if not names:
        return None
    return HeldTokens(len(names), listed([f"“{n}”" for n in names], most=SHOWN))
