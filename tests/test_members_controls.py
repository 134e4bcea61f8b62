"""Members: each person is offered only what they can do, and a withheld control says why;
a wrong account opening an invitation is told so before any click; an organization that
requires two-factor sign-in shows its admins who has not set it up, and lets a member
without it leave."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from alerts_saas.accounts.models import Invitation, Membership, Organization, Role, User
from tests.conftest import PASSWORD
from tests.two_factor import sign_in_with_app

pytestmark = pytest.mark.django_db


def _row(page: str, membership: Membership) -> str:
    found = re.search(rf'<tr id="member-{membership.pk}">(.*?)</tr>', page, re.S)
    assert found, page
    return found.group(1)


@pytest.fixture
def org(make_org: Callable[..., Organization], make_user: Callable[..., User]) -> Organization:
    return make_org("Acme", owner=make_user("owner@acme.example"))


def test_an_admin_is_offered_nothing_on_the_owners_row_and_told_why(
    org: Organization, add_member: Callable[..., Membership], client: Client
) -> None:
    owner = org.memberships.get()
    admin = add_member(org, "admin@acme.example", Role.ADMIN)
    member = add_member(org, "member@acme.example")
    client.force_login(admin.user)
    page = client.get(f"/o/{org.slug}/settings/members/").content.decode()

    owner_row = _row(page, owner)
    assert "Only an owner can change an owner's role" in owner_row
    assert "<select" not in owner_row and "Remove…" not in owner_row
    member_row = _row(page, member)
    assert "Change role" in member_row and "Remove…" in member_row
    assert 'value="owner"' not in member_row  # only an owner grants it
    # The server still refuses, whatever is posted.
    client.post(f"/o/{org.slug}/settings/members/{owner.pk}/role/", {"role": "member"})
    client.post(f"/o/{org.slug}/settings/members/{member.pk}/role/", {"role": "owner"})
    assert set(org.memberships.values_list("role", flat=True)) == {"owner", "admin", "member"}


def test_the_sole_owner_is_told_to_make_someone_else_owner_first(
    org: Organization, add_member: Callable[..., Membership], client: Client
) -> None:
    owner = org.memberships.get()
    member = add_member(org, "member@acme.example")
    client.force_login(owner.user)
    page = client.get(f"/o/{org.slug}/settings/members/").content.decode()
    own_row = _row(page, owner)
    alone = "You are the only owner. To change your role or leave, make someone else an owner"
    assert alone in own_row
    assert "Change role" not in own_row
    assert 'value="owner"' in _row(page, member)

    client.post(f"/o/{org.slug}/settings/members/{member.pk}/role/", {"role": "owner"})
    flash = client.get(f"/o/{org.slug}/settings/members/").content.decode()
    assert "member@acme.example is now an owner." in flash
    assert "Change role" in _row(flash, owner)  # two owners: either may step down


def test_a_role_change_reads_as_a_sentence(
    org: Organization, add_member: Callable[..., Membership], client: Client
) -> None:
    admin = add_member(org, "admin@acme.example", Role.ADMIN)
    client.force_login(org.memberships.get(role=Role.OWNER).user)
    page = client.post(
        f"/o/{org.slug}/settings/members/{admin.pk}/role/", {"role": "member"}, follow=True
    ).content.decode()
    assert "admin@acme.example is now a member." in page


def test_a_wrong_account_is_told_before_any_click(
    org: Organization, make_user: Callable[..., User], client: Client
) -> None:
    _, token = Invitation.issue(org, "carol@example.com", Role.MEMBER, org.memberships.get().user)
    client.force_login(make_user("alice@example.com"))
    page = client.get(f"/invitations/{token}/").content.decode()
    assert "Accept invitation" not in page
    assert (
        "This invitation is for <strong>carol@example.com</strong>. You are signed in as "
        "<strong>alice@example.com</strong>: sign out and open the link again, or ask for an "
        "invitation to your address."
    ) in page
    assert 'action="/accounts/logout/"' in page
    assert f'name="next" value="/invitations/{token}/"' in page
    # Signing out comes back to the invitation, to sign in as the invited address.
    back = client.post("/accounts/logout/", {"next": f"/invitations/{token}/"})
    assert back["Location"] == f"/invitations/{token}/"
    assert "join as a member" in client.get(back["Location"]).content.decode()


def test_admins_see_who_has_not_set_up_two_factor_and_a_member_may_leave_without_it(
    org: Organization, add_member: Callable[..., Membership], client: Client
) -> None:
    owner = org.memberships.get()
    member = add_member(org, "member@acme.example")
    Organization.objects.filter(pk=org.pk).update(require_two_factor=True)
    sign_in_with_app(client, owner.user)  # the password and the app's code
    page = client.get(f"/o/{org.slug}/settings/members/").content.decode()
    assert "Two-factor: on" in _row(page, owner)
    assert "Two-factor: not set up yet" in _row(page, member)

    client.force_login(member.user)
    for path in ("/profile/", "/accounts/logout/", "/accounts/2fa/"):
        assert client.get(path).status_code == 200, path
    assert client.get(f"/o/{org.slug}/alerts/")["Location"] == "/accounts/2fa/totp/activate/"
    leave = client.get(f"/o/{org.slug}/settings/leave/")
    assert leave.status_code == 200
    asked = client.post(f"/o/{org.slug}/settings/leave/")  # the password again first
    assert asked["Location"].startswith("/accounts/reauthenticate/")
    assert client.post(asked["Location"], {"password": PASSWORD})["Location"] == "/"
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_the_set_up_request_offers_leaving_instead(
    org: Organization, add_member: Callable[..., Membership], client: Client
) -> None:
    member = add_member(org, "member@acme.example")
    Organization.objects.filter(pk=org.pk).update(require_two_factor=True)
    client.force_login(member.user)
    page = client.get(f"/o/{org.slug}/alerts/", follow=True).content.decode()
    assert (
        "Acme asks every member to use two-factor sign-in: set up an authenticator app to open "
        f'its pages. Rather not? <a href="/o/{org.slug}/settings/leave/">Leave Acme</a>.'
    ) in page
