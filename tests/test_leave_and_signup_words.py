"""Two pages a new user read wrongly (walk-through w1): the last owner was offered a Leave
button and told only after clicking it that they cannot leave; and the sign-up page reached
from an invitation said "then you set up your organization", though the invited person
joins the one that invited them."""

from __future__ import annotations

import re

import pytest

from alerts_saas.accounts.models import Invitation, Membership, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(make_org, make_user):
    return make_org("Demo Org", owner=make_user("owner@demo.example"))


def _text(html: bytes) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode()))


def _leave_page(client, org, user) -> str:
    client.force_login(user)
    return client.get(f"/o/{org.slug}/settings/leave/").content.decode()


def test_the_last_owner_is_told_up_front_and_offered_no_leave_button(
    org, add_member, client
) -> None:
    owner = org.memberships.get(role=Role.OWNER)
    alone = _leave_page(client, org, owner.user)
    assert "Leave Demo Org</button>" not in alone
    assert "You are its last owner" in _text(alone.encode())
    assert "invite someone, make them an owner once they join, then leave" in _text(alone.encode())

    add_member(org, "mia@demo.example")
    with_member = _text(_leave_page(client, org, owner.user).encode())
    assert "Make another member an owner first (Settings / Members), then leave." in with_member
    assert "Leave Demo Org?" not in with_member
    assert f'href="/o/{org.slug}/settings/members/"' in _leave_page(client, org, owner.user)

    # The refusal stays where it was: a post is still refused.
    client.post(f"/o/{org.slug}/settings/leave/")
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_an_owner_with_another_owner_and_a_member_still_get_the_leave_button(
    org, add_member, client
) -> None:
    add_member(org, "second@demo.example", role=Role.OWNER)
    owner = org.memberships.get(user__email="owner@demo.example")
    assert "Leave Demo Org</button>" in _leave_page(client, org, owner.user)
    member = add_member(org, "mia@demo.example")
    page = _leave_page(client, org, member.user)
    assert "Leave Demo Org</button>" in page and "last owner" not in page


def test_sign_up_from_an_invitation_says_they_join_its_organization(org, client) -> None:
    plain = _text(client.get("/accounts/signup/").content)
    assert "then you set up your organization" in plain

    _, token = Invitation.issue(org, "mia@example.com", Role.MEMBER, org.memberships.get().user)
    client.get(f"/invitations/{token}/")
    invited = _text(client.get("/accounts/signup/").content)
    assert "set up your organization" not in invited
    assert "Then you accept the invitation and join Demo Org as a member" in invited
    assert "You were invited as mia@example.com , so your account uses that address" in invited
