from __future__ import annotations

from collections.abc import Callable

import pytest

from alerts_saas.accounts.models import Organization
from integrations.pagerduty.models import PagerDutyService
from integrations.pagerduty.sandbox.testing import SandboxProcess


@pytest.fixture
def worker_settings() -> dict[str, str]:
    """Retries start at 1 s so that a few of them fit in a test."""
    return {"DELIVERY_RETRY_BASE": "1"}


@pytest.fixture
def make_service(pagerduty: SandboxProcess, org: Organization
                 ) -> Callable[..., PagerDutyService]:
    """A service with a fresh integration key on a sandbox service."""

    def make(name: str = "Checkout API 001", region: str = "us",
             key: str | None = None) -> PagerDutyService:
        if key is None:
            pd_service = next(s for s in pagerduty.account(region)["services"]
                              if s["name"] == name or region == "eu")
            key = pagerduty.add_integration(pd_service["id"])["integration_key"]
        return PagerDutyService.objects.create(organization=org, name=name, region=region,
                                               integration_key=key)

    return make
