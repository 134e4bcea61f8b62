"""Makers for the dashboard's tests: firing alerts, services and their broken paths,
deliveries, and events posted through the real ingest API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import count
from typing import Any

import orjson
import pytest
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, Firing
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyAccount, PagerDutyService

_seq = count()


def service(org: Organization, name: str, **fields: Any) -> PagerDutyService:
    return PagerDutyService.objects.create(
        organization=org, name=name, region="us", integration_key="0" * 32, **fields
    )


def account(org: Organization, name: str = "Acme PagerDuty", **fields: Any) -> PagerDutyAccount:
    return PagerDutyAccount.objects.create(
        organization=org,
        pd_account_id=f"PACC{next(_seq)}",
        subdomain="acme",
        name=name,
        region="us",
        access_token="at",
        refresh_token="rt",
        expires_at=timezone.now() + timedelta(days=30),
        scope="write",
        **fields,
    )


def alert(org: Organization, name: str, *targets: PagerDutyService, **fields: Any) -> Alert:
    """An alert that has counted for an hour (so it is plainly OK until it fires)."""
    fields.setdefault("counting_since", timezone.now() - timedelta(hours=1))
    made = Alert.objects.create(organization=org, name=name, **fields)
    made.targets.add(*targets)
    return made


def fire(made: Alert, minutes_ago: float = 10) -> Firing:
    return Firing.objects.create(
        organization=made.organization,
        alert=made,
        opened_at=timezone.now() - timedelta(minutes=minutes_ago),
        count_at_open=made.threshold,
    )


def delivery(
    org: Organization,
    target: PagerDutyService,
    *,
    made: Alert | None = None,
    firing: Firing | None = None,
    status: str = Delivery.Status.DELIVERED,
    at: datetime | None = None,
    action: str = EventAction.TRIGGER,
    **fields: Any,
) -> Delivery:
    return Delivery.objects.create(
        organization=org,
        service=target,
        service_name=target.name,
        alert=made,
        firing=firing,
        region="us",
        routing_key=target.integration_key,
        event_action=action,
        dedup_key=f"k-{next(_seq)}",
        body={"event_action": action},
        status=status,
        created_at=at or timezone.now(),
        **fields,
    )


def refused(
    org: Organization,
    target: PagerDutyService,
    made: Alert,
    at: datetime,
    firing: Firing | None = None,
) -> Delivery:
    """A trigger PagerDuty refused for its key (of `firing`, if given), as the engine
    leaves it."""
    return delivery(
        org,
        target,
        made=made,
        firing=firing,
        status=Delivery.Status.FAILED,
        at=at,
        attempts=1,
        response_status=400,
        last_error="Event object is invalid; Invalid routing key",
    )


Poster = Callable[..., Any]


@pytest.fixture
def post_events() -> Poster:
    """POST a batch through the real ingest API with an ingest key's secret."""

    def post(secret: str, events: list[dict[str, Any]]) -> Any:
        return Client().post(
            "/api/v1/events",
            data=orjson.dumps(events),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )

    return post


@pytest.fixture
def dashboard(admin_client: Client, org: Organization) -> Callable[..., str]:
    """The dashboard's page as its owner gets it."""

    def get(path: str = "") -> str:
        response = admin_client.get(f"/o/{org.slug}/{path}")
        assert response.status_code == 200, response.content[:500]
        return response.content.decode()

    return get
