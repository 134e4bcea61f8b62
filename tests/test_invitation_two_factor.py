"""An invitation to an organization that asks every member for two-factor sign-in says so
before joining (r20): the Join page and the invitation email said nothing, and the first
page after Accept asked for an authenticator app."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core import mail
from django.test import Client

from alerts_saas.accounts.emails import send_invitation_email
from alerts_saas.accounts.models import Invitation, Organization, Role, User

pytestmark = pytest.mark.django_db

INVITED = "new@acme.example"
ASKS = "Acme asks every member to sign in with two-factor:"
WILL = f"{ASKS} you will set up an authenticator app after joining"


@pytest.fixture
def org(make_org: Callable[..., Organization], make_user: Callable[..., User]) -> Organization:
    made = make_org("Acme", owner=make_user("owner@acme.example"))
    made.require_two_factor = True
    made.save()
    return made


def _invite(org: Organization) -> tuple[Invitation, str]:
    invitation, token = Invitation.issue(org, INVITED, Role.MEMBER, org.memberships.get().user)
    send_invitation_email(invitation, token)
    return invitation, f"/invitations/{token}/"


def _words(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))


def test_the_email_says_so(org: Organization) -> None:
    _invite(org)
    (sent,) = mail.outbox
    assert f"{WILL}, unless your Tripwire account already has one." in sent.body.replace("\n", " ")


def test_the_join_page_says_so_to_whoever_opens_it(org: Organization, client: Client) -> None:
    _, link = _invite(org)
    assert f"{WILL}." in _words(client.get(link).content.decode())


def test_signed_in_the_join_page_says_it_then_the_organization_asks_for_it(
    org: Organization, make_user: Callable[..., User], client: Client
) -> None:
    _, link = _invite(org)
    client.force_login(make_user(INVITED))
    assert f"{WILL}." in _words(client.get(link).content.decode())
    joined = client.post(link)
    assert joined.status_code == 302
    asked = client.get(joined["Location"])  # the organization's first page
    assert (asked.status_code, asked["Location"]) == (302, "/accounts/2fa/totp/activate/")


def test_someone_with_an_app_already_is_told_they_have_one(
    org: Organization, make_user: Callable[..., User], client: Client
) -> None:
    _, link = _invite(org)
    user = make_user(INVITED)
    TOTP.activate(user, generate_totp_secret())
    client.force_login(user)
    page = _words(client.get(link).content.decode())
    assert f"{ASKS} your account already has an authenticator app." in page
    assert WILL not in page


def test_an_organization_that_does_not_ask_says_nothing_of_it(
    org: Organization, client: Client
) -> None:
    org.require_two_factor = False
    org.save()
    _, link = _invite(org)
    assert "two-factor" not in _words(client.get(link).content.decode())
    assert "two-factor" not in mail.outbox[0].body
