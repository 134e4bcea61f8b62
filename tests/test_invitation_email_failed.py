"""An invitation whose email could not be sent is not kept: its token is only ever in that
email, so a kept one waited unusable and blocked inviting the address again ("already has a
pending invitation"). The admin is told in words that nothing was saved, the address still
typed, and can send it again once mail works."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from alerts_saas.accounts.models import Invitation, Organization, Role
from devtools.sandbox.testing import free_port

pytestmark = pytest.mark.django_db

ADDRESS = "new@acme.example"


@pytest.fixture
def org(make_org) -> Organization:
    return make_org("Acme")


@pytest.fixture
def owner(org: Organization) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(org.memberships.get(role=Role.OWNER).user)
    return client


def _invite(owner: Client, org: Organization):
    return owner.post(
        f"/o/{org.slug}/settings/members/invite/", {"email": ADDRESS, "role": "member"}
    )


def test_a_mail_server_that_refuses_leaves_no_invitation_and_says_so(org, owner, settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens
    settings.EMAIL_TIMEOUT = 5
    page = _invite(owner, org)
    assert page.status_code == 502
    text = page.content.decode()
    assert (
        f"The invitation email to {ADDRESS} could not be sent, so no invitation was saved. "
        "Try again in a few minutes." in text
    )
    assert f'value="{ADDRESS}"' in text  # still typed, to send again
    assert not Invitation.objects.filter(email=ADDRESS).exists()

    # Mail works again: the same address is invited at once, not "already pending".
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert _invite(owner, org).status_code == 302
    assert Invitation.objects.pending().filter(email=ADDRESS).count() == 1
    assert [m.to for m in mail.outbox] == [[ADDRESS]]
