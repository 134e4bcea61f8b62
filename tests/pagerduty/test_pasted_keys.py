"""A pasted integration key is added once per organization, found by its keyed hash (the key
itself is stored encrypted)."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection

from integrations.pagerduty.models import PagerDutyService, integration_key_digest

pytestmark = pytest.mark.django_db


def _paste(client, org, key: str, name: str = "Pasted"):
    return client.post(
        f"/o/{org.slug}/settings/integrations/pagerduty/keys/",
        {"name": name, "integration_key": key, "region": "us"},
    )


def test_the_same_key_pasted_twice_is_refused_in_words(admin_client, org) -> None:
    key = "0123456789abcdef0123456789abcdef"
    assert _paste(admin_client, org, key, "Checkout").status_code == 302
    response = _paste(admin_client, org, f" {key} ", "Checkout again")
    assert response.status_code == 400
    assert (
        "This key is already in use by “Checkout” (added by its integration key). Events sent "
        "with it reach the same PagerDuty service, so choose “Checkout” in your alerts instead "
        "of adding it again."
    ) in response.content.decode()
    assert list(PagerDutyService.objects.values_list("name", flat=True)) == ["Checkout"]


def test_a_key_connected_through_oauth_cannot_be_pasted_again(
    admin_client, org, connected_service
) -> None:
    response = _paste(admin_client, org, connected_service.integration_key)
    assert response.status_code == 400
    page = response.content.decode()
    assert "This key is already in use by “Checkout API 001” (connected through PagerDuty" in page
    assert PagerDutyService.objects.count() == 1


def test_another_organization_may_paste_the_same_key(
    admin_client, org, make_org, make_user, client
) -> None:
    key = "fedcba9876543210fedcba9876543210"
    assert _paste(admin_client, org, key).status_code == 302
    other = make_org("Globex", owner=make_user("owner@globex.example"))
    client.force_login(other.memberships.get().user)
    assert _paste(client, other, key).status_code == 302  # and nothing said about Acme
    assert PagerDutyService.objects.filter(key_digest=integration_key_digest(key)).count() == 2


def test_the_stored_digest_is_keyed_and_not_the_key(admin_client, org) -> None:
    key = "00112233445566778899aabbccddeeff"
    _paste(admin_client, org, key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT integration_key, key_digest FROM pagerduty_pagerdutyservice")
        stored_key, digest = cursor.fetchone()
    assert key not in stored_key and key not in digest
    assert len(digest) == 64 and digest == integration_key_digest(key)
    assert digest != hashlib.sha256(key.encode()).hexdigest()  # keyed, not a plain hash
