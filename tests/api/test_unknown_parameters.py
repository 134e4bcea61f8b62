"""A list operation's query parameter it doesn't take is 400 in words, naming it and the
ones it takes: ignored, `?state=open` on /firings listed every firing as if it had
filtered them."""

from __future__ import annotations

import pytest

from alerts_saas.alerts.models import Alert, Firing
from tests.api_client import Api

pytestmark = pytest.mark.django_db


def test_an_unknown_filter_on_the_firings_is_refused_naming_what_it_takes(api, org):
    alert = Alert.objects.create(organization=org, name="Disk", threshold=1)
    Firing.objects.create(organization=org, alert=alert, count_at_open=1)
    refused = api.get("/firings", query={"state": "open"}, status=400).json()
    assert refused["message"] == (
        "The request was not understood, and nothing was done. /api/v1/firings takes the "
        "query parameters alert_id, open, group, held, page, per_page, before. state: is not a "
        "query parameter it takes (check its spelling)"
    )
    assert refused["errors"] == [
        {"field": "state", "message": "is not a query parameter it takes (check its spelling)"}
    ]
    # The real filter, and the paging, are still taken.
    listed = api.get("/firings", query={"open": "true", "per_page": "10"}, status=200).json()
    assert listed["count"] == 1


def test_every_list_operation_refuses_an_unknown_parameter(api):
    for path in ("/alerts", "/deliveries", "/services", "/mute-windows", "/activity"):
        refused = api.get(path, query={"pagesize": "10", "page": "1"}, status=400).json()
        assert [e["field"] for e in refused["errors"]] == ["pagesize"]
        assert f"/api/v1{path} takes the query parameters " in refused["message"]
        assert "pagesize: is not a query parameter it takes" in refused["message"]
    refused = api.get("/ingest-keys", query={"limit": "5", "offset": "5"}, status=400).json()
    assert [e["field"] for e in refused["errors"]] == ["limit", "offset"]
    assert "/api/v1/ingest-keys takes the query parameters page, per_page." in refused["message"]


def test_a_token_is_checked_before_the_parameters():
    assert Api("").get("/firings", query={"state": "open"}, status=401)
