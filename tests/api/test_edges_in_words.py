"""The APIs' edges, answered as HTTP says and in words: HEAD on every GET path (its headers,
no body, nothing new in the document), a path with a slash at the end (a JSON 404 naming
the path meant), and a query parameter given twice (400 naming it, checked against the
served document)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from alerts_saas.alerts.models import Alert, Firing
from tests.api.conftest import alert_body
from tests.api_client import Api, check_against_document, served_spec
from tests.history_rows import delivery

pytestmark = pytest.mark.django_db

# Headers a GET and its HEAD must share (the others are the same on every answer).
SHARED = ("Content-Type", "Content-Length", "ETag", "Allow", "WWW-Authenticate", "Retry-After")


def _get_paths() -> list[str]:
    document = Client().get("/api/v1/openapi.json").json()
    assert not any("head" in item for item in document["paths"].values())
    return [path for path, item in document["paths"].items() if "get" in item]


def _head_and_get(api: Api, url: str) -> tuple[object, object]:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api.secret}"} if api.secret else {}
    return api.client.head(url, **auth), api.client.get(url, **auth)


def test_every_get_path_answers_head_with_its_headers_and_no_body(api, org, service):
    alert = api.post("/alerts", alert_body(service), status=201).json()
    firing = Firing.objects.create(
        organization=org, alert=Alert.objects.get(pk=alert["id"]), count_at_open=1
    )
    ids = {
        "alert_id": alert["id"],
        "pagerduty_service_id": service.pk,
        "firing_id": firing.pk,
        "delivery_id": delivery(service).pk,
    }
    paths = _get_paths()
    assert {"/api/v1/alerts", "/api/v1/activity", "/api/v1/alerts/{alert_id}"} <= set(paths)
    for path in paths:
        url = re.sub(r"{(\w+)}", lambda m: str(ids.get(m[1], 999_999)), path)
        head, get = _head_and_get(api, url)
        assert (head.status_code, head.content) == (get.status_code, b""), url
        assert get.content, url
        assert {h: head.get(h) for h in SHARED} == {h: get.get(h) for h in SHARED}, url
        assert head["Content-Length"] == str(len(get.content))
    # The alert's version comes with HEAD too; a query is read as GET reads it.
    head, _get = _head_and_get(api, f"/api/v1/alerts/{alert['id']}")
    assert head["ETag"] and head.status_code == 200
    head, get = _head_and_get(api, "/api/v1/alerts?per_page=500")
    assert head.status_code == get.status_code == 400


def test_head_asks_for_a_token_as_get_does_and_is_refused_where_get_is():
    head, get = _head_and_get(Api(""), "/api/v1/firings")
    assert head.status_code == get.status_code == 401
    assert head["WWW-Authenticate"] == get["WWW-Authenticate"]
    refused = Client().head("/api/v1/alerts/1/enable")
    assert (refused.status_code, refused["Allow"]) == (405, "POST")
    also = Client().put("/api/v1/services")
    assert also.json() == {"message": "/api/v1/services takes GET, HEAD, not PUT."}
    assert also["Allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("method", "path", "meant"),
    [
        ("get", "/api/v1/alerts/", "/api/v1/alerts"),
        ("get", "/api/v1/alerts/12/", "/api/v1/alerts/12"),
        ("get", "/api/v1/activity//?page=2", "/api/v1/activity"),
        ("post", "/api/v1/events/", "/api/v1/events"),
        ("post", "/api/v1/changes/", "/api/v1/changes"),
    ],
)
def test_a_slash_at_the_end_names_the_path_meant(method, path, meant):
    answer = getattr(Client(), method)(path)
    assert answer.status_code == 404 and answer["Content-Type"] == "application/json"
    asked = path.partition("?")[0]
    assert answer.json() == {
        "message": f"No such path: {asked}. Did you mean {meant}? Paths here have no slash "
        "at the end."
    }


def test_a_path_of_nothing_with_a_slash_is_still_nothing():
    answer = Client().get("/api/v1/nothing/")
    assert answer.status_code == 404
    assert answer.json()["message"].startswith("There is nothing at /api/v1/nothing/.")


def _twice(api: Api, path: str, query: str, fields: list[str]) -> dict[str, object]:
    answer = api.client.get(f"/api/v1{path}?{query}", HTTP_AUTHORIZATION=f"Bearer {api.secret}")
    assert answer.status_code == 400, answer.content
    check_against_document("GET", f"/api/v1{path}", {}, answer)
    body = answer.json()
    assert [e["field"] for e in body["errors"]] == fields
    return body


def test_a_query_parameter_given_twice_is_refused_naming_it(api, service):
    served_spec()
    api.post("/alerts", alert_body(service), status=201)
    body = _twice(api, "/alerts", "per_page=5&per_page=50", ["per_page"])
    assert body == {
        "message": "The request was not understood, and nothing was done. Send each query "
        "parameter once, with the one value you mean. per_page: is given 2 times; send it once",
        "errors": [{"field": "per_page", "message": "is given 2 times; send it once"}],
    }
    # Before its value is judged: 500 is over the bound, but the repeat is what is wrong.
    _twice(api, "/firings", "per_page=5&per_page=500", ["per_page"])
    _twice(api, "/activity", "kind=alert&page=1&kind=service", ["kind"])
    _twice(api, "/deliveries", "status=failed&status=failed&status=queued", ["status"])
    # A parameter no route takes is named as that, not as repeated; once each is taken.
    unknown = api.client.get(
        "/api/v1/alerts?limit=5&limit=50", HTTP_AUTHORIZATION=f"Bearer {api.secret}"
    ).json()
    assert unknown["errors"][0]["message"].startswith("is not a query parameter it takes")
    assert api.get("/alerts", query={"per_page": 5}, status=200).json()["count"] == 1
