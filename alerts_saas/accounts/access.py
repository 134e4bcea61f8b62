"""The one access function for tenant views.

Every view under /o/<slug>/ goes through `tenant_view`, which resolves the organization
and the member's role: a non-member gets 404 (the organization's existence is not
revealed), a member without the needed role gets 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from alerts_saas.accounts.models import Membership, Organization, Role

CURRENT_ORG_SESSION_KEY = "current_org"


@dataclass(frozen=True)
class Tenant:
    """The organization a request acts in, and what the requesting user may do there."""

    organization: Organization
    membership: Membership

    @property
    def role(self) -> Role:
        return self.membership.role_enum

    def can(self, role: Role) -> bool:
        return self.membership.has_role(role)

    @property
    def is_admin(self) -> bool:
        return self.can(Role.ADMIN)

    @property
    def is_owner(self) -> bool:
        return self.can(Role.OWNER)


def resolve_tenant(request: HttpRequest, slug: str, min_role: Role = Role.MEMBER) -> Tenant:
    """Return the tenant for `slug` if the user belongs to it with at least `min_role`."""
    if not request.user.is_authenticated:
        raise Http404("No such organization.")
    membership = (
        Membership.objects.select_related("organization")
        .filter(organization__slug=slug, user=request.user)
        .first()
    )
    if membership is None:
        raise Http404("No such organization.")
    if not membership.has_role(min_role):
        raise PermissionDenied(
            f"This needs the {Role(min_role).label.lower()} role in {membership.organization}."
        )
    return Tenant(organization=membership.organization, membership=membership)


def tenant_view(min_role: Role = Role.MEMBER) -> Callable[[Callable[..., HttpResponse]], Any]:
    """Decorate a view taking `slug`; the view receives `request.tenant` instead."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
            tenant = resolve_tenant(request, slug, min_role)
            request.tenant = tenant  # type: ignore[attr-defined]
            request.session[CURRENT_ORG_SESSION_KEY] = tenant.organization.slug
            return view(request, *args, **kwargs)

        wrapper.tenant_min_role = min_role  # type: ignore[attr-defined]
        return wrapper

    return decorator
