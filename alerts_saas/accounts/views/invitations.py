"""Opening and accepting an invitation link, signed in or not."""

from __future__ import annotations

from allauth.account.adapter import get_adapter
from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from alerts_saas.accounts.access import CURRENT_ORG_SESSION_KEY
from alerts_saas.accounts.invitation_flow import forget_invitation, remember_invitation
from alerts_saas.accounts.models import Invitation, Membership, User, hash_token
from alerts_saas.accounts.services import InvitationError, accept_invitation, invitation_problem


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    found = (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if found is None:
        forget_invitation(request)
        return render(
            request,
            "accounts/invitation_invalid.html",
            {
                "problem": "This invitation link is not valid. Check that you copied all of it, "
                "or ask for a new invitation.",
            },
            status=404,
        )
    problem = invitation_problem(found)
    if problem:
        forget_invitation(request)
        joined = _joined_with(found, request.user)
        if joined is not None:
            return render(request, "accounts/invitation_joined.html", {"membership": joined})
        return render(
            request,
            "accounts/invitation_invalid.html",
            {"problem": problem, "invitation": found},
            status=410,
        )
    if not isinstance(request.user, User):  # not signed in
        return _anonymous(request, found, token)
    if request.method == "POST":
        return _accept(request, found, request.user)
    return render(request, "accounts/invitation.html", _signed_in_page(found, request.user))


def _joined_with(found: Invitation, user: object) -> Membership | None:
    """The membership of the signed-in person who accepted this invitation, if they are
    still a member: their link opened again is no mistake to refuse."""
    if found.state != Invitation.State.ACCEPTED or not isinstance(user, User):
        return None
    if found.accepted_by_id != user.pk:
        return None
    return (
        Membership.objects.select_related("organization")
        .filter(organization_id=found.organization_id, user=user)
        .first()
    )


def _signed_in_page(found: Invitation, user: User) -> dict[str, object]:
    """The Join page of a signed-in person. Signed in as someone else: the page says so
    instead of offering a refused Accept. Joining an organization that asks for two-factor
    sign-in: whether they have an authenticator app already (else they set one up after)."""
    wrong_account = not found.is_for(user)
    has_app = (
        not wrong_account
        and found.organization.require_two_factor
        and Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists()
    )
    return {"invitation": found, "wrong_account": wrong_account, "has_authenticator_app": has_app}


def _anonymous(request: HttpRequest, found: Invitation, token: str) -> HttpResponse:
    remember_invitation(request, token)
    # Whoever holds the link has read the invited mailbox, so that address counts as verified.
    get_adapter(request).stash_verified_email(request, found.email)
    has_account = User.objects.filter(email__iexact=found.email).exists()
    return render(
        request, "accounts/invitation.html", {"invitation": found, "has_account": has_account}
    )


def _accept(request: HttpRequest, found: Invitation, user: User) -> HttpResponse:
    try:
        membership = accept_invitation(found, user)
    except InvitationError as exc:
        return render(
            request,
            "accounts/invitation.html",
            {**_signed_in_page(found, user), "error": str(exc)},
            status=400,
        )
    forget_invitation(request)
    request.session[CURRENT_ORG_SESSION_KEY] = membership.organization.slug
    messages.success(request, f"Welcome to {membership.organization}.")
    return redirect(membership.organization)
