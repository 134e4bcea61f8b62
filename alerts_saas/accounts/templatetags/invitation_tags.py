"""`{% pending_invitation as invitation %}`: the invitation a visitor opened before signing
up or in (kept in the session, `invitation_flow`), while it can still be accepted; else None.
The sign-up page says what happens next with it: they join that organization."""

from __future__ import annotations

from typing import Any

from django import template

from alerts_saas.accounts.invitation_flow import SESSION_KEY
from alerts_saas.accounts.models import Invitation, hash_token
from alerts_saas.accounts.services import invitation_problem

register = template.Library()


@register.simple_tag(takes_context=True)
def pending_invitation(context: dict[str, Any]) -> Invitation | None:
    request = context.get("request")
    token = request.session.get(SESSION_KEY) if request is not None else None
    if not token:
        return None
    found = (
        Invitation.objects.select_related("organization")
        .filter(token_hash=hash_token(str(token)))
        .first()
    )
    return found if found is not None and invitation_problem(found) is None else None
