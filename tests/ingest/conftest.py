from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from django.test import Client
from django.test.client import Client as DjangoClient

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.counting import CounterSet, counts
from alerts_saas.alerts.models import Alert, Level
from alerts_saas.ingest.models import IngestKey


@pytest.fixture
def ingest_secret(org: Organization) -> str:
    return IngestKey.issue(org, "web servers")[1]


Poster = Callable[..., Any]


@pytest.fixture
def post_events(ingest_secret: str) -> Poster:
    """POST a batch to the ingest API: a list or dict (as JSON) or raw bytes."""

    def post(
        body: Any, secret: str | None = None, client: Client | None = None, **headers: str
    ) -> Any:
        data = body if isinstance(body, bytes | str) else orjson.dumps(body)
        return (client or DjangoClient()).post(
            "/api/v1/events",
            data=data,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret or ingest_secret}",
            **headers,
        )

    return post


@pytest.fixture
def errors_alert(org: Organization) -> Alert:
    """Counts checkout's errors; never fires (its threshold is out of reach)."""
    return Alert.objects.create(
        organization=org,
        name="Checkout errors",
        match_app="checkout",
        match_level=Level.ERROR,
        threshold=100,
        window_minutes=5,
    )


@pytest.fixture
def counted() -> Callable[[Alert], int]:
    """The events an alert's window holds now."""

    def total(alert: Alert) -> int:
        alert.refresh_from_db()
        counter = CounterSet.of(alert)
        return counts().totals([counter], datetime.now(UTC).timestamp())[counter]

    return total
