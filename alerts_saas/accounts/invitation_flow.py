"""Carrying an invitation through sign-up or sign-in.

An anonymous visitor who opens an invitation link has its token kept in the session; after
they sign up or sign in they are brought back to the invitation to accept it.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from alerts_saas.accounts.models import Invitation, hash_token
from alerts_saas.accounts.services import invitation_problem

SESSION_KEY = "pending_invitation_token"


def remember_invitation(request: HttpRequest, token: str) -> None:
    request.session[SESSION_KEY] = token


def forget_invitation(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)


def pending_invitation_url(request: HttpRequest) -> str | None:
    token = request.session.get(SESSION_KEY)
    return reverse("accounts:invitation", kwargs={"token": token}) if token else None


def pending_invitation(request: HttpRequest | None) -> Invitation | None:
    """The invitation this visitor opened, while it can still be accepted; else None."""
    token = request.session.get(SESSION_KEY) if request is not None else None
    if not token:
        return None
    found = (
        Invitation.objects.select_related("organization")
        .filter(token_hash=hash_token(str(token)))
        .first()
    )
    return found if found is not None and invitation_problem(found) is None else None
