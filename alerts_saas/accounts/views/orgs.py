"""Home, organization creation, switching and organization settings."""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from alerts_saas.accounts import former_slugs
from alerts_saas.accounts.access import (
    CURRENT_ORG_SESSION_KEY,
    SignedInRequest,
    TenantRequest,
    tenant_view,
)
from alerts_saas.accounts.forms import OrganizationForm
from alerts_saas.accounts.invitation_flow import pending_invitation_url
from alerts_saas.accounts.models import Membership, Role
from alerts_saas.accounts.services import (
    MembershipError,
    create_organization,
    holdings,
    remove_member,
)


def home(request: HttpRequest) -> HttpResponse:
    """Anonymous visitors see the product; members land in their current organization."""
    if not request.user.is_authenticated:
        return render(request, "accounts/landing.html")
    invitation_url = pending_invitation_url(request)
    if invitation_url:
        return redirect(invitation_url)
    memberships = Membership.objects.filter(user=request.user).select_related("organization")
    current = request.session.get(CURRENT_ORG_SESSION_KEY)
    chosen = next((m for m in memberships if m.organization.slug == current), None)
    chosen = chosen or memberships.first()
    if chosen is None:
        return redirect("accounts:org_create")
    return redirect(chosen.organization)


@login_required
@require_http_methods(["GET", "POST"])
def org_create(request: SignedInRequest) -> HttpResponse:
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization = create_organization(
            request.user, form.cleaned_data["name"], form.cleaned_data["slug"] or None
        )
        request.session[CURRENT_ORG_SESSION_KEY] = organization.slug
        messages.success(request, f"{organization} is ready. You are its owner.")
        return redirect(organization)
    first = not Membership.objects.filter(user=request.user).exists()
    return render(request, "accounts/org_create.html", {"form": form, "first": first})


@tenant_view()
@require_http_methods(["GET", "POST"])
def org_settings(request: TenantRequest) -> HttpResponse:
    tenant = request.tenant
    before = tenant.organization.slug  # the form's validation writes the new one on it
    form = OrganizationForm(request.POST or None, instance=tenant.organization)
    if request.method == "POST":
        if not tenant.is_admin:
            raise PermissionDenied("Only owners and admins can change organization settings.")
        if form.is_valid():
            organization = form.save(commit=False)
            organization.slug = form.cleaned_data["slug"] or before
            with transaction.atomic():
                organization.save()
                former_slugs.remember(organization, before)
            messages.success(request, "Organization settings saved.")
            return redirect("accounts:org_settings", slug=organization.slug)
        # Refused: validation wrote the typed values on the organization; the page (its
        # Release forms, its header) must show it as saved.
        tenant.organization.refresh_from_db(fields=list(form.fields))
    return render(request, "accounts/org_settings.html", {"form": form})


def _without_two_factor(request: TenantRequest) -> bool:
    return request.without_two_factor is not None


# Open without two-factor sign-in: an organization that asks for it lets a member go. Then
# the page shows the organization's name and nothing else of it (`access.shown_tenant`), and
# leaving asks for the password again (allauth's reauthentication, as before changing how one
# signs in): an unattended session cannot take an admin's place and API tokens away.
@tenant_view(Role.MEMBER, two_factor=False)
@require_http_methods(["GET", "POST"])
@reauthentication_required(allow_get=True, enabled=_without_two_factor)
def org_leave(request: TenantRequest) -> HttpResponse:
    tenant = request.tenant
    if request.method == "POST":
        try:
            remove_member(tenant.membership, tenant.membership)
        except MembershipError as exc:
            messages.error(request, str(exc))
            return redirect("accounts:members", slug=tenant.organization.slug)
        request.session.pop(CURRENT_ORG_SESSION_KEY, None)
        messages.success(request, f"You left {tenant.organization}.")
        return redirect("home")
    exempt = request.without_two_factor
    context = _leave_context(tenant.membership, exempt is not None)
    context |= {"organization": tenant.organization, "without_two_factor": exempt}
    # What leaving takes: their API tokens and invitations, as whom PagerDuty acts.
    held = Membership.objects.filter(pk=tenant.membership.pk).annotate(**holdings())
    context["held"] = held.first()
    return render(request, "accounts/org_leave.html", context)


def _leave_context(membership: Membership, without_two_factor: bool) -> dict[str, object]:
    """Whether this person is the last owner (then the page offers no Leave: the service
    would refuse it), and whether anyone else is there to make an owner (one query; not
    said to someone without the two-factor sign-in the organization asks for)."""
    if membership.role != Role.OWNER:
        return {"last_owner": False}
    others = (
        Membership.objects.filter(organization_id=membership.organization_id)
        .exclude(pk=membership.pk)
        .values_list("role", flat=True)
    )
    roles = list(others)
    return {
        "last_owner": Role.OWNER not in roles,
        "other_members": 0 if without_two_factor else len(roles),
    }
