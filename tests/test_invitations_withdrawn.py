"""A person's pending invitations are withdrawn when they lose the right to send them
(security review: a rogue admin invited another address of theirs as an admin, was
removed, and came back through the invitation). Removed, leaving, made a member: all of
them; an owner made an admin: those to be an owner. Each with why in the activity; the
link says it was withdrawn; the pages say so beforehand."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from django.test import Client

from alerts_saas.accounts.models import Invitation, Membership, Organization, Role, User
from alerts_saas.accounts.services import (
    InvitationError,
    accept_invitation,
    change_role,
    remove_member,
)
from alerts_saas.audit.models import Entry
from alerts_saas.audit.words import describe

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(make_org: Callable[..., Organization], make_user: Callable[..., User]) -> Organization:
    return make_org("Acme", owner=make_user("owner@acme.example"))


@pytest.fixture
def owner(org: Organization) -> Membership:
    return org.memberships.get(role=Role.OWNER)


@pytest.fixture
def rogue(org: Organization, add_member: Callable[..., Membership]) -> Membership:
    return add_member(org, "rogue@acme.example", Role.ADMIN)


def text(response: object) -> str:
    """Words as a person reads them: tags left out, spaces collapsed."""
    markup = response.content.decode()  # type: ignore[attr-defined]
    words = re.sub(r"\s*<[^>]+>\s*", " ", markup)
    return re.sub(r"\s+", " ", html.unescape(words)).replace(" .", ".").strip()


def withdrawn_entry(invitation: Invitation) -> str:
    entry = Entry.objects.get(
        object_type="invitation", object_id=str(invitation.pk), action="revoked"
    )
    return str(describe(entry))


def test_a_removed_admins_invitation_no_longer_lets_them_back(
    org: Organization,
    owner: Membership,
    rogue: Membership,
    make_user: Callable[..., User],
    client: Client,
) -> None:
    """The reviewer's case, through the pages: the owner removes the admin; the admin's
    invitation of alt@evil as an admin is withdrawn, and its link says so."""
    invitation, token = Invitation.issue(org, "alt@evil.example", Role.ADMIN, rogue.user)
    mine, _ = Invitation.issue(org, "friend@acme.example", Role.MEMBER, owner.user)
    client.force_login(owner.user)
    assert client.post(f"/o/{org.slug}/settings/members/{rogue.pk}/remove/").status_code == 302

    invitation.refresh_from_db()
    assert invitation.state == Invitation.State.REVOKED
    assert Invitation.objects.get(pk=mine.pk).is_pending  # not the owner's own
    alt = make_user("alt@evil.example")
    with pytest.raises(InvitationError, match="withdrawn"):
        accept_invitation(invitation, alt)
    assert not Membership.objects.filter(user=alt).exists()
    assert withdrawn_entry(invitation) == (
        "owner@acme.example withdrew the invitation of “alt@evil.example”: "
        "reason: the person who sent it was removed from the organization"
    )

    opened = Client()
    opened.force_login(alt)
    page = opened.get(f"/invitations/{token}/")
    assert page.status_code == 410
    assert "This invitation was withdrawn by the organization." in text(page)
    assert opened.post(f"/invitations/{token}/").status_code == 410
    assert not Membership.objects.filter(user=alt).exists()


def test_leaving_and_being_made_a_member_withdraw_them_all(
    org: Organization, owner: Membership, add_member: Callable[..., Membership]
) -> None:
    leaver = add_member(org, "leaver@acme.example", Role.ADMIN)
    demoted = add_member(org, "demoted@acme.example", Role.ADMIN)
    left, _ = Invitation.issue(org, "a@elsewhere.example", Role.MEMBER, leaver.user)
    gone, _ = Invitation.issue(org, "b@elsewhere.example", Role.ADMIN, demoted.user)
    remove_member(leaver, leaver)
    change_role(owner, demoted, Role.MEMBER)
    assert Invitation.objects.pending().count() == 0
    assert withdrawn_entry(left).endswith("reason: the person who sent it left the organization")
    assert withdrawn_entry(gone).endswith(
        "reason: the person who sent it is no longer an admin of the organization"
    )


def test_an_owner_made_an_admin_keeps_only_what_an_admin_may_send(
    org: Organization, owner: Membership, add_member: Callable[..., Membership]
) -> None:
    second = add_member(org, "second@acme.example", Role.OWNER)
    as_owner, _ = Invitation.issue(org, "boss@elsewhere.example", Role.OWNER, second.user)
    as_admin, _ = Invitation.issue(org, "ops@elsewhere.example", Role.ADMIN, second.user)
    change_role(owner, second, Role.ADMIN)
    assert Invitation.objects.get(pk=as_owner.pk).state == Invitation.State.REVOKED
    assert Invitation.objects.get(pk=as_admin.pk).is_pending
    assert withdrawn_entry(as_owner).endswith(
        "reason: the person who sent it is no longer an owner of the organization"
    )
    change_role(owner, second, Role.OWNER)  # made an owner again: nothing more goes
    assert Invitation.objects.get(pk=as_admin.pk).is_pending


def test_the_pages_say_beforehand_how_many_go(
    org: Organization,
    owner: Membership,
    rogue: Membership,
    add_member: Callable[..., Membership],
    client: Client,
) -> None:
    Invitation.issue(org, "alt@evil.example", Role.ADMIN, rogue.user)
    Invitation.issue(org, "alt2@evil.example", Role.MEMBER, rogue.user)
    second = add_member(org, "second@acme.example", Role.OWNER)
    Invitation.issue(org, "boss@elsewhere.example", Role.OWNER, second.user)
    client.force_login(owner.user)

    removal = text(client.get(f"/o/{org.slug}/settings/members/{rogue.pk}/remove/"))
    assert (
        "Their 2 pending invitations are withdrawn at once: the links in those emails will "
        "say the invitation was withdrawn. Invite those people again yourself if they "
        "should still join."
    ) in removal

    members = text(client.get(f"/o/{org.slug}/settings/members/"))
    assert (
        "If they are removed or made a member: their 2 pending invitations are withdrawn."
    ) in members
    assert (
        "If they are removed or made a member: their 1 pending invitation is withdrawn. "
        "If made an admin: the 1 to be an owner is."
    ) in members

    leaving = Client()
    leaving.force_login(rogue.user)
    page = text(leaving.get(f"/o/{org.slug}/settings/leave/"))
    assert (
        "Your 2 pending invitations are withdrawn at once: the links in those emails will "
        "say the invitation was withdrawn. An admin can invite those people again."
    ) in page
