"""GET /services?pagerduty_service_id=P…: Tripwire's id for a service known by PagerDuty's,
as a tool that defines alerts as code needs it; only the organization's own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService

pytestmark = pytest.mark.django_db


def _connected(org: Organization, account_id: str, name: str, pd_id: str) -> PagerDutyService:
    account, _ = PagerDutyAccount.objects.get_or_create(
        organization=org,
        pd_account_id=account_id,
        defaults=dict(
            subdomain=account_id.lower(),
            name=f"{account_id} PD",
            region="us",
            access_token="at",
            refresh_token="rt",
            expires_at=timezone.now() + timedelta(days=1),
            scope="write",
        ),
    )
    return PagerDutyService.objects.create(
        organization=org,
        account=account,
        name=name,
        region="us",
        pd_service_id=pd_id,
        integration_key=(pd_id.lower() * 32)[:32],
    )


def test_a_pagerduty_id_finds_the_organizations_services_only(api, org, service, make_org):
    checkout = _connected(org, "PACC1", "Checkout API", "PSVC001")
    _connected(org, "PACC1", "Payments API", "PSVC002")
    twin = _connected(org, "PACC2", "Checkout API (EU account)", "PSVC001")
    _connected(make_org("Elsewhere"), "PACC3", "Their checkout", "PSVC001")

    found = api.get("/services", query={"pagerduty_service_id": "PSVC001"}, status=200).json()

    assert [(s["id"], s["pagerduty_service_id"]) for s in found["items"]] == [
        (checkout.pk, "PSVC001"),
        (twin.pk, "PSVC001"),
    ]
    assert found["count"] == 2
    none = api.get("/services", query={"pagerduty_service_id": "PNOPE99"}, status=200).json()
    assert none["items"] == [] and none["count"] == 0
    # Without the filter, every service of the organization, the pasted one too.
    assert api.get("/services", status=200).json()["count"] == 4


def test_an_impossible_pagerduty_id_is_refused_in_words(api, service):
    answer = api.get("/services", query={"pagerduty_service_id": "P" * 33}, status=400).json()
    assert answer["errors"] == [
        {
            "field": "pagerduty_service_id",
            "message": "String should have at most 32 characters",
        }
    ]
    nul = api.get("/services", query={"pagerduty_service_id": "P\x00"}, status=400).json()
    assert "NUL" in nul["errors"][0]["message"]
