"""A paging path only an owner or admin can mend (a key PagerDuty refuses, an account to
reconnect): a member is told whom to ask, on the alert's page and on the dashboard, not to
press buttons they don't have; an owner or admin gets the fix."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from tests.dashboard.conftest import alert, fire, service
from tests.dashboard.test_dashboard import part

pytestmark = pytest.mark.django_db


def _broken(org: Organization):
    gone = service(org, "Billing EU", refused_at=timezone.now(), refused_detail="Invalid key")
    made = alert(org, "Billing errors", gone)
    fire(made)
    return made


def test_a_member_is_told_whom_to_ask_and_an_admin_how_to_fix_it(
    org: Organization, admin_client: Client, add_member
) -> None:
    made = _broken(org)
    client = Client()  # admin_client is the test's `client`, signed in as the owner
    client.force_login(add_member(org, "member@acme.example").user)
    ask = f"Ask an owner or admin of {org.name} to switch it to the European Union"

    page = client.get(made.get_absolute_url()).content.decode()
    health = part(page, "path-health")
    assert ask in health and "See it in Integrations" in health
    assert "paste the same key again" not in health
    home = client.get(f"/o/{org.slug}/").content.decode()
    assert ask in part(home, "broken-paths") and ask in home.split('id="broken-paths"')[0]

    page = admin_client.get(made.get_absolute_url()).content.decode()
    health = part(page, "path-health")
    assert "Ask an owner or admin" not in health
    assert "paste the same key again" in health and "Fix it in Integrations" in health
    home = admin_client.get(f"/o/{org.slug}/").content.decode()
    assert "Ask an owner or admin" not in part(home, "broken-paths")
