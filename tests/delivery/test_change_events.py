"""A change posted to POST /api/v1/changes reaches PagerDuty's /v2/change/enqueue through a
real worker, and shows in the service's delivery history."""

from __future__ import annotations

import orjson
import pytest
from django.test import Client

from alerts_saas.alerts.models import Alert
from alerts_saas.ingest.models import IngestKey
from integrations.pagerduty.models import Delivery
from tests.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_change_is_delivered_to_pagerduty_and_kept_in_history(
    celery_worker, admin_client, org, make_service, pagerduty
):
    service = make_service()
    alert = Alert.objects.create(organization=org, name="Checkout errors", match_app="checkout")
    alert.targets.add(service)
    secret = IngestKey.issue(org, "ci")[1]
    change = {
        "payload": {
            "summary": "Deployed checkout v2.14.0",
            "source": "ci",
            "custom_details": {"version": "2.14.0"},
        },
        "links": [{"href": "https://ci.example.com/builds/220", "text": "Build 220"}],
    }
    response = Client().post(
        "/api/v1/changes",
        data=orjson.dumps(change),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 202, response.content
    assert response.json()["services"] == [service.name]

    def delivered() -> Delivery | None:
        row = Delivery.objects.filter(event_action="change").first()
        return row if row is not None and row.is_final else None

    delivery = wait_for(delivered, timeout=30, interval=0.2, message="the change delivered")
    assert delivery.status == Delivery.Status.DELIVERED and delivery.response_status == 202
    [received] = pagerduty.events(routing_key=service.integration_key, kind="change")
    assert received["status_code"] == 202
    assert received["path"].endswith("/v2/change/enqueue")
    assert received["body"]["payload"]["summary"] == "Deployed checkout v2.14.0"
    assert received["body"]["links"] == change["links"]
    assert "event_action" not in received["body"]
    assert not pagerduty.alerts(routing_key=service.integration_key)  # it paged nobody

    page = admin_client.get(
        f"/o/{org.slug}/settings/integrations/pagerduty/services/{service.pk}/deliveries/"
    ).content.decode()
    assert "Change" in page and service.name in page
    detail = admin_client.get(
        f"/o/{org.slug}/pagerduty/deliveries/{delivery.pk}/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "change to Checkout API 001" in detail and "PagerDuty accepted it" in detail
    assert "Dedup key" not in detail  # change events have none
