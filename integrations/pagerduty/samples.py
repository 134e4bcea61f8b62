"""The test event behind "Send test event": clearly a test, with a fresh dedup key."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.utils import timezone

from integrations.pagerduty.models import PagerDutyService

SAMPLE_SEVERITY = "info"  # the test event's: what its question's urgency words are about


def test_dedup_key() -> str:
    return f"{settings.PRODUCT_NAME.lower()}-test-{uuid.uuid4().hex}"


def test_event_payload(service: PagerDutyService, sent_by: str) -> dict[str, Any]:
    product = settings.PRODUCT_NAME
    return {
        "summary": f"[TEST] {product} test event for {service.name}",
        "source": f"{product.lower()}.test",
        "severity": SAMPLE_SEVERITY,
        "timestamp": timezone.now().isoformat(),
        "component": product,
        "group": service.organization.name,
        "class": "test event",
        "custom_details": {
            "test": "[TEST] This is a test event. Nothing is wrong; resolve it at will.",
            "sent_by": sent_by,
            "organization": service.organization.name,
        },
    }
