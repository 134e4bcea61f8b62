"""The served OpenAPI document and the API's answers agree: each answer POST /api/v1/events
gives (success, partial, every error) validates against the document, and the document's own
example is accepted when it is sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import orjson
import pytest
from django.test import Client
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_spec_validator import validate

from alerts_saas.ingest import api, limits
from alerts_saas.ingest.models import IngestKey

pytestmark = pytest.mark.django_db

PATH = "/api/v1/events"
ERROR = {"app": "checkout", "level": "error", "message": "Payment failed", "source": "web-1"}


@pytest.fixture
def document() -> dict:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def spec(document) -> OpenAPI:
    return OpenAPI.from_dict(document)


@pytest.fixture
def send(spec, ingest_secret):
    """POST a body and check the answer against the served document; the answer."""

    def post(body: bytes, secret: str | None = None, status: int | None = None):
        headers = {"Authorization": f"Bearer {secret or ingest_secret}"}
        response = Client(raise_request_exception=False).post(
            PATH,
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=headers["Authorization"],
        )
        if status is not None:
            assert response.status_code == status, response.content[:300]
        request = MockRequest("http://testserver", "post", PATH, headers=headers, data=body)
        spec.validate_response(
            request,
            MockResponse(
                response.content,
                status_code=response.status_code,
                content_type=response["Content-Type"].split(";")[0],
            ),
        )
        return response

    return post


def example(document: dict) -> list[dict]:
    return document["paths"][PATH]["post"]["requestBody"]["content"]["application/json"]["example"]


def test_the_documents_example_is_accepted_when_it_is_sent(document, spec, send, ingest_secret):
    batch = example(document)
    stamp = datetime.fromisoformat(batch[0]["timestamp"])
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60  # made at request time
    body = orjson.dumps(batch)
    spec.validate_request(
        MockRequest(
            "http://testserver",
            "post",
            PATH,
            headers={"Authorization": f"Bearer {ingest_secret}"},
            data=body,
        )
    )
    response = send(body, status=202)
    assert response.json() == {"accepted": len(batch), "rejected": 0, "errors": [], "notes": []}


def test_the_timestamp_fields_example_is_accepted_too(document, send):
    [stamp] = document["components"]["schemas"]["EventIn"]["properties"]["timestamp"]["examples"]
    response = send(orjson.dumps([{**ERROR, "timestamp": stamp}]), status=202)
    assert response.json()["accepted"] == 1


def test_success_and_partial_answers_match_the_document(send):
    send(orjson.dumps([ERROR]), status=202)
    partial = send(
        b'[{"message": "ok"}, {"level": "loud"}, {"x": ' + b"[" * 2000 + b"]" * 2000 + b"}]",
        status=202,
    )
    assert [e["index"] for e in partial.json()["errors"]] == [1, 2]
    send(orjson.dumps([{"message": "x" * 10_000}]), status=202)  # with a note


def test_each_error_matches_the_document(send, settings, org):
    send(b"{not json", status=400)
    send(b"[]", status=400)
    send(orjson.dumps([{"level": 3}]), status=400)  # no event accepted: the result
    send(orjson.dumps([ERROR]), secret="twk_not-a-real-key", status=401)
    key, secret = IngestKey.issue(org, "old")
    key.revoke(by=None)
    send(orjson.dumps([ERROR]), secret=secret, status=403)
    settings.INGEST_MAX_BATCH = 2
    send(orjson.dumps([ERROR] * 3), status=413)
    settings.INGEST_MAX_BODY_BYTES = 1000
    send(orjson.dumps([{**ERROR, "message": "x" * 2000}]), status=413)


def test_the_rate_limit_matches_the_document(send, settings):
    settings.INGEST_EVENTS_PER_MINUTE = 1
    send(orjson.dumps([ERROR, ERROR]), status=429)


def test_an_outage_of_the_rate_store_matches_the_document(send, settings):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    limits.allowance.cache_clear()
    try:
        send(orjson.dumps([ERROR]), status=503)
    finally:
        limits.allowance.cache_clear()


def test_a_fault_of_ours_matches_the_document(send, monkeypatch):
    def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(api, "judge", broken)
    send(orjson.dumps([ERROR]), status=500)


def test_a_batch_over_max_items_is_the_documented_413(document, spec, send, ingest_secret):
    """The request schema's maxItems and the 413 answer say the same thing."""
    operation = document["paths"][PATH]["post"]
    array = operation["requestBody"]["content"]["application/json"]["schema"]["oneOf"][0]
    too_many = [ERROR] * (array["maxItems"] + 1)
    assert "413" in array["description"]
    assert "maxItems" in operation["responses"]["413"]["description"]
    assert "maxItems" not in operation["responses"]["400"]["description"]
    errors = list(
        spec.iter_request_errors(
            MockRequest(
                "http://testserver",
                "post",
                PATH,
                headers={"Authorization": f"Bearer {ingest_secret}"},
                data=orjson.dumps(too_many),
            )
        )
    )
    assert errors  # the schema refuses it...
    response = send(orjson.dumps(too_many), status=413)  # ...and so does the API, as documented
    assert f"at most {array['maxItems']} events" in response.json()["message"]


def test_every_status_the_document_lists_has_its_own_description(document):
    responses = document["paths"][PATH]["post"]["responses"]
    assert set(responses) == {"202", "400", "401", "403", "413", "429", "500", "503"}
    for status, answer in responses.items():
        assert answer["content"]["application/json"]["schema"], status
        assert answer["description"] not in ("OK", "Accepted", "Bad Request"), status


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    assert not repeated, f"keys listed twice in one object: {repeated}"
    return dict(pairs)


def test_the_served_document_has_no_key_twice_and_is_valid_openapi():
    """The docs page's parser refuses a key listed twice ("duplicated mapping key"), which
    a dict-based check would never see: the served bytes are read pair by pair."""
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.content, object_pairs_hook=_no_duplicate_keys)
    validate(document)
    responses = document["paths"][PATH]["post"]["responses"]
    assert list(responses).count("202") == 1 and list(responses).count("400") == 1
    docs = Client().get("/api/v1/docs").content.decode()
    assert "/api/v1/openapi.json" in docs
