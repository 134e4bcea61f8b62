"""The page shown right after a change on Integrations does not show a paging problem that
change just removed (the banner reads the open problems, which a queued run used to bring
up to date only later): deleting a service PagerDuty refuses, correcting a pasted key's
region. A member is told whom to ask rather than "Fix it in Integrations"."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Role
from alerts_saas.notices.models import PagingProblem
from alerts_saas.notices.reconcile import reconcile
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from tests.dashboard.conftest import account
from tests.pagerduty.test_removal import alert_on, delete_url

pytestmark = pytest.mark.django_db

BANNER = "Paging problem:</strong> PagerDuty refuses Billing EU"


def _refused(org, region: str = "us") -> PagerDutyService:
    """A pasted service PagerDuty refuses, its problem open (as the checks left it)."""
    service = PagerDutyService.objects.create(
        organization=org,
        name="Billing EU",
        region=region,
        integration_key="954d8781aa6e86f3bcedac380b22a54c",
        refused_at=timezone.now(),
        refused_detail="Invalid routing key",
    )
    reconcile(org)
    assert PagingProblem.objects.open().filter(organization=org).count() == 1
    return service


def test_deleting_a_refused_service_shows_no_banner_for_it(admin_client, org):
    service = _refused(org)
    page = admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert BANNER in page

    response = admin_client.post(delete_url(org, service), {"seen": ""}, follow=True)
    page = response.content.decode()
    assert "Billing EU was removed from Tripwire." in page
    assert "Paging problem" not in page
    assert not PagingProblem.objects.open().filter(organization=org).exists()


def test_correcting_the_region_shows_no_banner_for_it(admin_client, org):
    service = _refused(org)
    response = admin_client.post(
        f"/o/{org.slug}/settings/integrations/pagerduty/keys/",
        {"name": "Billing EU", "integration_key": service.integration_key, "region": "eu"},
        follow=True,
    )
    page = response.content.decode()
    assert "Billing EU now sends to PagerDuty in the European Union." in page
    assert "Paging problem" not in page


def test_switch_to_the_other_region_shows_no_banner_for_it(admin_client, org):
    service = _refused(org)
    response = admin_client.post(
        f"/o/{org.slug}/settings/integrations/pagerduty/services/{service.pk}/region/",
        {"region": "eu"},
        follow=True,
    )
    page = response.content.decode()
    assert "Billing EU now sends to PagerDuty in the European Union." in page
    assert "Paging problem" not in page


def test_a_member_is_told_whom_to_ask_in_the_banner(org, add_member):
    _refused(org)
    member = add_member(org, "member@acme.example", Role.MEMBER)
    client = Client()
    client.force_login(member.user)
    page = client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert BANNER in page
    assert "Fix it in Integrations" not in page
    assert "Ask an owner or admin of Acme Ops to fix it: owner@acme.example (owner)." in page


def test_an_alert_left_paging_nobody_is_the_problem_shown_after(admin_client, org):
    """The rows are brought up to date, not only closed: the alert the removal leaves paging
    nobody (as confirmed) is the banner's problem at once."""
    service = _refused(org)
    alert = alert_on(org, "Checkout errors", service)
    reconcile(org)
    response = admin_client.post(
        delete_url(org, service), {"seen": str(alert.pk), "alerts": "nobody"}, follow=True
    )
    page = response.content.decode()
    assert "PagerDuty refuses Billing EU" not in page
    assert "Paging problem:</strong> Checkout errors pages nobody" in page


def test_a_member_is_asked_to_get_an_account_reconnected(org, add_member):
    account(org, name="acme-us", status=PagerDutyAccount.Status.NEEDS_RECONNECT)
    member = add_member(org, "member@acme.example", Role.MEMBER)
    client = Client()
    client.force_login(member.user)
    page = client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert "PagerDuty account acme-us needs reconnecting." in page
    # By name (accounts/_ask.html), here and where PagerDuty is not connected yet.
    assert re.search(r"Ask an owner or admin of Acme Ops to reconnect it: [^<]*\(owner\)\.", page)
    assert "until you reconnect" not in page and "Reconnect acme-us</button>" not in page


def test_a_member_is_told_whom_to_ask_to_connect_pagerduty(org, add_member):
    member = add_member(org, "member@acme.example", Role.MEMBER)
    client = Client()
    client.force_login(member.user)
    page = client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert re.search(
        r"Ask an owner or admin of Acme Ops to connect PagerDuty: [^<]*\(owner\)\.", page
    )
