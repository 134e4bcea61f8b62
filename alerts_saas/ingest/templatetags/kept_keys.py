"""The ingest keys a departing member made, which stay working: the removal and leave pages
say so (an ingest key belongs to the organization's systems; revoking it on someone's
departure would stop their events and could set off absence alerts)."""

from __future__ import annotations

from django import template
from django.db.models import Q

from alerts_saas.accounts.models import Membership
from alerts_saas.ingest.models import IngestKey
from alerts_saas.ingest.templatetags.api_tokens_held import Named, named

register = template.Library()


@register.simple_tag
def kept_ingest_keys(membership: Membership) -> Named | None:
    """The active ingest keys `membership`'s person made in its organization, by hand or
    with one of their API tokens (whose holder saw the secret too); None for none. One
    query, whatever their number."""
    return named(
        IngestKey.objects.filter(
            Q(created_by_id=membership.user_id)
            | Q(created_by_token__created_by_id=membership.user_id),
            organization_id=membership.organization_id,
        )
    )
