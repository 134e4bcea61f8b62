"""Bad input of any shape on POST /api/v1/events: a 4xx in JSON words whether DEBUG is on or
off, never a 500 or an HTML page, and the valid events of a mixed batch kept."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.test import Client

from alerts_saas.ingest import api
from alerts_saas.ingest.schema import MAX_DEPTH

pytestmark = pytest.mark.django_db

ERROR = {"app": "checkout", "level": "error", "message": "Payment failed", "source": "web-1"}
DEPTH_WORDS = f"more than {MAX_DEPTH} levels deep"


def nested(levels: int) -> bytes:
    """A JSON value `levels` deep, arrays and objects in turn."""
    opening = b"".join(b'{"a":' if level % 2 else b"[" for level in range(levels))
    closing = b"".join(b"}" if level % 2 else b"]" for level in reversed(range(levels)))
    return opening + b'"bottom"' + closing


def with_deep_event(levels: int) -> bytes:
    """Two valid events around one whose `context` is nested `levels` deep (index 1)."""
    error = orjson.dumps(ERROR)
    deep = b'{"message": "deep", "context": ' + nested(levels) + b"}"
    return b"[" + error + b"," + deep + b"," + error + b"]"


@pytest.fixture(params=[True, False], ids=["debug", "production"])
def client(request, settings) -> Client:
    """A client that gets the answer a sender would, 500s included (rather than the
    exception), with DEBUG on and off."""
    settings.DEBUG = request.param
    return Client(raise_request_exception=False)


@pytest.fixture
def post(client, ingest_secret):
    def send(body: bytes, **extra: str):
        response = client.post(
            "/api/v1/events",
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {ingest_secret}",
            **extra,
        )
        assert response["Content-Type"].startswith("application/json"), response.content[:300]
        return response

    return send


@pytest.mark.parametrize("levels", [MAX_DEPTH, 950, 1020, 5_000, 1_000_000])
def test_a_deeply_nested_event_is_refused_alone_and_the_others_counted(
    post, errors_alert, counted, levels
):
    """The event (at depth MAX_DEPTH + 1 and beyond, past the parsers' own limits) is
    refused by its index; the batch's valid events are counted."""
    response = post(with_deep_event(levels))
    assert response.status_code == 202
    result = response.json()
    assert result["accepted"] == 2 and result["rejected"] == 1
    [refused] = result["errors"]
    assert refused["index"] == 1 and refused["field"] == "context"
    assert DEPTH_WORDS in refused["message"]
    assert counted(errors_alert) == 2


def test_an_event_just_within_the_depth_limit_is_accepted(post, errors_alert, counted):
    response = post(with_deep_event(MAX_DEPTH - 1))  # the event itself is the first level
    assert response.status_code == 202
    assert response.json() == {"accepted": 3, "rejected": 0, "errors": [], "notes": []}
    assert counted(errors_alert) == 2


def test_deep_events_in_an_events_object_are_refused_alone_too(post, errors_alert, counted):
    deep = b'{"message": "deep", "context": ' + nested(3_000) + b"}"
    body = b'{"events": [' + orjson.dumps(ERROR) + b"," + deep + b"]}"
    response = post(body)
    assert response.status_code == 202
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(1, "context")]
    assert counted(errors_alert) == 1


def test_a_batch_of_only_deep_events_is_400_with_each_reason(post):
    body = b"[" + b",".join(b'{"x": ' + nested(n) + b"}" for n in (40, 2_000)) + b"]"
    response = post(body)
    assert response.status_code == 400
    result = response.json()
    assert result["accepted"] == 0
    assert [(e["index"], e["field"]) for e in result["errors"]] == [(0, "x"), (1, "x")]
    assert all(DEPTH_WORDS in e["message"] for e in result["errors"])


def test_a_mixed_batch_keeps_its_valid_events_and_says_why_each_other_was_refused(
    post, errors_alert, counted
):
    now = datetime.now(UTC)
    events = [
        orjson.dumps(ERROR),  # 0 fine
        b'{"message": "deep", "context": ' + nested(1_500) + b"}",  # 1 too deep
        b'{"app": "checkout", "source": "web-\\ud800"}',  # 2 lone surrogate: repaired
        b'{"app": "checkout", "ok\\udc00": 1}',  # 3 in a field name: repaired too
        b'"not an event"',  # 4
        orjson.dumps({**ERROR, "level": "loud"}),  # 5
        orjson.dumps({**ERROR, "timestamp": (now - timedelta(days=2)).isoformat()}),  # 6
        orjson.dumps({**ERROR, "message": ["a list"]}),  # 7
        b'{"app": "checkout", "level": "error", "message": "disk \\ud83d full"}',  # 8 repaired
        json.dumps({**ERROR, "count": 2**70}).encode(),  # 9 fine: kept as text
    ]
    response = post(b"[" + b",".join(events) + b"]")
    assert response.status_code == 202
    result = response.json()
    assert result["accepted"] == 5 and result["rejected"] == 5
    refused = {e["index"]: e for e in result["errors"]}
    assert sorted(refused) == [1, 4, 5, 6, 7]
    assert refused[1]["field"] == "context" and DEPTH_WORDS in refused[1]["message"]
    assert refused[4]["message"] == "An event must be a JSON object."
    assert "not a level we know" in refused[5]["message"]
    assert "2 days old" in refused[6]["message"]
    assert refused[7]["field"] == "message"
    notes = [(note["index"], note["field"]) for note in result["notes"]]
    assert notes == [(2, "source"), (3, "ok\\udc00"), (8, "message")]
    assert counted(errors_alert) == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'[{"timestamp": "2030-01-01T00:00:00Z\\ud800"}]', "timestamp"),
        (b'[{"timestamp": "2030-01-01T00:00:00\\udc00Z"}]', "timestamp"),
    ],
)
def test_a_lone_surrogate_in_the_timestamp_is_said_to_be_in_it(post, body, field):
    """The timestamp is the one field it refuses: not text, and then no time (text
    fields are repaired: tests/ingest/test_one_rule.py)."""
    response = post(body)
    assert response.status_code == 400
    [refused] = response.json()["errors"]
    assert refused["index"] == 0 and refused["field"] == field
    assert refused["message"].startswith("This value is not valid Unicode")
    assert "field name" not in refused["message"]


def test_repairs_are_noted_with_the_field_they_were_made_in(post):
    body = b'[{"message": "a\\u0000b", "attributes": {"k": "v\\udfff"}, "extra\\u0000": 1}]'
    response = post(body)
    assert response.status_code == 202
    notes = response.json()["notes"]
    assert [(n["index"], n["field"]) for n in notes] == [
        (0, "message"),
        (0, "attributes.k"),
        (0, "extra\\u0000"),
    ]
    assert all("replaced with \ufffd" in n["message"] for n in notes)


@pytest.mark.parametrize(
    ("extra", "status", "words"),
    [
        ({"HTTP_TRANSFER_ENCODING": "gzip"}, 400, "not supported"),
        ({"HTTP_TRANSFER_ENCODING": "chunked"}, 400, "not both"),
        ({"CONTENT_LENGTH": "-5"}, 400, "not a number of bytes"),
        ({"CONTENT_LENGTH": "many"}, 400, "not a number of bytes"),
    ],
)
def test_bad_framing_is_refused_in_words(post, extra, status, words):
    response = post(orjson.dumps([ERROR]), **extra)
    assert response.status_code == status
    assert words in response.json()["message"]


class EndlessChunkedBody(io.RawIOBase):
    """A raw chunked body (what Django's development server hands over) that never ends;
    `taken` says how much of it was read."""

    CHUNK = b"400\r\n" + b"x" * 0x400 + b"\r\n"

    def __init__(self) -> None:
        self.taken = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        start = self.taken % len(self.CHUNK)
        data = (self.CHUNK * (len(buffer) // len(self.CHUNK) + 2))[start : start + len(buffer)]
        buffer[: len(data)] = data
        self.taken += len(data)
        return len(data)


def test_an_endless_chunked_body_is_refused_once_past_the_limit(post, settings):
    settings.INGEST_MAX_BODY_BYTES = 100 * 1024
    raw = EndlessChunkedBody()
    response = post(
        b"",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BufferedReader(raw)},
    )
    assert response.status_code == 413
    assert response.json()["message"].startswith("The body is over 100 KiB.")
    # The limit, the chunks' framing and one buffer's read-ahead; not a byte more.
    assert raw.taken <= 100 * 1024 * 1.01 + io.DEFAULT_BUFFER_SIZE


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_on_events_are_405_in_json(client, method):
    response = client.generic(method, "/api/v1/events")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == "POST"
    assert response.json()["message"].startswith("Send events with POST")


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/v1/event"), ("POST", "/api/v1/event/"), ("GET", "/api/v1/")],
)
def test_unknown_api_paths_are_404_in_json(client, method, path):
    response = client.generic(method, path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["message"] == (
        f"There is nothing at {path}. Events go to POST /api/v1/events; the API is described "
        "at /api/v1/openapi.json."
    )


def test_a_fault_of_ours_is_a_500_in_json_not_a_page(post, monkeypatch):
    def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(api, "judge", broken)
    response = post(orjson.dumps([ERROR]))
    assert response.status_code == 500
    assert "went wrong on our side" in response.json()["message"]
    assert "a bug" not in response.content.decode()  # no traceback, even with DEBUG on


def test_outside_the_api_errors_are_still_pages(settings):
    settings.DEBUG = False
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    api_response = Client().get("/api/no-such-version/")
    assert api_response.status_code == 404
    assert "message" in api_response.json()
