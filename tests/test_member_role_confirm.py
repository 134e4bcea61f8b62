"""Settings → Members, Change role (r20): a change that takes something away (API tokens
that stop, invitations withdrawn) and any change of your own role ask first, on a page that
names what goes; the change and its message come after Confirm. A promotion, or a demotion
that takes nothing, stays one click. A POST without the confirmation changes nothing."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alerts_saas.accounts.models import Invitation, Membership, Organization, Role, User
from alerts_saas.ingest.models import ApiToken, Scope
from tests.api_client import Api

pytestmark = pytest.mark.django_db


def text(response) -> str:  # type: ignore[no-untyped-def]
    """Words as a person reads them: tags left out, spaces collapsed."""
    words = re.sub(r"\s*<[^>]+>\s*", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(words)).replace(" .", ".").strip()


def confirm_of(response) -> str:  # type: ignore[no-untyped-def]
    found = re.search(r'name="confirm" value="([^"]+)"', response.content.decode())
    assert found, text(response)
    return found.group(1)


@pytest.fixture
def named(make_user: Callable[..., User]) -> Callable[..., User]:
    def make(email: str, first: str, last: str = "") -> User:
        user = make_user(email)
        user.first_name, user.last_name = first, last
        user.save(update_fields=["first_name", "last_name"])
        return user

    return make


@pytest.fixture
def org(make_org: Callable[..., Organization], named: Callable[..., User]) -> Organization:
    return make_org("R20", owner=named("lead@r20.example", "Lead"))


@pytest.fixture
def lead(org: Organization) -> Membership:
    return org.memberships.get()


@pytest.fixture
def alice(org: Organization, named: Callable[..., User]) -> Membership:
    user = named("alice@r20.example", "Alice")
    return Membership.objects.create(organization=org, user=user, role=Role.ADMIN)


def role_url(org: Organization, membership: Membership) -> str:
    return f"/o/{org.slug}/settings/members/{membership.pk}/role/"


def roles(org: Organization) -> dict[str, str]:
    return dict(org.memberships.values_list("user__email", "role"))


def test_the_reviewers_self_demotion_asks_and_changes_nothing_until_confirmed(
    org: Organization, lead: Membership, named: Callable[..., User], client: Client
) -> None:
    """One of two owners picks Member on his own row: he was a member at once, could not
    undo it, and his "terraform" token answered 401."""
    other = named("olivia@r20.example", "Olivia", "Owner")
    Membership.objects.create(organization=org, user=other, role=Role.OWNER)
    _token, secret = ApiToken.issue(org, "terraform", lead.user, scope=Scope.WRITE)
    client.force_login(lead.user)

    asked = client.post(role_url(org, lead), {"role": "member"})
    assert asked.status_code == 200
    page = text(asked)
    assert "Make yourself a member?" in page
    assert "You will no longer be able to invite people" in page
    assert "Your API token “terraform” stops working at once" in page
    assert (
        "You can't undo this yourself: only an owner can make you an owner again: ask Olivia Owner."
    ) in page
    assert f'href="/o/{org.slug}/settings/members/">Cancel</a>' in asked.content.decode()
    assert roles(org)["lead@r20.example"] == Role.OWNER
    Api(secret).get("/alerts", status=200)  # still working

    done = client.post(
        role_url(org, lead), {"role": "member", "confirm": confirm_of(asked)}, follow=True
    )
    assert "You are now a member. Your API token “terraform” was revoked." in text(done)
    assert roles(org)["lead@r20.example"] == Role.MEMBER
    Api(secret).get("/alerts", status=401)


def test_a_change_of_your_own_role_that_takes_nothing_still_asks(
    org: Organization, add_member: Callable[..., Membership], client: Client
) -> None:
    admin = add_member(org, "admin@r20.example", Role.ADMIN)  # no tokens, no invitations
    client.force_login(admin.user)
    asked = client.post(role_url(org, admin), {"role": "member"})
    assert "Make yourself a member?" in text(asked)
    assert (
        "You can't undo this yourself: only an owner or admin can make you an admin again: "
        "ask Lead." in text(asked)
    )
    assert roles(org)["admin@r20.example"] == Role.ADMIN


def test_demoting_alice_asks_names_her_token_and_says_what_was_done(
    org: Organization, lead: Membership, alice: Membership, client: Client
) -> None:
    token, secret = ApiToken.issue(org, "alice-ci", alice.user, scope=Scope.WRITE)
    invitation, _ = Invitation.issue(org, "bob@elsewhere.example", Role.MEMBER, alice.user)
    client.force_login(lead.user)

    asked = client.post(role_url(org, alice), {"role": "member"})
    page = text(asked)
    assert "Make Alice a member?" in page
    assert "Their API token “alice-ci” stops working at once" in page
    assert "Their 1 pending invitation is withdrawn at once" in page
    assert "undo this yourself" not in page
    assert roles(org)["alice@r20.example"] == Role.ADMIN
    token.refresh_from_db()
    invitation.refresh_from_db()
    assert not token.is_revoked and invitation.is_pending

    done = client.post(
        role_url(org, alice), {"role": "member", "confirm": confirm_of(asked)}, follow=True
    )
    assert (
        "Alice is now a member. Their API token “alice-ci” was revoked; "
        "1 invitation they sent was withdrawn."
    ) in text(done)
    assert roles(org)["alice@r20.example"] == Role.MEMBER
    token.refresh_from_db()
    invitation.refresh_from_db()
    assert token.is_revoked and not invitation.is_pending
    Api(secret).get("/alerts", status=401)


def test_an_owner_made_an_admin_is_told_which_invitations_go(
    org: Organization, lead: Membership, named: Callable[..., User], client: Client
) -> None:
    second = Membership.objects.create(
        organization=org, user=named("sam@r20.example", "Sam"), role=Role.OWNER
    )
    ApiToken.issue(org, "sam-ci", second.user, scope=Scope.WRITE)  # kept: still an admin
    Invitation.issue(org, "boss@elsewhere.example", Role.OWNER, second.user)
    Invitation.issue(org, "ops@elsewhere.example", Role.ADMIN, second.user)
    client.force_login(lead.user)
    asked = client.post(role_url(org, second), {"role": "admin"})
    page = text(asked)
    assert "Their 1 pending invitation to be an owner is withdrawn" in page
    assert "sam-ci" not in page
    done = client.post(
        role_url(org, second), {"role": "admin", "confirm": confirm_of(asked)}, follow=True
    )
    assert "Sam is now an admin. 1 invitation to be an owner they sent was withdrawn." in text(done)
    assert Invitation.objects.pending().get().email == "ops@elsewhere.example"


def test_a_promotion_stays_one_click(
    org: Organization, lead: Membership, alice: Membership, client: Client
) -> None:
    """Guard for the one click (it was one already); the message names her as the page does."""
    ApiToken.issue(org, "alice-ci", alice.user, scope=Scope.WRITE)
    client.force_login(lead.user)
    done = client.post(role_url(org, alice), {"role": "owner"})
    assert done.status_code == 302
    assert roles(org)["alice@r20.example"] == Role.OWNER
    assert "Alice is now an owner." in text(client.get(done["Location"]))
    assert not ApiToken.objects.get().is_revoked


def test_a_post_without_confirmation_changes_nothing(
    org: Organization, lead: Membership, alice: Membership, client: Client
) -> None:
    """A stale members page or a script posts the role alone: the confirmation page answers;
    a confirmation of what the page said before a second token was made is asked again."""
    ApiToken.issue(org, "alice-ci", alice.user, scope=Scope.WRITE)
    client.force_login(lead.user)
    refused = client.post(role_url(org, alice), {"role": "member"})
    assert refused.status_code == 200 and "Make Alice a member?" in text(refused)
    confirm = confirm_of(refused)
    ApiToken.issue(org, "alice-deploy", alice.user, scope=Scope.WRITE)
    stale = client.post(role_url(org, alice), {"role": "member", "confirm": confirm})
    assert stale.status_code == 409
    assert "Nothing was changed" in text(stale)
    assert "Their API tokens “alice-ci” and “alice-deploy” stop working" in text(stale)
    forged = client.post(role_url(org, alice), {"role": "member", "confirm": "yes"})
    assert forged.status_code == 409
    assert roles(org)["alice@r20.example"] == Role.ADMIN
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()


def _asking_queries(client: Client, org: Organization, alice: Membership) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        asked = client.post(role_url(org, alice), {"role": "member"})
    assert asked.status_code == 200
    return len(queries), text(asked)


def test_the_confirmation_costs_the_same_queries_with_one_token_or_five(
    org: Organization, lead: Membership, alice: Membership, client: Client
) -> None:
    ApiToken.issue(org, "token-1", alice.user, scope=Scope.READ)
    client.force_login(lead.user)
    client.get(f"/o/{org.slug}/settings/members/")  # the session settles
    one, page = _asking_queries(client, org, alice)
    assert "Their API token “token-1” stops working" in page
    for n in range(2, 6):
        ApiToken.issue(org, f"token-{n}", alice.user, scope=Scope.READ)
    five, page = _asking_queries(client, org, alice)
    assert (
        "Their API tokens “token-1”, “token-2”, “token-3”, “token-4” and “token-5” stop working"
        in page
    )
    assert five == one
    assert roles(org)["alice@r20.example"] == Role.ADMIN


def test_another_organizations_owner_cannot_reach_the_confirmation(
    org: Organization,
    alice: Membership,
    make_org: Callable[..., Organization],
    make_user: Callable[..., User],
    client: Client,
) -> None:
    """Guard (tenant scoping, as before): the page of someone in another organization is a
    404, confirmed or not, and says nothing of their tokens."""
    ApiToken.issue(org, "alice-ci", alice.user, scope=Scope.WRITE)
    other = make_org("Elsewhere", owner=make_user("owner@elsewhere.example"))
    client.force_login(other.memberships.get().user)
    url = f"/o/{other.slug}/settings/members/{alice.pk}/role/"
    assert client.post(url, {"role": "member"}).status_code == 404
    assert client.post(url, {"role": "member", "confirm": "admin-member-1-0"}).status_code == 404
    assert roles(org)["alice@r20.example"] == Role.ADMIN
