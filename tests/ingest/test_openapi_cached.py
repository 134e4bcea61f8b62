"""/api/v1/openapi.json is built once per process, not on every request (it cost about a
second of server time each), and is served with an ETag so that the browser revalidates: the
same document comes back as "304 Not Modified". What it serves is what a fresh build says,
its examples stamped near the time it is served (their being accepted when sent is
tests/ingest/test_openapi_contract.py's)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.test import Client
from ninja import NinjaAPI

from alerts_saas.ingest.api import api

URL = "/api/v1/openapi.json"


def _stamp(document: dict) -> datetime:
    [stamp] = document["components"]["schemas"]["EventIn"]["properties"]["timestamp"]["examples"]
    return datetime.fromisoformat(stamp)


def test_the_served_document_is_a_fresh_build() -> None:
    served = Client().get(URL).json()
    stamped = _stamp(served)
    assert abs((datetime.now(UTC) - stamped).total_seconds()) < 31
    fresh = json.loads(json.dumps(api.get_openapi_schema(now=stamped)))
    assert served == fresh


def test_it_is_built_once_and_revalidated_by_its_etag(monkeypatch: pytest.MonkeyPatch) -> None:
    builds = []
    build = NinjaAPI.get_openapi_schema  # the costly part: walking every operation's models

    def counted(self: NinjaAPI, *args: object, **kwargs: object) -> object:
        builds.append(1)
        return build(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(NinjaAPI, "get_openapi_schema", counted)
    client = Client()
    first = client.get(URL)
    assert first.status_code == 200 and first["Content-Type"] == "application/json"
    assert first["ETag"].startswith('"') and first["Cache-Control"] == "no-cache"
    again = client.get(URL, headers={"If-None-Match": first["ETag"]})
    if again.status_code == 200:  # a new stamp came between the two: once more
        first, again = again, client.get(URL, headers={"If-None-Match": again["ETag"]})
    assert again.status_code == 304 and again["ETag"] == first["ETag"]
    assert again.content == b""
    assert client.get(URL).content == first.content
    assert len(builds) <= 1  # at most once in this process (none when built before)
