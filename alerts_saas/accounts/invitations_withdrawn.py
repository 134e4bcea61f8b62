"""A person's pending invitations are withdrawn when they lose the right to send them:
removed from the organization, leaving it, made a member (admins and owners invite), or an
owner made an admin (only owners invite owners: their invitations to be an owner go).

Without this, an admin removed for cause could invite another address of theirs as an
admin just before, and come back through it. Withdrawn in the transaction of the change,
each with why in the audit log (`signals.invitation_revoked`'s `why`); the link then says
it was withdrawn. The members page, the removal's, the leaving's and a change of role's
confirmation say beforehand how many go (`invitations_held`, `held_withdrawn`).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone

from alerts_saas.accounts import signals
from alerts_saas.accounts.held import count_per_member
from alerts_saas.accounts.models import Invitation, Membership, Role

SENDER = "the person who sent it"
WITHDRAWN = {
    signals.DEPARTURE_REMOVED: f"{SENDER} was removed from the organization",
    signals.DEPARTURE_LEFT: f"{SENDER} left the organization",
    Role.MEMBER: f"{SENDER} is no longer an admin of the organization",
    Role.ADMIN: f"{SENDER} is no longer an owner of the organization",
    Role.OWNER: "",  # an owner sends every invitation: nothing is withdrawn
}


def _cannot_send(role: str | None) -> models.Q | None:
    """The invitations someone with `role` (None: no longer a member) may not send: all for
    a member (or nobody), those to be an owner for an admin, none for an owner."""
    if role == Role.OWNER:
        return None
    if role == Role.ADMIN:
        return models.Q(role=Role.OWNER)
    return models.Q()


def revoke_one(invitation: Invitation, why: str = "") -> bool:
    """Withdraw it if still unused (compare-and-set), telling the audit log with `why`."""
    revoked = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        signals.invitation_revoked.send(sender=Invitation, invitation=invitation, why=why)
    return bool(revoked)


def withdraw_invitations(member: Membership, new_role: str | None, why: str) -> int:
    """Withdraw the pending invitations `member` sent in their organization that `new_role`
    could not send; inside the change's transaction (the organization's row is locked)."""
    refused = _cannot_send(new_role)
    if refused is None:
        return 0
    pending = Invitation.objects.pending().filter(
        refused, organization_id=member.organization_id, invited_by_id=member.user_id
    )
    return sum(revoke_one(invitation, why) for invitation in pending.select_for_update())


def _pending_sent(**also: Any) -> Coalesce:
    return count_per_member(Invitation.objects.pending().filter(**also), "invited_by")


def invitations_held() -> dict[str, Any]:
    """Each member's pending invitations in the organization, counted in the members list's
    own query: all of them (`invitations_sent`, withdrawn if removed, leaving or made a
    member) and those to be an owner (`owner_invitations_sent`, withdrawn if an owner is
    made an admin)."""
    return {
        "invitations_sent": _pending_sent(),
        "owner_invitations_sent": _pending_sent(role=Role.OWNER),
    }


def held_withdrawn(member: Membership, new_role: str) -> int:
    """How many of `member`'s pending invitations making them `new_role` would withdraw, read
    from `invitations_held()`'s annotations (as `_cannot_send` decides): all of them for a
    member, those to be an owner for an admin, none for an owner."""
    if new_role == Role.OWNER:
        return 0
    if new_role == Role.ADMIN:
        return int(getattr(member, "owner_invitations_sent", 0))
    return int(getattr(member, "invitations_sent", 0))
