"""Every email subject the product writes is one line: an organization's or an alert's name
with a line break in it (kept from before forms refused one) made Django refuse the header,
so inviting someone was a 500 and the paging-problem email was never sent."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from alerts_saas.accounts.adapter import AccountAdapter
from alerts_saas.accounts.models import Organization, Role
from alerts_saas.alerts.models import Alert
from alerts_saas.notices.reconcile import reconcile

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(make_org) -> Organization:
    org = make_org("Acme")
    Organization.objects.filter(pk=org.pk).update(name="Acme\r\nOps\u2028East")
    org.refresh_from_db()
    return org


def test_an_invitation_from_an_organization_whose_name_has_a_line_break(org) -> None:
    owner = Client(raise_request_exception=False)
    owner.force_login(org.memberships.get(role=Role.OWNER).user)
    response = owner.post(
        f"/o/{org.slug}/settings/members/invite/", {"email": "new@acme.example", "role": "member"}
    )
    assert response.status_code == 302
    [email] = mail.outbox
    assert email.subject.endswith("invited you to Acme Ops East")
    assert email.subject.startswith("[Tripwire] ")


def test_a_paging_problem_email_of_such_an_organization(org) -> None:
    Alert.objects.create(organization=org, name="Edge\nheartbeat", threshold=1)
    reconcile(org)
    assert [m.subject for m in mail.outbox] == [
        "[Tripwire] Paging broken in Acme Ops East: Edge heartbeat pages nobody"
    ]


def test_allauths_emails_too() -> None:
    """allauth's emails (sign-in, passwords, two-factor) go through the same helper."""
    subject = AccountAdapter().format_email_subject("Your\tcode\x0bto confirm")
    assert subject == "[Tripwire] Your code to confirm"
