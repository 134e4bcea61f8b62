"""Invitations work once, expire, and only for the invited address."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts_saas.accounts.models import Invitation, Membership, Role
from alerts_saas.accounts.services import InvitationError, accept_invitation
from alerts_saas.accounts.tasks import purge_stale_invitations

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(make_org, make_user):
    return make_org("Acme", owner=make_user("owner@acme.example"))


@pytest.fixture
def invite(org):
    owner = org.memberships.get().user

    def issue(email: str = "new@acme.example", role: str = Role.MEMBER):
        return Invitation.issue(org, email, role, owner)

    return issue


def test_the_token_is_not_stored(invite) -> None:
    invitation, token = invite()
    assert token not in invitation.token_hash
    assert len(token) >= 40


def test_an_invitation_works_once(invite, make_user) -> None:
    invitation, _ = invite()
    user = make_user("new@acme.example")
    accept_invitation(invitation, user)
    with pytest.raises(InvitationError, match="already been used"):
        accept_invitation(invitation, user)
    invitation.refresh_from_db()
    # A stale in-memory copy cannot be used twice either: the claim is compare-and-set.
    stale = Invitation.objects.get(pk=invitation.pk)
    stale.accepted_at = None
    with pytest.raises(InvitationError, match="already been used"):
        accept_invitation(stale, user)
    assert Membership.objects.filter(user=user).count() == 1


def test_an_expired_invitation_is_refused_plainly(invite, make_user, client) -> None:
    invitation, token = invite()
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    invitation.refresh_from_db()
    with pytest.raises(InvitationError, match="expired"):
        accept_invitation(invitation, make_user("new@acme.example"))
    response = client.get(f"/invitations/{token}/")
    assert response.status_code == 410
    assert "This invitation expired on" in response.content.decode()


def test_a_used_link_says_so(invite, make_user, client) -> None:
    _invitation, token = invite()
    user = make_user("new@acme.example")
    client.force_login(user)
    assert client.post(f"/invitations/{token}/").status_code == 302
    client.logout()  # who used it is told when they joined (tests/test_invitation_joined.py)
    response = client.get(f"/invitations/{token}/")
    assert response.status_code == 410
    assert "already been used" in response.content.decode()


def test_it_only_works_for_the_invited_address(invite, make_user, client) -> None:
    _, token = invite()
    client.force_login(make_user("someone-else@example.com"))
    response = client.post(f"/invitations/{token}/")
    assert response.status_code == 400
    assert "This invitation was sent to new@acme.example" in response.content.decode()
    assert not Membership.objects.filter(user__email="someone-else@example.com").exists()


def test_an_existing_user_signs_in_and_comes_back_to_accept(invite, make_user, client) -> None:
    _, token = invite(role=Role.ADMIN)
    make_user("new@acme.example", password="s3cret-enough-passphrase")
    page = client.get(f"/invitations/{token}/").content.decode()
    assert "Sign in to accept" in page
    response = client.post(
        "/accounts/login/", {"login": "new@acme.example", "password": "s3cret-enough-passphrase"}
    )
    assert response["Location"] == f"/invitations/{token}/"
    client.post(f"/invitations/{token}/")
    assert Membership.objects.get(user__email="new@acme.example").role == Role.ADMIN


def test_withdrawn_invitations_cannot_be_used(invite, org, client) -> None:
    invitation, token = invite()
    client.force_login(org.memberships.get().user)
    client.post(f"/o/{org.slug}/settings/invitations/{invitation.pk}/revoke/")
    response = client.get(f"/invitations/{token}/")
    assert response.status_code == 410
    assert "withdrawn" in response.content.decode()


def test_inviting_twice_or_a_member_is_a_form_error(invite, org, client) -> None:
    invite("twice@acme.example")
    client.force_login(org.memberships.get().user)
    url = f"/o/{org.slug}/settings/members/invite/"
    response = client.post(url, {"email": "twice@acme.example", "role": "member"})
    assert response.status_code == 400
    assert "already has a pending invitation" in response.content.decode()
    response = client.post(url, {"email": "owner@acme.example", "role": "member"})
    assert "is already a member of Acme" in response.content.decode()
    response = client.post(url, {"email": "not-an-email", "role": "member"})
    assert "Enter a valid email address." in response.content.decode()
    assert Invitation.objects.count() == 1


def test_the_invitation_email_carries_a_working_link(org, client, mailoutbox, settings) -> None:
    settings.SITE_URL = "http://testserver"
    client.force_login(org.memberships.get().user)
    client.post(
        f"/o/{org.slug}/settings/members/invite/", {"email": "mail@acme.example", "role": "admin"}
    )
    assert len(mailoutbox) == 1
    link = re.search(r"http://testserver(/invitations/[^\s]+/)", mailoutbox[0].body).group(1)
    assert client.get(link).status_code == 200


def test_purge_removes_long_ended_invitations_only(invite) -> None:
    old, _ = invite("old@acme.example")
    _fresh, _ = invite("fresh@acme.example")
    Invitation.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=31))
    assert purge_stale_invitations() == 1
    assert list(Invitation.objects.values_list("email", flat=True)) == ["fresh@acme.example"]


def test_only_an_owner_withdraws_an_invitation_to_be_an_owner(invite, org, add_member, client):
    """Only owners grant the owner role, so only they take such an invitation back."""
    to_own, _ = invite("co-owner@acme.example", Role.OWNER)
    to_join, _ = invite("member@acme.example", Role.MEMBER)
    client.force_login(add_member(org, "admin@acme.example", Role.ADMIN).user)
    page = client.get(f"/o/{org.slug}/settings/members/").content.decode()
    assert f"/settings/invitations/{to_own.pk}/revoke/" not in page
    assert "Only an owner can withdraw it" in page
    refused = client.post(f"/o/{org.slug}/settings/invitations/{to_own.pk}/revoke/")
    assert refused.status_code == 403 and "owner@acme.example" in refused.content.decode()
    to_own.refresh_from_db()
    assert to_own.revoked_at is None
    client.post(f"/o/{org.slug}/settings/invitations/{to_join.pk}/revoke/")  # a member's: yes
    to_join.refresh_from_db()
    assert to_join.revoked_at is not None
