"""The management API's fixtures: tokens of each scope, services, an alert's body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from alerts_saas.accounts.models import Organization
from alerts_saas.ingest.models import ApiToken, Scope
from integrations.pagerduty.models import PagerDutyService
from tests.api_client import Api


@pytest.fixture
def make_api(org: Organization) -> Callable[..., Api]:
    def make(scope: str = Scope.WRITE, organization: Organization | None = None) -> Api:
        _token, secret = ApiToken.issue(organization or org, f"tool {scope}", scope=scope)
        return Api(secret)

    return make


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    """A read-and-write token of `org`."""
    return make_api(Scope.WRITE)


@pytest.fixture
def reader(make_api: Callable[..., Api]) -> Api:
    return make_api(Scope.READ)


@pytest.fixture
def service(org: Organization) -> PagerDutyService:
    """A pasted-key service (nothing is sent to it unless an alert fires)."""
    return PagerDutyService.objects.create(
        organization=org, name="Checkout", region="us", integration_key="a" * 32
    )


@pytest.fixture
def other_service(org: Organization) -> PagerDutyService:
    return PagerDutyService.objects.create(
        organization=org, name="Payments", region="us", integration_key="b" * 32
    )


def alert_body(service: PagerDutyService, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Checkout errors",
        "description": "Card payments failing.",
        "severity": "critical",
        "condition": {"kind": "presence", "threshold": 5, "window_minutes": 10},
        "match": {"app": "checkout", "level": "error"},
        "pagerduty": {
            "summary": "{alert}: {count} errors",
            "custom_details": {"runbook": "https://wiki.example/checkout"},
        },
        "targets": [service.pk],
    }
    body.update(changes)
    return body
