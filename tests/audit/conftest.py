"""Shared steps of the audit log's tests: an owner's browser-like client, the one entry a
change made, and the check that no secret reached an entry."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from alerts_saas.accounts.models import Organization, Role
from alerts_saas.audit.models import Entry
from alerts_saas.audit.words import describe
from integrations.pagerduty.models import PagerDutyService

AGENT = "Mozilla/5.0 (X11; Linux x86_64) AuditTest/1.0 " + "x" * 300
PASTED_KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def owner_client(org: Organization) -> Client:
    client = Client(headers={"user-agent": AGENT}, REMOTE_ADDR="203.0.113.7")
    client.force_login(org.memberships.get(role=Role.OWNER).user)
    Entry.objects.all().delete()  # the organization's creation, recorded as the system's
    return client


def only(org: Organization, **lookup: object) -> Entry:
    rows = list(Entry.objects.filter(organization=org, **lookup))
    assert len(rows) == 1, [str(describe(r)) for r in rows]
    return rows[0]


def words(entry: Entry) -> str:
    return str(describe(entry))


def paste(client: Client, org: Organization, name: str = "Checkout", key: str = PASTED_KEY):
    response = client.post(
        f"/o/{org.slug}/settings/integrations/pagerduty/keys/",
        {"name": name, "integration_key": key, "region": "us"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return PagerDutyService.objects.get(organization=org, name=name)


def assert_no_secrets(org: Organization, secrets: list[str]) -> None:
    """No entry of the organization holds any of `secrets`, whole or in part."""
    dumped = json.dumps(
        list(Entry.objects.filter(organization=org).values()), default=str, ensure_ascii=False
    )
    for secret in secrets:
        assert secret and secret not in dumped
        assert secret[-8:] not in dumped
