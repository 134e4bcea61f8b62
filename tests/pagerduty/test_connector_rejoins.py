"""The person who connected a PagerDuty account left (the account is flagged: Integrations
says Tripwire acts as a former member), then was invited back and accepted: they are a
member again, so the flag is cleared when they join, with an audit entry, and Integrations
no longer says they left."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts_saas.accounts.models import Invitation, Membership, Organization, Role
from alerts_saas.audit.models import Entry
from alerts_saas.audit.words import describe
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from tests.pagerduty.test_connector_left import _remove, ada, service, text  # noqa: F401

pytestmark = pytest.mark.django_db


def test_invited_back_and_accepting_clears_the_flag(
    org: Organization,
    ada: Membership,  # noqa: F811
    service: PagerDutyService,  # noqa: F811
    admin_client: Client,
) -> None:
    _remove(admin_client, org, ada)
    account = PagerDutyAccount.objects.get(pk=service.account_id)
    assert account.connected_by_left_at is not None
    assert "who left Acme Ops" in text(admin_client.get(f"/o/{org.slug}/settings/integrations/"))

    owner = org.memberships.get(role=Role.OWNER).user
    _invitation, token = Invitation.issue(org, "ada@acme.example", Role.ADMIN, owner)
    ada_client = Client()
    ada_client.force_login(ada.user)
    assert ada_client.post(f"/invitations/{token}/").status_code == 302
    assert Membership.objects.filter(organization=org, user=ada.user).exists()

    account.refresh_from_db()
    assert account.connected_by_left_at is None
    words = text(admin_client.get(f"/o/{org.slug}/settings/integrations/"))
    assert "Acts as a former member" not in words and "who left Acme Ops" not in words
    dashboard = text(admin_client.get(f"/o/{org.slug}/"))
    assert "who left Acme Ops" not in dashboard
    entry = Entry.objects.filter(object_type="pagerduty_account", action="changed").latest("pk")
    assert str(describe(entry)) == (
        f"ada@acme.example changed PagerDuty account “{account.name}”: reason: the person "
        "who connected it, ada@acme.example, joined the organization again: acting from "
        "Tripwire acts as a member again"
    )
