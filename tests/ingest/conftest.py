from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from django.test import Client
from django.test.client import Client as DjangoClient

from alerts_saas.accounts.models import Organization
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
