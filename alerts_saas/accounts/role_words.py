"""A change of role in words: what it did (the message after it), and who could give a
role back to someone who gave up their own (its confirmation page)."""

from __future__ import annotations

from alerts_saas.accounts.models import Membership, Role
from alerts_saas.accounts.services import RoleChanged
from alerts_saas.words import listed

NAMED = 5  # people named who could give a role back; past that, "or one of 3 more"
TOKENS_NAMED = 10


def role_changed_words(changed: RoleChanged, own: bool) -> str:
    """ "Alice is now a member. Their API token “alice-ci” was revoked; 1 invitation they
    sent was withdrawn." ("You are now…; Your…; you sent" for one's own role)."""
    membership = changed.membership
    who = "You are" if own else f"{membership.user.display_name} is"
    said = [f"{who} now {membership.role_enum.with_article}."]
    taken = []
    if tokens := changed.api_tokens:
        names = listed([f"“{name}”" for name in tokens], most=TOKENS_NAMED)
        plural = "s" if len(tokens) > 1 else ""
        taken.append(
            f"{'Your' if own else 'Their'} API token{plural} {names} "
            f"{'were' if plural else 'was'} revoked"
        )
    if n := changed.invitations:
        to_be = " to be an owner" if membership.role == Role.ADMIN else ""
        taken.append(
            f"{n} invitation{'s' if n > 1 else ''}{to_be} {'you' if own else 'they'} sent "
            f"{'were' if n > 1 else 'was'} withdrawn"
        )
    if taken:
        sentence = "; ".join(taken)
        said.append(f"{sentence[0].upper()}{sentence[1:]}.")
    return " ".join(said)


def who_can_give_back(target: Membership) -> str:
    """The others who could give `target` their role again, by name ("Bob or Carol Owner"):
    its owners for an owner's, its owners and admins for an admin's. One query."""
    roles = [Role.OWNER] if target.role == Role.OWNER else [Role.OWNER, Role.ADMIN]
    others = (
        Membership.objects.filter(organization_id=target.organization_id, role__in=roles)
        .exclude(pk=target.pk)
        .select_related("user")
        .only("role", "user__first_name", "user__last_name", "user__email")
    )
    people = sorted(others, key=lambda m: (-m.role_enum.rank, m.user.display_name.lower()))
    names = [m.user.display_name for m in people[:NAMED]]
    if more := len(people) - len(names):
        return f"{', '.join(names)} or one of {more} more on the Members page"
    if len(names) > 1:
        return f"{', '.join(names[:-1])} or {names[-1]}"
    return names[0] if names else ""
