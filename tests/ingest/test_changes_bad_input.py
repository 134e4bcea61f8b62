"""POST /api/v1/changes with input a store refuses (NUL, unpaired surrogates, nesting,
timestamps out of range) and bursts PagerDuty would not take: the bad change is refused
in words, or repaired with a note, and the good ones of the batch kept; no 500; every
answer matches the served OpenAPI document (the `send` fixture checks it)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from alerts_saas.ingest import limits
from alerts_saas.ingest.models import ChangeEvent, IngestKey
from integrations.pagerduty.models import Delivery
from tests.ingest.test_changes import send, services, spec  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

GOOD = {"payload": {"summary": "deployed v2"}}
REPAIRED = "NUL characters and unpaired surrogates can't be stored; each was replaced with �."


def _batch(bad: object) -> bytes:
    """GOOD then `bad`, as JSON text (escaping NUL and surrogates as senders do)."""
    return json.dumps([GOOD, bad]).encode()


def _deep(levels: int) -> bytes:
    """GOOD, then a change whose custom_details nest `levels` arrays."""
    deep = b"[" * levels + b"]" * levels
    return b'[{"payload": {"summary": "deployed v2"}}, {"payload": {"summary": "x", ' + (
        b'"custom_details": {"k": ' + deep + b"}}}]"
    )


def _an_hour_ago_at(offset: str) -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None).isoformat() + offset


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        pytest.param(
            _deep(1000), "payload", "nests objects or arrays more than 32 levels deep", id="deep"
        ),
        pytest.param(
            _deep(5000), "payload", "nests objects or arrays more than 32 levels deep", id="deeper"
        ),
        pytest.param(
            _batch({"payload": {"summary": "x", "timestamp": "0001-01-01T00:00:00+01:00"}}),
            "payload.timestamp",
            "falls outside the years 1 to 9999 in UTC",
            id="before-year-1",
        ),
        pytest.param(
            _batch({"payload": {"summary": "x", "timestamp": _an_hour_ago_at("+23:59")}}),
            "payload.timestamp",
            "has an offset no place uses: UTC offsets run from -12:00 to +14:00",
            id="offset",
        ),
        pytest.param(
            _batch({"payload": {"summary": "x"}, "links": [{"href": "https://a/\u0000"}]}),
            "links.0.href",
            "holds a NUL character or an unpaired surrogate: it is not an address",
            id="nul-address",
        ),
        pytest.param(
            _batch({"payload": {"summary": "x"}, "links": [{"href": "https://a/\ud800"}]}),
            "links.0.href",
            "holds a NUL character or an unpaired surrogate: it is not an address",
            id="surrogate-address",
        ),
    ],
)
def test_a_change_we_cannot_keep_is_refused_alone_in_words(
    send,  # noqa: F811
    org,
    services,  # noqa: F811
    body,
    field,
    words,
):
    answer = send(body, 202)
    assert (answer["accepted"], answer["rejected"]) == (1, 1)
    [error] = answer["errors"]
    assert (error["index"], error["field"]) == (1, field)
    assert words in error["message"]
    assert (
        answer["message"]
        == "1 change kept, 1 refused (see errors), and sent to PagerDuty: Checkout."
    )
    assert list(ChangeEvent.objects.values_list("summary", flat=True)) == ["deployed v2"]
    [delivery] = Delivery.objects.filter(organization=org)
    assert delivery.body["payload"]["summary"] == "deployed v2"


@pytest.mark.parametrize(
    ("bad", "field", "kept"),
    [
        pytest.param(
            {"payload": {"summary": "a\u0000b"}},
            "payload.summary",
            {"summary": "a\ufffdb"},
            id="nul",
        ),
        pytest.param(
            {"payload": {"summary": "a\ud800"}},
            "payload.summary",
            {"summary": "a\ufffd"},
            id="surrogate",
        ),
        pytest.param(
            {"payload": {"summary": "x", "source": "ci\u0000"}},
            "payload.source",
            {"source": "ci\ufffd"},
            id="source",
        ),
        pytest.param(
            {"payload": {"summary": "x", "custom_details": {"k": ["a\u0000"]}}},
            "payload.custom_details",
            {"custom_details": {"k": ["a\ufffd"]}},
            id="detail-value",
        ),
        pytest.param(
            {"payload": {"summary": "x", "custom_details": {"k\u0000": "a", "\udc00": 1}}},
            "payload.custom_details",
            {"custom_details": {"k\ufffd": "a", "\ufffd": 1}},
            id="detail-keys",
        ),
        pytest.param(
            {"payload": {"summary": "x"}, "links": [{"href": "https://a/", "text": "\u0000"}]},
            "links.0.text",
            {"links": [{"href": "https://a/", "text": "\ufffd"}]},
            id="link-text",
        ),
    ],
)
def test_nul_and_unpaired_surrogates_are_replaced_with_a_note_and_the_change_kept(
    send,  # noqa: F811
    org,
    services,  # noqa: F811
    bad,
    field,
    kept,
):
    answer = send(_batch(bad), 202)
    assert (answer["accepted"], answer["rejected"], answer["errors"]) == (2, 0, [])
    assert answer["notes"] == [{"index": 1, "field": field, "message": REPAIRED}]
    good, repaired = ChangeEvent.objects.filter(organization=org).order_by("pk")
    assert good.summary == "deployed v2"
    for name, value in kept.items():
        assert getattr(repaired, name) == value
    # PagerDuty gets the repaired change too.
    sent = Delivery.objects.get(organization=org, body__payload__summary=repaired.summary)
    assert sent.body["payload"]["summary"] == repaired.summary


def test_a_clean_change_is_kept_in_utc_without_notes(send, org, services):  # noqa: F811
    """The farthest offset in use (+14:00) is taken, and kept and sent in UTC."""
    sent = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    local = sent.replace(tzinfo=None) + timedelta(hours=14)
    change = {"payload": {"summary": "x", "timestamp": f"{local.isoformat()}+14:00"}}
    answer = send([GOOD, change], 202)
    assert (answer["accepted"], answer["errors"], answer["notes"]) == (2, [], [])
    assert ChangeEvent.objects.get(organization=org, summary="x").timestamp == sent
    delivery = Delivery.objects.get(organization=org, body__payload__summary="x")
    assert delivery.body["payload"]["timestamp"] == sent.isoformat().replace("+00:00", "Z")


@pytest.fixture
def fresh_allowance():
    """The allowance with no other test's counts (its Redis keys are per organization)."""
    limits.allowance.cache_clear()
    yield
    limits.allowance.cache_clear()


def test_a_burst_is_held_to_what_pagerduty_takes_on_a_key(
    send,  # noqa: F811
    org,
    services,  # noqa: F811
    settings,
    make_org,
    fresh_allowance,
):
    """r5: 300 changes in three requests were all queued to PagerDuty, which takes about
    120 events a minute on a key. The default allowance is that figure."""
    assert settings.INGEST_CHANGES_PER_MINUTE == settings.PAGERDUTY_EVENTS_PER_MINUTE == 120
    batch = [{"payload": {"summary": f"deploy {n}"}} for n in range(100)]
    assert send(batch, 202)["accepted"] == 100
    refused = send(batch, 429)
    assert refused["message"].startswith(
        "Your organization is over its limit of 120 changes a minute (PagerDuty takes about "
        "120 events a minute on each service's key). None of these 100 was kept; send them "
        "again in "
    )
    assert ChangeEvent.objects.filter(organization=org).count() == 100
    assert Delivery.objects.filter(organization=org).count() == 100
    # The allowance is the organization's own: another one is not held back.
    other = make_org("Other Co")
    assert send(batch, 202, secret=IngestKey.issue(other, "ci")[1])["accepted"] == 100


def test_over_the_allowance_is_429_with_retry_after(
    send,  # noqa: F811
    org,
    settings,
    client,
    fresh_allowance,
):
    settings.INGEST_CHANGES_PER_MINUTE = 5
    assert send([GOOD] * 4, 202)["accepted"] == 4
    send([GOOD] * 2, 429)
    response = client.post(
        "/api/v1/changes",
        data=json.dumps([GOOD] * 2),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {IngestKey.issue(org, 'again')[1]}",
    )
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    # One that could never fit is told to send fewer, not to wait.
    words = send([GOOD] * 6, 413)["message"]
    assert words == (
        "Your organization may send 5 changes a minute; this body has 6. Send at most 5 at a time."
    )
    assert ChangeEvent.objects.filter(organization=org).count() == 4


def test_an_outage_of_the_rate_store_is_503_and_nothing_kept(send, org, settings):  # noqa: F811
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    limits.allowance.cache_clear()
    try:
        answer = send([GOOD], 503)
    finally:
        limits.allowance.cache_clear()
    assert "kept none of them" in answer["message"]
    assert not ChangeEvent.objects.exists()


def test_the_document_states_the_allowance_and_the_repairs(spec, client):  # noqa: F811
    document = client.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/changes"]["post"]
    assert {"429", "503"} <= set(operation["responses"])
    assert "send 120 changes a minute" in " ".join(operation["description"].split())
    assert "notes" in json.dumps(document["components"]["schemas"]["ChangeResult"])
