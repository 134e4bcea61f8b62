"""Words a person reads at 3 a.m.: no "0 minutes from now", no "0 minutes ago", no
sentence ending in "..", whatever PagerDuty's error brings."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts_saas.ingest.models import IngestKey
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def test_a_retrying_delivery_says_when_in_words_with_one_full_stop(admin_client, org):
    service = PagerDutyService.objects.create(
        organization=org, name="Checkout API 001", region="us", integration_key="0" * 32
    )
    delivery = Delivery.objects.create(
        organization=org,
        service=service,
        service_name=service.name,
        region="us",
        event_action=EventAction.TRIGGER,
        dedup_key="k",
        body={},
        attempts=1,
        last_error="PagerDuty answered 500: try again later.",
        trim_note="custom details cut to 512 KB.",
        next_attempt_at=timezone.now() + timedelta(seconds=20),
    )
    url = f"/o/{org.slug}/pagerduty/deliveries/{delivery.pk}/"
    page = _text(admin_client.get(url, HTTP_HX_REQUEST="true").content.decode())
    assert (
        "Attempt 1 failed: PagerDuty answered 500: try again later. Next try in under a minute."
    ) in page
    assert "Trimmed to PagerDuty's limits: custom details cut to 512 KB." in page
    assert ".." not in page and "0 minutes" not in page


def test_a_key_used_seconds_ago_was_used_just_now(admin_client, org):
    key, _ = IngestKey.issue(org, "web servers")
    IngestKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    page = _text(admin_client.get(f"/o/{org.slug}/settings/ingest-keys/").content.decode())
    assert "web servers" in page and "just now" in page
    assert "0 minutes" not in page
    revoke = admin_client.get(f"/o/{org.slug}/settings/ingest-keys/{key.pk}/revoke/")
    assert "It was last used just now." in _text(revoke.content.decode())
