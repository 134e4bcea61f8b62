"""Fixtures for the PagerDuty integration: admins, a connected account, the OAuth dance.

Loaded for every test by `pytest_plugins` in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from alerts_saas.accounts.models import Organization, Role
from devtools.sandbox.testing import SandboxProcess
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService

US_USER = "oncall@acme.example"
EU_USER = "oncall@acme-eu.example"


@pytest.fixture
def org(make_org, make_user) -> Organization:
    return make_org("Acme Ops", owner=make_user("owner@acme.example"))


@pytest.fixture
def admin_client(org: Organization, client: Client) -> Client:
    client.force_login(org.memberships.get(role=Role.OWNER).user)
    return client


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def authorize(pagerduty: SandboxProcess, org: Organization, settings: Any) -> Callable[..., str]:
    """Press "Connect PagerDuty" and answer PagerDuty's consent page; return the callback URL
    (path and query) PagerDuty redirects the browser to. The site is at the test client's
    host: the callback is on SITE_URL."""
    settings.SITE_URL = "http://testserver"

    def run(client: Client, email: str = US_USER, approve: bool = True, **post: str) -> str:
        response = client.post(f"/o/{org.slug}/settings/integrations/pagerduty/connect/", post)
        assert response.status_code == 302, response.content
        location = pagerduty.authorize(query(response["Location"]), email=email, approve=approve)
        parts = urlsplit(location)
        return f"{parts.path}?{parts.query}"

    return run


@pytest.fixture
def connect(authorize, org: Organization) -> Callable[..., PagerDutyAccount]:
    """The whole OAuth flow through the callback; returns the saved account."""

    def run(client: Client, email: str = US_USER) -> PagerDutyAccount:
        response = client.get(authorize(client, email=email))
        assert response.status_code == 302, response.content.decode()[:2000]
        return PagerDutyAccount.objects.get(organization=org)

    return run


@pytest.fixture
def connected_service(
    connect, admin_client: Client, org: Organization, pagerduty: SandboxProcess
) -> PagerDutyService:
    """One service of the US account connected through the product."""
    account = connect(admin_client)
    service_id = next(
        s["id"] for s in pagerduty.account("us")["services"] if s["name"] == "Checkout API 001"
    )
    admin_client.post(
        f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{account.pk}/services/",
        {"service": [service_id]},
    )
    return PagerDutyService.objects.get(account=account, pd_service_id=service_id)


def connect_service(
    account: PagerDutyAccount, pd_service: dict[str, Any], pagerduty: SandboxProcess
) -> PagerDutyService:
    """One of the account's PagerDuty services connected, with an integration of its own."""
    integration = pagerduty.add_integration(pd_service["id"])
    return PagerDutyService.objects.create(
        organization=account.organization,
        account=account,
        region=account.region,
        pd_service_id=pd_service["id"],
        name=pd_service["name"],
        integration_id=integration["id"],
        integration_key=integration["integration_key"],
    )


def unmarked(service: PagerDutyService) -> bool:
    """Nothing recorded against the service: not refused, deleted or stripped."""
    service.refresh_from_db()
    return service.refused_at is None and service.refused_detail == ""


@pytest.fixture
def make_service(pagerduty: SandboxProcess, org: Organization) -> Callable[..., PagerDutyService]:
    """A service with a fresh integration key on a sandbox service."""

    def make(
        name: str = "Checkout API 001", region: str = "us", key: str | None = None
    ) -> PagerDutyService:
        if key is None:
            pd_service = next(
                s
                for s in pagerduty.account(region)["services"]
                if s["name"] == name or region == "eu"
            )
            integration = pagerduty.add_integration(pd_service["id"])
            key, integration_id = integration["integration_key"], integration["id"]
        else:
            integration_id = ""
        return PagerDutyService.objects.create(
            organization=org,
            name=name,
            region=region,
            integration_key=key,
            integration_id=integration_id,
        )

    return make
