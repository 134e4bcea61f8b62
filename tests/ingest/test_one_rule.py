"""One rule for each kind of input, whichever field or endpoint carries it: a NUL or an
unpaired surrogate in any text of an event is replaced with U+FFFD and the event kept with a
note, as in its attributes; a change's timestamp is held to the events' age limits, in
their words, each change alone. Every answer is checked against the served OpenAPI
document."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from django.test import Client
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.ingest.models import ChangeEvent
from integrations.pagerduty.models import Delivery

pytestmark = pytest.mark.django_db

EVENTS, CHANGES = "/api/v1/events", "/api/v1/changes"
REPAIRED = "NUL characters and unpaired surrogates can't be stored; each was replaced with �."


@pytest.fixture
def document() -> dict[str, Any]:
    return Client().get("/api/v1/openapi.json").json()


@pytest.fixture
def send(document, ingest_secret):
    """POST a body to `path`, check the status and the answer against the served document;
    the answer."""
    spec = OpenAPI.from_dict(document)

    def post(path: str, body: bytes, status: int) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {ingest_secret}"}
        response = Client(raise_request_exception=False).post(
            path,
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=headers["Authorization"],
        )
        assert response.status_code == status, response.content[:500]
        request = MockRequest("http://testserver", "post", path, headers=headers, data=body)
        spec.validate_response(
            request,
            MockResponse(response.content, status_code=status, content_type="application/json"),
        )
        return response.json()

    return post


@pytest.fixture
def paging(org, make_service) -> Alert:
    """Fires on the first event of any kind, paging one service."""
    alert = Alert.objects.create(organization=org, name="Anything", threshold=1)
    alert.targets.add(make_service())
    return alert


def _paged(alert: Alert) -> list[dict[str, Any]]:
    """The events the alert's trigger shows the person paged."""
    trigger = Firing.objects.get(alert=alert).deliveries.get()
    return trigger.body["payload"]["custom_details"]["recent_matching_events"]


@pytest.mark.parametrize(
    ("event", "field", "shown"),
    [
        pytest.param(b'{"source": "web-\\ud800"}', "source", {"source": "web-\ufffd"}, id="source"),
        pytest.param(b'{"host": "\\udfffweb"}', "host", {"source": "\ufffdweb"}, id="host"),
        pytest.param(b'{"app": "check\\udc00out"}', "app", {"app": "check\ufffdout"}, id="app"),
        pytest.param(b'{"app": "db\\u0000"}', "app", {"app": "db\ufffd"}, id="nul"),
        pytest.param(
            b'{"message": "disk \\ud83d full"}', "message", {"message": "disk \ufffd full"}
        ),
        pytest.param(
            b'{"re\\ud800gion": "eu"}',
            "re\\ud800gion",
            {"attributes": {"re\ufffdgion": "eu"}},
            id="field-name",
        ),
        pytest.param(
            b'{"attributes": {"re\\ud800gion": "eu"}}',
            "attributes.re\\ud800gion",
            {"attributes": {"re\ufffdgion": "eu"}},
            id="attribute-name",
        ),
    ],
)
def test_a_bad_code_in_any_text_of_an_event_is_replaced_and_the_event_pages(
    send, paging, event, field, shown
):
    """r: a lone surrogate in `source`, `host`, `app` or a field's name refused the event,
    while the same in an attribute was repaired."""
    answer = send(EVENTS, b"[" + event + b"]", 202)
    assert (answer["accepted"], answer["errors"]) == (1, [])
    assert answer["notes"] == [{"index": 0, "field": field, "message": REPAIRED}]
    [paged] = _paged(paging)
    assert {name: paged[name] for name in shown} == shown


def test_a_mixed_batch_of_events_is_judged_by_one_rule(send, paging):
    """Bad codes in text are repaired wherever they are; only what can't be taken (a time
    that is none, or too old) is refused, alone."""
    old = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0).isoformat()
    body = (
        b'[{"message": "fine"},'
        b' {"app": "check\\ud800out", "message": "repaired"},'
        b' {"timestamp": "2030-01-01T00:00:00Z\\ud800"},'
        b' {"timestamp": "' + old.encode() + b'", "source": "web-\\udc00"},'
        b' {"message": "repaired too", "ok\\udc00": 1}]'
    )
    answer = send(EVENTS, body, 202)
    assert (answer["accepted"], answer["rejected"]) == (3, 2)
    assert [(e["index"], e["field"]) for e in answer["errors"]] == [
        (2, "timestamp"),
        (3, "timestamp"),
    ]
    assert answer["errors"][1]["message"] == (
        f"{old} is 2 days old; events older than 1 day are refused."
    )
    assert [(n["index"], n["field"]) for n in answer["notes"]] == [(1, "app"), (4, "ok\\udc00")]
    assert sorted(event["message"] for event in _paged(paging)) == [
        "fine",
        "repaired",
        "repaired too",
    ]


def _change(summary: str, stamp: datetime | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"summary": summary}
    if stamp is not None:
        payload["timestamp"] = stamp.isoformat()
    return {"payload": payload}


def test_a_change_too_old_or_too_far_ahead_is_refused_alone_in_the_events_words(send, paging, org):
    """r: POST /api/v1/changes kept a change of any age (a replayed deploy from last year
    was drawn on the charts and sent to PagerDuty as news)."""
    now = datetime.now(UTC).replace(microsecond=0)
    old, ahead, recent = (
        now - timedelta(days=2),
        now + timedelta(hours=2),
        now - timedelta(hours=23),
    )
    body = orjson.dumps(
        [
            _change("deployed v1"),
            _change("old", old),
            _change("ahead", ahead),
            _change("v2", recent),
        ]
    )
    answer = send(CHANGES, body, 202)
    assert (answer["accepted"], answer["rejected"]) == (2, 2)
    [(_, too_old), (_, too_far)] = [(e["index"], e) for e in answer["errors"]]
    assert (too_old["index"], too_old["field"]) == (1, "payload.timestamp")
    assert (
        too_old["message"]
        == f"{old.isoformat()} is 2 days old; changes older than 1 day are refused."
    )
    assert (too_far["index"], too_far["field"]) == (2, "payload.timestamp")
    # The same words an event with that time gets.
    event = send(EVENTS, orjson.dumps([{"timestamp": ahead.isoformat()}]), 400)
    assert too_far["message"] == event["errors"][0]["message"]
    assert too_far["message"].endswith(
        "ahead of our clock; at most 5 minutes is accepted. Is the sender's clock right?"
    )
    earlier, later = ChangeEvent.objects.filter(organization=org).order_by("timestamp")
    assert (earlier.summary, earlier.timestamp, later.summary) == ("v2", recent, "deployed v1")
    sent = Delivery.objects.filter(organization=org, event_action="change")
    assert sorted(d.body["payload"]["summary"] for d in sent) == ["deployed v1", "v2"]


def test_a_body_of_only_stale_changes_is_400_and_keeps_nothing(send, org):
    old = datetime.now(UTC) - timedelta(days=30)
    answer = send(CHANGES, orjson.dumps(_change("replayed", old)), 400)
    assert answer["message"] == "No change was kept, 1 refused (see errors)."
    assert "changes older than 1 day are refused" in answer["errors"][0]["message"]
    assert not ChangeEvent.objects.exists()


def test_the_document_states_the_changes_age_limit_and_its_example_is_taken(send, document):
    """The change example carries a timestamp made when the document is read, so it shows
    the form and is never too old to be taken."""
    operation = document["paths"][CHANGES]["post"]
    example = operation["requestBody"]["content"]["application/json"]["example"]
    stamp = datetime.fromisoformat(example["payload"]["timestamp"])
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60
    answer = send(CHANGES, orjson.dumps(example), 202)
    assert (answer["accepted"], answer["errors"], answer["notes"]) == (1, [], [])
    words = " ".join(json.dumps(document, ensure_ascii=False).split())
    assert "At most 5 minutes ahead of our clock and 1 day old, as for events" in words
