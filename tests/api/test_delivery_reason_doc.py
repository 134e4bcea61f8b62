"""The served document says what a delivery's `reason` means: every code it can hold, each
with its words, as it says a firing's `clear_reason`."""

from __future__ import annotations

import pytest
from django.test import Client

from integrations.pagerduty.models import Reason

pytestmark = pytest.mark.django_db


def test_a_deliverys_reason_is_described_code_by_code() -> None:
    document = Client().get("/api/v1/openapi.json").json()
    described = document["components"]["schemas"]["DeliveryOut"]["properties"]["reason"]
    words = described["description"]
    assert words.startswith("Why it was sent: empty for a firing's own trigger;")
    for code in Reason.values:
        assert f"{code} (" in words, code
    assert "forgotten (value no longer seen)" in words
    assert "fallback (the alert's own service could not be paged)" in words
