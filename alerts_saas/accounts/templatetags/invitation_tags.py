"""`{% pending_invitation as invitation %}`: the invitation a visitor opened before signing
up or in (kept in the session, `invitation_flow`), while it can still be accepted; else None.
The sign-up page says what happens next with it: they join that organization."""

from __future__ import annotations

from typing import Any

from django import template

from alerts_saas.accounts import invitation_flow
from alerts_saas.accounts.models import Invitation

register = template.Library()


@register.simple_tag(takes_context=True)
def pending_invitation(context: dict[str, Any]) -> Invitation | None:
    return invitation_flow.pending_invitation(context.get("request"))
