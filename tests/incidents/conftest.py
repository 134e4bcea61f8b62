"""Incident sync: an organization with a service, our trigger on it, and our subscription;
webhook bodies signed as PagerDuty signs them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from integrations.pagerduty.incidents.models import WebhookSubscription
from integrations.pagerduty.incidents.signatures import sign
from integrations.pagerduty.models import Delivery, PagerDutyService
from tests.tenant_objects import _delivery, _pd_service

SECRET = "whsec-" + "s" * 40


def make_tenant(org: Organization) -> tuple[PagerDutyService, WebhookSubscription, Delivery]:
    owner = org.memberships.get().user
    service = _pd_service(org, owner)
    assert isinstance(service, PagerDutyService)
    trigger = _delivery(org, owner)
    assert isinstance(trigger, Delivery)
    trigger.dedup_key = f"tripwire-{org.pk}-key"
    trigger.save(update_fields=["dedup_key"])
    subscription = WebhookSubscription.objects.create(
        organization=org,
        account=service.account,
        service=service,
        pd_subscription_id=f"PSUB{org.pk}",
        token=f"token-{org.pk}-{uuid.uuid4().hex}",
        secret=SECRET,
        url="http://testserver/",
    )
    return service, subscription, trigger


def incident_event(
    kind: str,
    *,
    incident_id: str,
    key: str,
    service: PagerDutyService,
    status: str,
    at: datetime,
    agent: str | None = "Alice Oncall",
    assignees: tuple[str, ...] = ("Alice Oncall",),
) -> dict[str, Any]:
    """A webhooks v3 event as PagerDuty's docs show it."""
    user = (
        {"id": "PUSER1", "type": "user_reference", "summary": agent, "html_url": "https://x/u"}
        if agent
        else None
    )
    return {
        "event": {
            "id": str(uuid.uuid4()),
            "event_type": kind,
            "resource_type": "incident",
            "occurred_at": at.isoformat().replace("+00:00", "Z"),
            "agent": user,
            "client": None,
            "data": {
                "id": incident_id,
                "type": "incident",
                "html_url": f"https://acme.pagerduty.com/incidents/{incident_id}",
                "number": 7,
                "status": status,
                "incident_key": key,
                "created_at": (at - timedelta(minutes=5)).isoformat(),
                "title": "Checkout errors",
                "service": {"id": service.pd_service_id, "type": "service_reference"},
                "assignees": [
                    {"id": f"P{i}", "type": "user_reference", "summary": name}
                    for i, name in enumerate(assignees)
                ],
                "urgency": "high",
            },
        }
    }


@pytest.fixture
def post_webhook(client: Client) -> Callable[..., Any]:
    """POST an event to a subscription's receiver, signed with `secrets` (default: its own)."""

    def post(
        subscription: WebhookSubscription,
        event: dict[str, Any],
        *,
        secrets: tuple[str, ...] | None = None,
        webhook_id: str | None = None,
        signature: str | None = None,
    ) -> Any:
        body = json.dumps(event).encode()
        header = signature
        if header is None:
            header = ",".join(sign(s, body) for s in (secrets or (subscription.secret,)))
        headers = {"HTTP_X_PAGERDUTY_SIGNATURE": header} if header else {}
        return client.post(
            f"/integrations/pagerduty/webhooks/{subscription.token}",
            body,
            content_type="application/json",
            HTTP_X_WEBHOOK_ID=webhook_id or str(uuid.uuid4()),
            **headers,
        )

    return post


@pytest.fixture
def now() -> datetime:
    return timezone.now().replace(microsecond=0)
