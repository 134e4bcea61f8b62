"""Settings / Members: the member list, invitations, role changes and removals."""

from __future__ import annotations

import logging

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from alerts_saas.accounts.access import RoleRequired, TenantRequest, tenant_get, tenant_view
from alerts_saas.accounts.emails import send_invitation_email
from alerts_saas.accounts.forms import InviteForm, RoleForm
from alerts_saas.accounts.models import Invitation, Membership, Role
from alerts_saas.accounts.role_words import role_changed_words, who_can_give_back
from alerts_saas.accounts.services import (
    MembershipError,
    RoleChangeTakes,
    change_role,
    check_role_change,
    holdings,
    remove_member,
    revoke_invitation,
    role_change_takes,
)

log = logging.getLogger(__name__)


def _members_page(
    request: TenantRequest, invite_form: InviteForm | None = None, status: int = 200
) -> HttpResponse:
    tenant = request.tenant
    organization = tenant.organization
    if invite_form is None and tenant.is_admin:
        invite_form = InviteForm(organization=organization, can_invite_owner=tenant.is_owner)
    memberships = list(
        organization.memberships.select_related("user")
        .annotate(**holdings(), two_factor=Exists(_app_of(OuterRef("user_id"))))
        .order_by("user__email")
    )
    context = {
        "memberships": memberships,
        "owners": sum(1 for m in memberships if m.role == Role.OWNER),
        # Who has not set it up yet, for the admins of an organization that asks for it.
        "show_two_factor": organization.require_two_factor and tenant.is_admin,
        "invitations": organization.invitations.pending().select_related("invited_by"),
        "invite_form": invite_form,
        # What the viewer may give: only an owner grants the owner role (services.change_role).
        "roles": [(v, label) for v, label in Role.choices if tenant.is_owner or v != Role.OWNER],
        "invitation_days": settings.INVITATION_LIFETIME.days,
    }
    return render(request, "accounts/members.html", context, status=status)


def _app_of(user_id: OuterRef) -> QuerySet[Authenticator]:
    """A member's authenticator app: two-factor sign-in set up (MFA_SUPPORTED_TYPES)."""
    return Authenticator.objects.filter(user_id=user_id, type=Authenticator.Type.TOTP)


@tenant_view()
def members(request: TenantRequest) -> HttpResponse:
    return _members_page(request)


@tenant_view(Role.ADMIN)
@require_POST
def invite(request: TenantRequest) -> HttpResponse:
    tenant = request.tenant
    form = InviteForm(
        request.POST, organization=tenant.organization, can_invite_owner=tenant.is_owner
    )
    if not form.is_valid():
        return _members_page(request, invite_form=form, status=400)
    email, role = form.cleaned_data["email"], form.cleaned_data["role"]
    with transaction.atomic():  # an email that could not be sent takes the invitation back
        invitation, token = Invitation.issue(tenant.organization, email, role, request.user)
        sent = _sent(invitation, token)
        transaction.set_rollback(not sent)
    if not sent:
        form.add_error(
            None,
            f"The invitation email to {email} could not be sent, so no invitation was "
            "saved. Try again in a few minutes.",
        )
        return _members_page(request, invite_form=form, status=502)
    messages.success(request, f"Invitation sent to {invitation.email}.")
    return redirect("accounts:members", slug=tenant.organization.slug)


def _sent(invitation: Invitation, token: str) -> bool:
    """Whether the invitation's email went: the token is only ever in it, so an invitation
    whose email failed would wait, unusable, and block inviting the address again."""
    try:
        send_invitation_email(invitation, token)
    except Exception:  # any backend's (smtplib's are OSErrors), a header refused
        log.exception("An invitation email could not be sent; the invitation was not kept")
        return False
    return True


@tenant_view(Role.ADMIN)
@require_POST
def change_member_role(request: TenantRequest, membership_id: int) -> HttpResponse:
    """One click for a change that takes nothing away; a change of your own role, or one
    that revokes API tokens or withdraws invitations, answers its confirmation page until
    posted again with `confirm` (a stale page or a script cannot skip it)."""
    tenant = request.tenant
    members = Membership.objects.select_related("user").annotate(**holdings())
    target = tenant_get(request, members, pk=membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose owner, admin or member.")
        return redirect("accounts:members", slug=tenant.organization.slug)
    new_role, own = form.cleaned_data["role"], target.pk == tenant.membership.pk
    try:
        check_role_change(tenant.membership, target, new_role)
        takes = role_change_takes(target, new_role)
        asks = target.role != new_role and (own or takes.anything)
        if asks and request.POST.get("confirm") != takes.key:
            return _confirm_role(request, target, takes, own, stale="confirm" in request.POST)
        changed = change_role(tenant.membership, target, new_role)
    except MembershipError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, role_changed_words(changed, own))
    return redirect("accounts:members", slug=tenant.organization.slug)


def _confirm_role(
    request: TenantRequest, target: Membership, takes: RoleChangeTakes, own: bool, stale: bool
) -> HttpResponse:
    context = {
        "target": target,
        "takes": takes,
        "new_role": Role(takes.new_role),
        "own": own,
        "stale": stale,  # confirmed, but it would now take something else
        # Who could give the role back: others with it (an owner's: owners only).
        "undo": who_can_give_back(target) if own else "",
    }
    return render(request, "accounts/member_role.html", context, status=409 if stale else 200)


@tenant_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def remove_member_view(request: TenantRequest, membership_id: int) -> HttpResponse:
    tenant = request.tenant
    members = Membership.objects.select_related("user")
    if request.method == "GET":
        members = members.annotate(**holdings())  # what the removal takes: their API tokens
    target = tenant_get(request, members, pk=membership_id)
    if request.method == "GET":
        return render(request, "accounts/member_remove.html", {"target": target})
    try:
        remove_member(tenant.membership, target)
    except MembershipError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{target.user} was removed from {tenant.organization}.")
    return redirect("accounts:members", slug=tenant.organization.slug)


@tenant_view(Role.ADMIN)
@require_POST
def invitation_revoke(request: TenantRequest, invitation_id: int) -> HttpResponse:
    tenant = request.tenant
    invitation = tenant_get(request, Invitation, pk=invitation_id)
    if invitation.role == Role.OWNER and not tenant.is_owner:
        raise RoleRequired(tenant, Role.OWNER)  # only owners grant the role, or take it back
    if revoke_invitation(invitation):
        messages.success(request, f"The invitation to {invitation.email} was withdrawn.")
    else:
        messages.error(request, f"The invitation to {invitation.email} was already used.")
    return redirect("accounts:members", slug=tenant.organization.slug)
