"""The one access path for tenant views.

Every view under /o/<slug>/ goes through `tenant_view`, which resolves the organization
and the member's role: a non-member gets 404 (the organization's existence is not
revealed), a member without the needed role gets 403. Inside, views read tenant data only
through `for_tenant` and `tenant_get`, which start every query from the request's
organization: an id from another tenant is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from alerts_saas.accounts.former_slugs import moved_to
from alerts_saas.accounts.models import Membership, Organization, Role, User
from alerts_saas.accounts.two_factor import Missing, check_two_factor, missing_two_factor

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

CURRENT_ORG_SESSION_KEY = "current_org"

P = ParamSpec("P")
M = TypeVar("M", bound=Model)


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


class RoleRequired(PermissionDenied):
    """A member's role is too low for this page (it needs `role`): the 403 page
    (`errors.permission_denied`) keeps the organization's navigation and names whom to ask:
    for an owner's page, its owners (to admins too); else its owners and admins."""

    def __init__(self, tenant: Tenant, role: Role) -> None:
        if role == Role.OWNER:
            words = f"Only an owner of {tenant.organization} can do this."
        else:
            words = f"This needs the {role.label.lower()} role in {tenant.organization}."
        super().__init__(words)
        self.tenant = tenant
        self.role = role


class AppRequest(HttpRequest):
    """A request as our middleware leaves it (django-htmx adds `htmx`)."""

    htmx: HtmxDetails


class SignedInRequest(AppRequest):
    """A request to a view behind `login_required`."""

    user: User


class TenantRequest(SignedInRequest):
    """A request under /o/<slug>/ once `tenant_view` let it through: a signed-in member.
    `without_two_factor`: let in by `tenant_view(two_factor=False)` although the
    organization asks for two-factor sign-in and this session lacks it (`shown_tenant`):
    what is missing, an app or its code; None when nothing is."""

    tenant: Tenant
    without_two_factor: Missing | None


def shown_tenant(request: HttpRequest) -> Tenant | None:
    """The tenant whose data a page may show (navigation, paging banner, whom to ask): none
    for a member let in without the two-factor sign-in their organization asks for."""
    if getattr(request, "without_two_factor", False):
        return None
    return getattr(request, "tenant", None)


def resolve_tenant(
    request: HttpRequest,
    min_role: Role = Role.MEMBER,
    *,
    slug: str | None = None,
    organization_id: int | None = None,
    two_factor: bool = True,
) -> Tenant:
    """The tenant named by `slug` (or `organization_id`) if the user belongs to it with at
    least `min_role`; 404 for a non-member, 403 for too low a role, `TwoFactorRequired` for
    a member whose session lacks two-factor sign-in in an organization that asks for it
    (`two_factor.missing_two_factor`; unless not
    `two_factor`: a page that only takes their access away, such as leaving)."""
    if not request.user.is_authenticated:
        raise Http404("No such organization.")
    memberships = Membership.objects.select_related("organization").filter(user=request.user)
    if organization_id is not None:
        memberships = memberships.filter(organization_id=organization_id)
    else:
        memberships = memberships.filter(organization__slug=slug or "")
    membership = memberships.first()
    if membership is None:
        raise Http404("No such organization.")
    if two_factor:
        check_two_factor(request, membership.organization)
    tenant = Tenant(organization=membership.organization, membership=membership)
    if not membership.has_role(min_role):
        raise RoleRequired(tenant, Role(min_role))
    return tenant


def tenant_view(
    min_role: Role = Role.MEMBER, *, two_factor: bool = True
) -> Callable[[Callable[Concatenate[TenantRequest, P], HttpResponse]], Callable[..., HttpResponse]]:
    """Decorate a view; its URL's `slug` picks the organization, and the view receives a
    `TenantRequest` (without the slug) instead."""

    def decorator(
        view: Callable[Concatenate[TenantRequest, P], HttpResponse],
    ) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(
            request: HttpRequest, slug: str, *args: P.args, **kwargs: P.kwargs
        ) -> HttpResponse:
            try:
                tenant = resolve_tenant(request, min_role, slug=slug, two_factor=two_factor)
            except Http404:
                moved = moved_to(request, slug)  # a link sent before the organization's rename
                if moved is None:
                    raise
                return moved
            tenant_request = cast(TenantRequest, request)
            tenant_request.tenant = tenant
            tenant_request.without_two_factor = (
                None if two_factor else missing_two_factor(request, tenant.organization)
            )
            if request.session.get(CURRENT_ORG_SESSION_KEY) != tenant.organization.slug:
                # Only on a change: setting it unchanged saved the session on every page
                # and poll (an UPDATE and its transaction each).
                request.session[CURRENT_ORG_SESSION_KEY] = tenant.organization.slug
            return view(tenant_request, *args, **kwargs)

        protected = login_required(wrapper)
        protected.tenant_min_role = min_role  # type: ignore[attr-defined]  # read by tests
        return protected

    return decorator


def for_tenant(request: TenantRequest, rows: type[M] | QuerySet[M]) -> QuerySet[M]:
    """The request's organization's rows of a model (or of a queryset over it)."""
    queryset = rows if isinstance(rows, QuerySet) else rows._default_manager.all()
    return queryset.filter(organization=request.tenant.organization)


def tenant_get(request: TenantRequest, rows: type[M] | QuerySet[M], **lookup: object) -> M:
    """One of the request's organization's rows, or 404 (whoever else's it may be)."""
    return get_object_or_404(for_tenant(request, rows), **lookup)
