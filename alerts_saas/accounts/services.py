"""Changes to organizations and memberships, with the rules that protect them.

Membership changes lock the organization row, so two admins acting at once cannot
together remove or demote the last owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from alerts_saas.accounts import signals
from alerts_saas.accounts.former_slugs import slug_taken
from alerts_saas.accounts.invitations_withdrawn import (
    WITHDRAWN,
    held_withdrawn,
    invitations_held,
    revoke_one,
    withdraw_invitations,
)
from alerts_saas.accounts.models import Invitation, Membership, Organization, Role, User
from alerts_saas.accounts.names import one_line_name

RESERVED_SLUGS = {"new", "admin", "api", "settings", "static", "healthz", "accounts"}


class MembershipError(Exception):
    """A change that the organization's rules refuse, said in words for the person."""


def suggest_slug(name: str) -> str:
    base = slugify(name)[:40] or "org"
    if base in RESERVED_SLUGS:
        base = f"{base}-team"
    slug, n = base, 2
    while slug_taken(slug):
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def create_organization(owner: User, name: str, slug: str | None = None) -> Organization:
    """Create an organization with `owner` as its first owner. A name that is not one line
    of text is refused (ValidationError), as the forms refuse it."""
    one_line_name(name)
    organization = Organization.objects.create(name=name, slug=slug or suggest_slug(name))
    Membership.objects.create(organization=organization, user=owner, role=Role.OWNER)
    return organization


def lock_organization(organization: Organization) -> None:
    """Lock the organization's row until the transaction ends: changes that check a rule
    across its rows (the last owner, a name not yet taken) then run one at a time. Without
    its key (nothing here changes it): rows written meanwhile that refer to the
    organization (an audit entry, a resolve) check it FOR KEY SHARE, and would wait."""
    Organization.objects.select_for_update(no_key=True).filter(pk=organization.pk).first()


def _other_owners(target: Membership) -> int:
    return (
        Membership.objects.filter(organization_id=target.organization_id, role=Role.OWNER)
        .exclude(pk=target.pk)
        .count()
    )


def _check_actor_may_manage(actor: Membership, target: Membership, new_role: str | None) -> None:
    if not actor.has_role(Role.ADMIN) and actor.pk != target.pk:
        raise MembershipError("Only owners and admins can manage members.")
    touches_owner = target.role == Role.OWNER or new_role == Role.OWNER
    if touches_owner and not actor.has_role(Role.OWNER):
        raise MembershipError("Only an owner can grant, change or remove the owner role.")


def check_role_change(actor: Membership, target: Membership, new_role: str) -> None:
    """Refuse (MembershipError) what `change_role` refuses, for the confirmation page to ask
    nothing of a change that cannot happen; `change_role` checks again under its lock."""
    if new_role not in Role.values:
        raise MembershipError("Choose owner, admin or member.")
    if target.role == new_role:
        return
    _check_actor_may_manage(actor, target, new_role)
    if target.role == Role.OWNER and _other_owners(target) == 0:
        raise MembershipError(
            f"{target.user} is the last owner of {target.organization}. "
            "Make someone else an owner first."
        )


def _loses_admin(target: Membership, new_role: str) -> bool:
    """Whether the change takes away the right to manage the organization (an owner or an
    admin made a member): what they made that acts on its own (API tokens) stops."""
    return target.role_enum.at_least(Role.ADMIN) and not Role(new_role).at_least(Role.ADMIN)


@dataclass(frozen=True)
class RoleChangeTakes:
    """What making a member `new_role` takes away, counted beforehand from the membership's
    `holdings()`: their active API tokens that stop, their pending invitations withdrawn."""

    old_role: str
    new_role: str
    api_tokens: int
    invitations: int

    @property
    def demotion(self) -> bool:
        return Role(self.new_role).rank < Role(self.old_role).rank

    @property
    def anything(self) -> bool:
        return bool(self.api_tokens or self.invitations)

    @property
    def key(self) -> str:
        """What the confirmation said, posted back with it: a change that now takes
        something else (a token made meanwhile, the role changed by someone else) is asked
        again instead of done."""
        return f"{self.old_role}-{self.new_role}-{self.api_tokens}-{self.invitations}"


def role_change_takes(target: Membership, new_role: str) -> RoleChangeTakes:
    """`target` annotated with `holdings()`; `new_role` one of Role's values."""
    tokens = getattr(target, "api_tokens", 0) if _loses_admin(target, new_role) else 0
    invitations = held_withdrawn(target, new_role) if target.role != new_role else 0
    return RoleChangeTakes(target.role, new_role, tokens, invitations)


@dataclass(frozen=True)
class RoleChanged:
    """What `change_role` did: the names of the API tokens it revoked, sorted, and how many
    pending invitations it withdrew."""

    membership: Membership
    api_tokens: list[str] = field(default_factory=list)
    invitations: int = 0


@transaction.atomic
def change_role(actor: Membership, target: Membership, new_role: str) -> RoleChanged:
    if new_role not in Role.values:
        raise MembershipError("Choose owner, admin or member.")
    lock_organization(target.organization)
    target.refresh_from_db()
    if target.role == new_role:
        return RoleChanged(target)
    check_role_change(actor, target, new_role)
    revoked = []
    if _loses_admin(target, new_role):
        revoked = _departing(actor, target, signals.DEPARTURE_DEMOTED)
    withdrawn = withdraw_invitations(target, new_role, WITHDRAWN[new_role])
    target.role = new_role
    target.save(update_fields=["role"])
    return RoleChanged(target, revoked, withdrawn)


@transaction.atomic
def remove_member(actor: Membership, target: Membership) -> None:
    """Remove `target` from its organization; `actor == target` means leaving."""
    lock_organization(target.organization)
    target.refresh_from_db()
    _check_actor_may_manage(actor, target, None)
    if target.role == Role.OWNER and _other_owners(target) == 0:
        who = "You are" if actor.pk == target.pk else f"{target.user} is"
        raise MembershipError(
            f"{who} the last owner of {target.organization}. Make someone else an owner first."
        )
    leaving = signals.DEPARTURE_LEFT if actor.pk == target.pk else signals.DEPARTURE_REMOVED
    _departing(actor, target, leaving)
    withdraw_invitations(target, None, WITHDRAWN[leaving])
    target.delete()


def _departing(actor: Membership, target: Membership, reason: str) -> list[str]:
    """Tell the apps above (in this transaction) that `target` loses the right to manage
    the organization: what they made with it that acts on its own (API tokens) stops.
    Returns the names of the API tokens revoked, sorted (the receivers' answers)."""
    answers = signals.member_departing.send(
        sender=Membership, membership=target, reason=reason, by=actor.user
    )
    names: list[str] = []
    for _receiver, answer in answers:
        if isinstance(answer, dict):
            names.extend(answer.get("api_tokens", ()))
    return sorted(names)


def holdings() -> dict[str, Any]:
    """What to annotate a list of memberships with: what removing or demoting each takes
    away: their pending invitations (`invitations_sent`, those to be an owner
    `owner_invitations_sent`), and what the apps above say (`signals.member_holdings`)."""
    found: dict[str, Any] = invitations_held()
    for _receiver, answer in signals.member_holdings.send(sender=Membership):
        if isinstance(answer, dict):
            found.update(answer)
    return found


class InvitationError(Exception):
    """Why an invitation cannot be used, in words for the person holding it."""


def invitation_problem(invitation: Invitation) -> str | None:
    state = invitation.state
    if state == Invitation.State.ACCEPTED:
        return "This invitation has already been used. Ask for a new one if you still need access."
    if state == Invitation.State.REVOKED:
        return "This invitation was withdrawn by the organization."
    if state == Invitation.State.EXPIRED:
        return (
            f"This invitation expired on {invitation.expires_at:%d %B %Y}. "
            f"Ask an admin of {invitation.organization} to invite you again."
        )
    return None


def accept_invitation(invitation: Invitation, user: User) -> Membership:
    """Use the invitation once, for the user it was sent to.

    The claim is a compare-and-set update: of two simultaneous accepts, one wins.
    """
    problem = invitation_problem(invitation)
    if problem:
        raise InvitationError(problem)
    if not invitation.is_for(user):
        raise InvitationError(
            f"This invitation was sent to {invitation.email}, but you are signed in as "
            f"{user.email}. Sign out and sign in (or sign up) as {invitation.email}."
        )
    with transaction.atomic():
        claimed = Invitation.objects.filter(
            pk=invitation.pk,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        ).update(accepted_at=timezone.now(), accepted_by=user)
        if not claimed:
            raise InvitationError("This invitation has already been used.")
        signals.invitation_accepted.send(sender=Invitation, invitation=invitation)
        membership, created = Membership.objects.get_or_create(
            organization=invitation.organization,
            user=user,
            defaults={"role": invitation.role},
        )
        if created:
            signals.member_joined.send(sender=Membership, membership=membership)
    return membership


@transaction.atomic
def revoke_invitation(invitation: Invitation) -> bool:
    return revoke_one(invitation)
