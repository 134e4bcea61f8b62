"""Calls to PagerDuty's REST API share one TLS context: the system's certificates are
loaded once per process, not once per call (each load costs about 20 ms of CPU, more than
the call itself). Real HTTP to the sandbox."""

from __future__ import annotations

import ssl
from typing import Any

import httpcore2
import pytest

from integrations.pagerduty.models import PagerDutyService
from integrations.pagerduty.rest import AccountApi

pytestmark = pytest.mark.django_db


def test_many_calls_load_the_certificates_at_most_once(
    connected_service: PagerDutyService, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[ssl.SSLContext] = []
    real = httpcore2.default_ssl_context

    def counted(**kwargs: Any) -> ssl.SSLContext:
        """The HTTP library's one way to a context with the system's certificates."""
        loads.append(real(**kwargs))
        return loads[-1]

    monkeypatch.setattr(httpcore2, "default_ssl_context", counted)

    api = AccountApi(connected_service.account)
    for _ in range(3):
        assert api.get_service(connected_service.pd_service_id)["id"] == (
            connected_service.pd_service_id
        )
    assert api.me()["email"]
    assert len(loads) <= 1  # none if an earlier call of this process loaded them
