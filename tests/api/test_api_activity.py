"""/activity: the audit log through the API, as Settings → Activity shows it; another
organization's entries never appear."""

from __future__ import annotations

import pytest

from alerts_saas.ingest.models import Scope
from tests.api.conftest import alert_body

pytestmark = pytest.mark.django_db


def test_changes_made_through_the_api_read_back_as_the_tokens(api, make_api, service) -> None:
    created = api.post("/alerts", alert_body(service))
    assert created.status_code == 201, created.content
    alert_id = created.json()["id"]
    etag = created.json()["etag"]
    changed = api.patch(f"/alerts/{alert_id}", {"condition": {"threshold": 10}}, HTTP_IF_MATCH=etag)
    assert changed.status_code == 200, changed.content

    reader = make_api(Scope.READ)
    page = reader.get("/activity", query={"kind": "alert"}).json()
    assert page["count"] == 2
    newest, oldest = page["items"]
    assert (newest["action"], oldest["action"]) == ("changed", "created")
    assert newest["actor"] == {"kind": "token", "label": "API token “tool write”"}
    assert newest["object"]["name"] == "Checkout errors"
    assert "threshold 5 → 10" in newest["words"]
    assert (
        reader.get("/activity", query={"action": "created", "kind": "alert"}).json()["count"] == 1
    )


def test_another_organizations_entries_never_show(api, make_api, service, make_org) -> None:
    assert api.post("/alerts", alert_body(service)).status_code == 201
    other = make_api(Scope.READ, organization=make_org("Globex"))
    assert other.get("/activity", query={"kind": "alert"}).json()["count"] == 0
    theirs = other.get("/activity").json()["items"]
    assert theirs and all(e["object"]["name"] != "Checkout errors" for e in theirs)
