"""An invitation opened again by the person who accepted it (r20): the link in their mailbox
said "This invitation has already been used. Ask for a new one if you still need access."
(410) to someone who has access, a member since. Now: "You joined Acme on <date> with this
invitation" and a way there. Anyone else, and someone who has left since, still hears that
it was used."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.test import Client

from alerts_saas.accounts.models import Invitation, Membership, Organization, Role, User

pytestmark = pytest.mark.django_db

INVITED = "new@acme.example"
USED = "This invitation has already been used. Ask for a new one if you still need access."


@pytest.fixture
def org(make_org: Callable[..., Organization], make_user: Callable[..., User]) -> Organization:
    return make_org("Acme", owner=make_user("owner@acme.example"))


@pytest.fixture
def accepted(org: Organization, make_user: Callable[..., User], client: Client) -> tuple[User, str]:
    """INVITED, signed in on `client`, accepted an invitation on 3 March 2026; its link."""
    _, token = Invitation.issue(org, INVITED, Role.MEMBER, org.memberships.get().user)
    user = make_user(INVITED)
    client.force_login(user)
    link = f"/invitations/{token}/"
    assert client.post(link).status_code == 302
    Membership.objects.filter(user=user).update(created_at=datetime(2026, 3, 3, 12, tzinfo=UTC))
    return user, link


def _words(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))


def test_the_member_who_accepted_it_is_told_when_they_joined(
    org: Organization, accepted: tuple[User, str], client: Client
) -> None:
    _, link = accepted
    response = client.get(link)
    page = response.content.decode()
    assert response.status_code == 200
    assert "You joined Acme on 3 March 2026 with this invitation." in _words(page)
    assert f'<a href="/o/{org.slug}/" role="button">Go to Acme</a>' in page
    assert USED not in page


@pytest.mark.parametrize("who", ["someone else", "nobody signed in", "who left since"])
def test_to_anyone_else_it_was_used(
    org: Organization,
    accepted: tuple[User, str],
    make_user: Callable[..., User],
    client: Client,
    who: str,
) -> None:
    user, link = accepted
    if who == "someone else":
        client.force_login(org.memberships.get(role=Role.OWNER).user)
    elif who == "nobody signed in":
        client.logout()
    else:
        Membership.objects.filter(user=user).delete()
    response = client.get(link)
    assert response.status_code == 410
    assert USED in response.content.decode()
    assert "You joined" not in response.content.decode()
