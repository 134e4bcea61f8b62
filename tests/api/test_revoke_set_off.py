"""Revoking an ingest key through the API answers, as the key's revoke page says before the
click, with the absence alerts the revoke may set off: those only this key fed (they fire
within their window), and those another key used in their window may have fed ("if").
The answer fits the served OpenAPI document (`tests.api_client.Api`)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from alerts_saas.alerts.models import Alert
from alerts_saas.ingest.models import IngestKey
from tests.ingest_key_uses import absence, counted, used

pytestmark = pytest.mark.django_db


def test_a_revoke_names_the_absence_alerts_it_may_set_off(api, org, make_org) -> None:
    web, _ = IngestKey.issue(org, "web servers")
    batch, _ = IngestKey.issue(org, "batch jobs")
    used(web, 2)
    used(batch, 30)  # within the hour's window, not the ten minutes'
    heartbeat = absence(org, "Backup heartbeat", 10)
    export = absence(org, "Nightly export", 60)
    counted(heartbeat)
    counted(export)
    absence(org, "Switched off", 10, enabled=False)
    Alert.objects.create(organization=org, name="Checkout errors", threshold=5)
    elsewhere = make_org("Globex")
    absence(elsewhere, "Their heartbeat", 10)

    revoked = api.post(f"/ingest-keys/{web.pk}/revoke", status=200).json()
    assert revoked["is_revoked"] is True
    assert revoked["absence_alerts_set_off"] == {
        "will_fire": [{"id": heartbeat.pk, "name": "Backup heartbeat", "window_minutes": 10}],
        "may_fire": [{"id": export.pk, "name": "Nightly export", "window_minutes": 60}],
        "already_firing": [],
        "counting_nothing": [],
    }
    # A second revoke revokes nothing, and sets nothing off.
    again = api.post(f"/ingest-keys/{web.pk}/revoke", status=200).json()
    assert again["revoked_at"] == revoked["revoked_at"]
    assert again["absence_alerts_set_off"] is None
    # A key unused within every window sets off none: both lists empty.
    idle, _ = IngestKey.issue(org, "old laptop")
    used(idle, 120)
    quiet = api.post(f"/ingest-keys/{idle.pk}/revoke", status=200).json()
    assert quiet["absence_alerts_set_off"] == {
        "will_fire": [],
        "may_fire": [],
        "already_firing": [],
        "counting_nothing": [],
    }


def test_the_document_says_how_much_tripwire_knows() -> None:
    schemas = Client().get("/api/v1/openapi.json").json()["components"]["schemas"]
    set_off = schemas["SetOffOut"]
    assert "Tripwire doesn't record which key sent an event" in set_off["description"]
    assert "if theirs came with this key" in set_off["properties"]["may_fire"]["description"]
    assert "absence_alerts_set_off" in schemas["RevokedIngestKeyOut"]["properties"]


def test_a_key_used_only_for_changes_does_not_make_a_revoke_a_may(api, org) -> None:
    """A key that sent changes (or only refused events) was used, but fed no alert."""
    web, _ = IngestKey.issue(org, "web servers")
    deploys, _ = IngestKey.issue(org, "deploys")
    used(web, 2)
    IngestKey.objects.filter(pk=deploys.pk).update(last_used_at=timezone.now())
    heartbeat = absence(org, "Backup heartbeat", 10)
    counted(heartbeat)

    revoked = api.post(f"/ingest-keys/{web.pk}/revoke", status=200).json()
    assert revoked["absence_alerts_set_off"] == {
        "will_fire": [{"id": heartbeat.pk, "name": "Backup heartbeat", "window_minutes": 10}],
        "may_fire": [],
        "already_firing": [],
        "counting_nothing": [],
    }
