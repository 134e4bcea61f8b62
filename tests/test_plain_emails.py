"""Every email the product sends is plain text: its subject and body carry names as typed,
never HTML-escaped ("Payments & Checkout", not "Payments &amp; Checkout"). Invitations,
paging-problem notices, verification and password reset."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from alerts_saas.accounts.models import Organization, Role
from alerts_saas.alerts.models import Alert
from alerts_saas.notices.reconcile import reconcile
from integrations.pagerduty import paths
from integrations.pagerduty.models import PagerDutyService

pytestmark = pytest.mark.django_db

NAME = "Night Ops — Payments & Checkout <EU>"
ESCAPES = re.compile(r"&(amp|lt|gt|quot|#x27|#39);")


@pytest.fixture
def tricky_org(make_org, make_user) -> Organization:
    owner = make_user("owner@acme.example")
    owner.first_name, owner.last_name = "Ann", "O'Brien & Co"
    owner.save()
    return make_org(NAME, owner=owner)


def _plain(message: mail.EmailMessage) -> None:
    assert not ESCAPES.search(message.subject), message.subject
    assert not ESCAPES.search(message.body), message.body


def test_the_invitation_email_says_the_names_as_typed(tricky_org) -> None:
    client = Client()
    client.force_login(tricky_org.memberships.get(role=Role.OWNER).user)
    response = client.post(
        f"/o/{tricky_org.slug}/settings/members/invite/",
        {"email": "new@acme.example", "role": "member"},
    )
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.subject == f"[Tripwire] Ann O'Brien & Co invited you to {NAME}"
    assert f"Ann O'Brien & Co invited you to join {NAME} on Tripwire as a member." in message.body
    _plain(message)


def test_the_paging_problem_email_says_the_names_as_typed(tricky_org) -> None:
    service = PagerDutyService.objects.create(
        organization=tricky_org, name="Checkout & Pay", integration_key="0" * 32
    )
    alert = Alert.objects.create(organization=tricky_org, name="Errors > 5 & <rising>")
    alert.targets.set([service])
    paths.record([paths.Outcome(service.pk, refused=True, detail="Key 'x' & more")])
    assert reconcile(tricky_org).emails_sent == 1
    [message] = mail.outbox
    assert NAME in message.subject and "Checkout & Pay" in message.subject
    assert f"Paging is broken in {NAME}." in message.body
    assert "Errors > 5 & <rising>" in message.body
    _plain(message)


def test_verification_and_reset_emails_say_the_address_as_typed(client, make_user) -> None:
    address = "o'brien&co@acme.example"
    client.post(
        "/accounts/signup/",
        {"email": address, "password1": "A-long-pass-99", "password2": "A-long-pass-99"},
    )
    make_user("forgetful&co@acme.example")
    Client().post("/accounts/password/reset/", {"email": "forgetful&co@acme.example"})
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        _plain(message)
    assert mail.outbox[0].to == [address]
    assert "forgetful&co@acme.example" in mail.outbox[1].body
