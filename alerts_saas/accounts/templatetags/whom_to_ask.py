"""`{% whom_to_ask as whom %}`: the owners and admins a member asks for what only they can do
(create an ingest key, connect PagerDuty, invite people), by name, owners first.
`{% whom_to_ask owners_only=True as whom %}`: the owners alone, for what only they can do
(delete the organization), named without their role.

One query, once a request however many places ask (the checklist, the advice on broken
paths, the 403 page): the answer is kept on the request. Rendered through
`accounts/_ask.html`, the one sentence that names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template

from alerts_saas.accounts.models import Membership, Organization, Role

register = template.Library()

NAMED = 3  # more than this, and the rest are counted: the Members page lists them all
_CACHE_ATTRIBUTE = "_whom_to_ask"


@dataclass(frozen=True, slots=True)
class Whom:
    named: list[str]  # "Olivia Owner (owner)", owners first
    more: int  # owners and admins left unnamed

    def __str__(self) -> str:
        if not self.named:
            return ""
        if self.more:
            return f"{', '.join(self.named)} or one of {self.more} more on the Members page"
        if len(self.named) == 1:
            return self.named[0]
        return f"{', '.join(self.named[:-1])} or {self.named[-1]}"


def owners_and_admins(organization: Organization, *, owners_only: bool = False) -> Whom:
    roles = [Role.OWNER] if owners_only else [Role.OWNER, Role.ADMIN]
    rows = (
        Membership.objects.filter(organization=organization, role__in=roles)
        .select_related("user")
        .only("role", "user__first_name", "user__last_name", "user__email")
    )
    people = sorted(rows, key=lambda m: (-m.role_enum.rank, m.user.display_name.lower()))

    def name(m: Membership) -> str:
        return m.user.display_name + ("" if owners_only else f" ({m.role_enum.label.lower()})")

    named = [name(m) for m in people[:NAMED]]
    return Whom(named, max(len(people) - NAMED, 0))


@register.simple_tag(takes_context=True)
def whom_to_ask(
    context: template.Context,
    organization: Organization | None = None,
    *,
    owners_only: bool = False,
) -> Whom:
    """The request's organization's owners and admins (or `organization`'s); its owners
    alone with `owners_only`."""
    request: Any = context.get("request")
    tenant = context.get("tenant")
    organization = organization or (tenant.organization if tenant else None)
    if organization is None:
        return Whom([], 0)
    kept: dict[tuple[int, bool], Whom] = getattr(request, _CACHE_ATTRIBUTE, {}) if request else {}
    key = (organization.pk, owners_only)
    if key not in kept:
        kept[key] = owners_and_admins(organization, owners_only=owners_only)
        if request is not None:
            setattr(request, _CACHE_ATTRIBUTE, kept)
    return kept[key]
