"""An API token refused after it authenticated (a read token that writes: 403; over its
requests per minute: 429) is being used: Settings → API tokens and the revoke page say
when, not "Never used", and a refused flood still writes its use at most once a minute."""

from __future__ import annotations

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts_saas.ingest import limits
from alerts_saas.ingest.models import ApiToken, Scope
from tests.api.conftest import alert_body

pytestmark = pytest.mark.django_db


def pages(admin_client, org, token: ApiToken) -> tuple[str, str]:
    """What Settings → API tokens says in the token's row, and what its revoke page says."""
    listing = html.unescape(
        admin_client.get(f"/o/{org.slug}/settings/api-tokens/").content.decode()
    )
    row = listing.split(f'id="api-token-{token.pk}"', 1)[1].split("</tr>", 1)[0]
    revoke = admin_client.get(f"/o/{org.slug}/settings/api-tokens/{token.pk}/revoke/")
    return row, " ".join(re.sub(r"<[^>]+>", "", html.unescape(revoke.content.decode())).split())


def test_a_read_token_refused_a_write_shows_as_used(admin_client, org, reader, service):
    token = ApiToken.objects.get(organization=org, scope=Scope.READ)
    reader.call("POST", "/alerts", alert_body(service), status=403)
    row, revoke = pages(admin_client, org, token)
    assert "Never used" not in row and "just now" in row
    assert "It has never been used" not in revoke and "It was last used just now" in revoke


def test_a_token_over_its_requests_per_minute_shows_as_used(admin_client, org, api, settings):
    settings.API_REQUESTS_PER_MINUTE = 2
    token = ApiToken.objects.get(organization=org)
    for _ in range(2):  # its minute's allowance, spent
        assert limits.take_request(token.pk).allowed
    api.get("/services", status=429)
    row, revoke = pages(admin_client, org, token)
    assert "Never used" not in row and "just now" in row
    assert "It has never been used" not in revoke and "It was last used just now" in revoke


def test_a_refused_flood_writes_its_use_once(org, reader, service):
    with CaptureQueriesContext(connection) as queries:
        for _ in range(10):
            reader.call("POST", "/alerts", alert_body(service), status=403)
    writes = [q for q in queries if q["sql"].startswith("UPDATE") and "apitoken" in q["sql"]]
    assert len(writes) == 1
