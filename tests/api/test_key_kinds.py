"""An ingest key sent to the management API, or an API token sent to the ingest API, is
told which kind it is and where it belongs (its prefix says, nothing is looked up),
rather than "not valid"."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts_saas.ingest.models import ApiToken, IngestKey, Scope
from tests.api_client import Api

pytestmark = pytest.mark.django_db

INGEST_KEY_WORDS = (
    "This is an ingest key (twk_…): it sends events to /api/v1/events and changes to "
    "/api/v1/changes. The management API takes an API token (twa_…), made under Settings → "
    "API tokens."
)
API_TOKEN_WORDS = (
    "This is an API token (twa_…): it is for the management API (/api/v1/alerts, "
    "/api/v1/firings and the rest). Events and changes are sent with an ingest key (twk_…), "
    "made under Settings → Ingest keys."
)


def test_an_ingest_key_on_the_management_api_is_told_it_is_an_ingest_key(
    org, django_assert_num_queries
):
    _key, secret = IngestKey.issue(org, "web servers")
    for path in ("/alerts", "/firings", "/services"):
        with django_assert_num_queries(0):
            refused = Api(secret).get(path, status=401)
        assert refused.json()["message"] == INGEST_KEY_WORDS
        assert refused["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    # One that never existed is told the same: the prefix says what it is.
    assert Api("twk_never-issued").get("/alerts", status=401).json()["message"] == (
        INGEST_KEY_WORDS
    )
    # A mistyped API token is still "not valid".
    unknown = Api("twa_not-a-token").get("/alerts", status=401).json()["message"]
    assert unknown.startswith("This API token is not valid.")


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/changes"])
def test_an_api_token_on_the_ingest_api_is_told_it_is_an_api_token(org, path):
    _token, secret = ApiToken.issue(org, "terraform", scope=Scope.WRITE)
    refused = Client().post(
        path, data=b"[]", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert refused.status_code == 401
    assert refused.json()["message"] == API_TOKEN_WORDS
    unknown = Client().post(
        path, data=b"[]", content_type="application/json", HTTP_AUTHORIZATION="Bearer twk_nope"
    )
    assert unknown.status_code == 401
    assert unknown.json()["message"].startswith("This ingest key is not valid.")


def test_each_kind_still_works_where_it_belongs(org, post_events):
    _token, secret = ApiToken.issue(org, "terraform", scope=Scope.READ)
    assert Api(secret).get("/alerts", status=200)
    assert post_events([{"message": "disk full"}]).status_code == 202
