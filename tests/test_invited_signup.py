"""Sign-up from an invitation (r20): the account's address is the invited one. The page
used to promise a confirmation link for another typed address, while allauth made the
account as the invited address (verified, signed in) with the typed one stored unverified
beside it, and no email sent to it."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress

from alerts_saas.accounts.models import Invitation, Membership, Role, User
from alerts_saas.accounts.services import revoke_invitation

pytestmark = pytest.mark.django_db

PASSWORD = {"password1": "A-long-pass-99", "password2": "A-long-pass-99"}


@pytest.fixture
def org(make_org, make_user):
    return make_org("R20 Org", owner=make_user("owner@r20.example"))


@pytest.fixture
def token(org) -> str:
    _, token = Invitation.issue(org, "hank@r20.example", Role.MEMBER, org.memberships.get().user)
    return token


def _text(html: bytes) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode()))


def test_another_address_from_an_invitation_is_refused_in_words(
    org, token, client, mailoutbox
) -> None:
    client.get(f"/invitations/{token}/")
    response = client.post("/accounts/signup/", {"email": "hank.personal@home.example", **PASSWORD})
    assert response.status_code == 200
    page = _text(response.content)
    assert "You were invited as hank@r20.example, so your account uses that address." in page
    assert "The account was not created" in page
    # The field shows the invited address again, read-only, not the refused one.
    field = re.search(r"<input[^>]*name=\"email\"[^>]*>", response.content.decode())
    assert field is not None
    assert 'value="hank@r20.example"' in field.group() and "readonly" in field.group()
    assert not User.objects.exclude(email="owner@r20.example").exists()
    assert not EmailAddress.objects.filter(email__icontains="hank").exists()
    assert mailoutbox == []
    assert "_auth_user_id" not in client.session


def test_the_invited_sign_up_still_joins(org, token, client, mailoutbox) -> None:
    client.get(f"/invitations/{token}/")
    form = client.get("/accounts/signup/")
    page = _text(form.content)
    assert "You were invited as hank@r20.example , so your account uses that address" in page
    assert "With an email address other than" not in page

    signed_up = client.post("/accounts/signup/", {"email": "hank@r20.example", **PASSWORD})
    assert signed_up.status_code == 302 and signed_up["Location"] == f"/invitations/{token}/"
    user = User.objects.get(email="hank@r20.example")
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified")) == [
        ("hank@r20.example", True)
    ]
    assert mailoutbox == []  # the link already proved the mailbox

    joined = client.post(f"/invitations/{token}/")
    assert joined.status_code == 302
    assert Membership.objects.filter(organization=org, user=user, role=Role.MEMBER).exists()


def test_a_withdrawn_invitation_no_longer_vouches_for_its_address(
    org, token, client, mailoutbox
) -> None:
    """Opened, then withdrawn before signing up: the sign-up is an ordinary one, so the
    typed address is confirmed by email and the invited one is not added as verified."""
    client.get(f"/invitations/{token}/")
    revoke_invitation(Invitation.objects.get(organization=org))
    client.post("/accounts/signup/", {"email": "hank.personal@home.example", **PASSWORD})
    user = User.objects.get(email="hank.personal@home.example")
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified")) == [
        ("hank.personal@home.example", False)
    ]
    (mail,) = mailoutbox
    assert mail.to == ["hank.personal@home.example"]
