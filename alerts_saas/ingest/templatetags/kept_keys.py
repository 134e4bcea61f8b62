"""The ingest keys a departing member made, which stay working: the removal and leave pages
say so (an ingest key belongs to the organization's systems; revoking it on someone's
departure would stop their events and could set off absence alerts)."""

from __future__ import annotations

from dataclasses import dataclass

from django import template
from django.db.models import Q

from alerts_saas.accounts.models import Membership
from alerts_saas.ingest.models import IngestKey
from alerts_saas.words import listed

register = template.Library()

SHOWN = 10  # names listed; past that, "and 3 more"


@dataclass(frozen=True)
class KeptKeys:
    count: int
    names: str  # “web servers”, “ci” and “edge”


@register.simple_tag
def kept_ingest_keys(membership: Membership) -> KeptKeys | None:
    """The active ingest keys `membership`'s person made in its organization, by hand or
    with one of their API tokens (whose holder saw the secret too); None for none. One
    query, whatever their number."""
    names = list(
        IngestKey.objects.filter(
            Q(created_by_id=membership.user_id)
            | Q(created_by_token__created_by_id=membership.user_id),
            organization_id=membership.organization_id,
            revoked_at__isnull=True,
        )
        .order_by("name", "pk")
        .values_list("name", flat=True)
    )
    if not names:
        return None
    return KeptKeys(len(names), listed([f"“{n}”" for n in names], most=SHOWN))
