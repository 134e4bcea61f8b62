"""Creating or changing an alert through the API with services that can't page answers as
before (201, 200), with `warnings` in words: whom it pages until they are mended, as the
alert form's saved message says. Documented: every answer is checked against the served
document (tests/api_client.py)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from integrations.pagerduty.models import PagerDutyService
from tests.api.conftest import alert_body
from tests.api_client import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def typo(org: Organization) -> PagerDutyService:
    """A pasted key PagerDuty refused."""
    return PagerDutyService.objects.create(
        organization=org,
        name="Typo key",
        region="us",
        integration_key="c" * 32,
        refused_at=timezone.now(),
        refused_detail="Invalid routing key",
    )


def test_create_and_change_with_a_refused_service_answer_warnings_in_words(
    api: Api, typo: PagerDutyService, service: PagerDutyService
) -> None:
    created = api.post("/alerts", alert_body(typo), status=201).json()
    assert created["warnings"] == [
        "It pages nobody until Typo key is fixed: PagerDuty refuses its key."
    ]
    assert created["health"]["code"] == "refused"  # as before
    url = f"/alerts/{created['id']}"
    both = api.patch(url, {"targets": [typo.pk, service.pk]}, status=200).json()
    assert both["warnings"] == [
        "It pages only Checkout until Typo key is fixed: PagerDuty refuses its key."
    ]
    fine = api.put(url, alert_body(service), status=200).json()
    assert fine["warnings"] == []
    assert "warnings" not in api.get(url, status=200).json()  # only what saving says


def test_the_document_says_what_warnings_are(client: Client) -> None:
    document = client.get("/api/v1/openapi.json").json()
    create = document["paths"]["/api/v1/alerts"]["post"]["responses"]["201"]
    ref = create["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    warnings = document["components"]["schemas"][ref]["properties"]["warnings"]
    assert warnings["type"] == "array" and "pages nobody" in warnings["description"]
