"""One object of each tenant model, for the tenant-isolation test.

The isolation test fills URL kwargs named `<model>_id` (e.g. `membership_id`, or
`pagerduty_service_id` for PagerDutyService) with the id of the first organization's object.
A new tenant model needs a maker here; the test fails and says so when one is missing.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import models

from alerts_saas.accounts.models import Invitation, Membership, Organization, Role, User

Maker = Callable[[Organization, User], models.Model]


def _membership(org: Organization, owner: User) -> models.Model:
    user = User.objects.create_user(email=f"member-of-{org.slug}@example.com")
    return Membership.objects.create(organization=org, user=user, role=Role.MEMBER)


def _invitation(org: Organization, owner: User) -> models.Model:
    invitation, _ = Invitation.issue(org, f"invitee-of-{org.slug}@example.com", Role.MEMBER, owner)
    return invitation


MAKERS: dict[str, Maker] = {
    "accounts.membership": _membership,
    "accounts.invitation": _invitation,
}


def populate(org: Organization, owner: User) -> dict[str, models.Model]:
    """Create one object of every registered tenant model; return them by model name."""
    return {label.split(".")[1]: make(org, owner) for label, make in MAKERS.items()}
