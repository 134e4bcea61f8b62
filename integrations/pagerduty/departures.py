"""A PagerDuty account keeps paging when the person who connected it leaves the
organization, but what Tripwire does *as* the account (Acknowledge, Resolve, notes) goes
through their OAuth grant: PagerDuty records them as the one who acted. So on their
departure (removed, leaving, their account deleted: accounts' `member_departing`) the
account is flagged (`connected_by_left_at`), and Integrations, the dashboard, an act's
confirmation and the removal's confirmation say so, with the way out: an admin reconnects
it (`provisioning.save_account` clears the flag). Acting is not refused meanwhile: at
3 a.m. the on-call person still acknowledges from Tripwire, told as whom it acts.

Made a member, they are still in the organization and their grant still them: nothing
changes then. Invited back, they are a member again once they accept (accounts'
`member_joined`): the flag is cleared in that transaction, with an audit entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from alerts_saas.accounts import signals
from alerts_saas.accounts.held import count_per_member
from alerts_saas.accounts.models import Membership, Organization, User
from alerts_saas.audit.models import Action
from alerts_saas.audit.recorder import record
from integrations.pagerduty.models import PagerDutyAccount

LEAVING = frozenset({signals.DEPARTURE_REMOVED, signals.DEPARTURE_LEFT})


def who_connected(account: PagerDutyAccount) -> str:
    return account.connected_by.email if account.connected_by else "a former member"


def acts_as(account: PagerDutyAccount, organization: Organization) -> str:
    """What an account whose connector left does, in one sentence (no OAuth words)."""
    return (
        f"Acknowledge, Resolve and notes from Tripwire act as {who_connected(account)} in "
        f"PagerDuty until an admin reconnects {account.name}; pages still go out."
    )


def member_departing(
    sender: type[Membership], membership: Membership, reason: str, by: User, **_: Any
) -> None:
    if reason not in LEAVING:
        return
    why = (
        f"the person who connected it, {membership.user.email}, left the organization: "
        "acting from Tripwire acts as them in PagerDuty until an admin reconnects it"
    )
    _flag(membership, timezone.now(), why)


def member_joined(sender: type[Membership], membership: Membership, **_: Any) -> None:
    """The person who connected an account the organization flagged is back: the grant is
    a member's again."""
    why = (
        f"the person who connected it, {membership.user.email}, joined the organization "
        "again: acting from Tripwire acts as a member again"
    )
    _flag(membership, None, why)


def _flag(membership: Membership, left_at: datetime | None, why: str) -> None:
    """Set (`left_at`) or clear (None) the flag on the accounts the member connected in
    their organization that have it the other way, with an audit entry each."""
    theirs = PagerDutyAccount.objects.filter(
        organization_id=membership.organization_id,
        connected_by_id=membership.user_id,
        connected_by_left_at__isnull=left_at is not None,
    )
    for account in theirs.select_for_update():
        account.connected_by_left_at = left_at
        account.save(update_fields=["connected_by_left_at"])
        record(account, Action.CHANGED, [{"field": "reason", "after": why}])


def member_holdings(sender: type[Membership], **_: Any) -> dict[str, Any]:
    """Each member's PagerDuty accounts connected in the organization and not yet flagged
    (`pagerduty_grants`), counted in the members list's own query."""
    theirs = PagerDutyAccount.objects.filter(connected_by_left_at__isnull=True)
    return {"pagerduty_grants": count_per_member(theirs, "connected_by")}


def connected_by_former_members(organization: Organization) -> list[PagerDutyAccount]:
    """The organization's accounts whose connector left (one query), for the dashboard."""
    return list(
        PagerDutyAccount.objects.filter(
            organization=organization, connected_by_left_at__isnull=False
        ).select_related("connected_by")
    )


def connect() -> None:
    signals.member_departing.connect(member_departing, dispatch_uid="pagerduty-grant-departing")
    signals.member_joined.connect(member_joined, dispatch_uid="pagerduty-grant-rejoined")
    signals.member_holdings.connect(member_holdings, dispatch_uid="pagerduty-grant-holdings")
