"""A person's API tokens stop when they lose the right to make them: removed from the
organization, leaving it, made a member, or their account deleted. A token acts for the
person who made it, as GitHub's and Sentry's do; the tools that need one past that get a
new one from someone who is still an admin.

Revoked in the transaction of the change (accounts sends `member_departing` from inside
it), each recorded in the audit log with why. `ApiTokenAuth` checks the creator's role
too, so a path that skips this (a role changed in Django's admin) still cannot keep one
working.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.signals import pre_delete

from alerts_saas.accounts import signals
from alerts_saas.accounts.held import count_per_member
from alerts_saas.accounts.models import Membership, User
from alerts_saas.ingest.models import ApiToken

WHY = {
    signals.DEPARTURE_REMOVED: "its creator was removed from the organization",
    signals.DEPARTURE_LEFT: "its creator left the organization",
    signals.DEPARTURE_DEMOTED: "its creator is no longer an admin of the organization",
}
WHY_DELETED = "its creator's account was deleted"


def _revoke(tokens: models.QuerySet[ApiToken], by: User | None, why: str) -> list[str]:
    """Revoke each active token of `tokens` (locked, so a request using one meanwhile sees
    it revoked once this commits), each with its own audit entry; the names of those
    revoked."""
    revoked = []
    for token in tokens.filter(revoked_at__isnull=True).select_for_update():
        if token.revoke(by, why=why):
            revoked.append(token.name)
    return revoked


def member_departing(
    sender: type[Membership], membership: Membership, reason: str, by: User, **_: Any
) -> dict[str, list[str]]:
    """Revoke the member's tokens; answer their names (a change of role's message says
    them)."""
    mine = ApiToken.objects.filter(
        organization_id=membership.organization_id, created_by_id=membership.user_id
    )
    return {"api_tokens": _revoke(mine, by, WHY[reason])}


def user_deleting(sender: type[User], instance: User, **_: Any) -> None:
    """Before `created_by` is cleared: the tokens of a deleted account, in every
    organization."""
    _revoke(ApiToken.objects.filter(created_by_id=instance.pk), None, WHY_DELETED)


def member_holdings(sender: type[Membership], **_: Any) -> dict[str, Any]:
    """Each member's active API tokens in the organization (`api_tokens`), counted in the
    members list's own query."""
    active = ApiToken.objects.filter(revoked_at__isnull=True)
    return {"api_tokens": count_per_member(active, "created_by")}


def connect() -> None:
    signals.member_departing.connect(member_departing, dispatch_uid="ingest-tokens-departing")
    signals.member_holdings.connect(member_holdings, dispatch_uid="ingest-tokens-holdings")
    pre_delete.connect(user_deleting, sender=User, dispatch_uid="ingest-tokens-user-deleting")
