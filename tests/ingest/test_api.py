"""POST /api/v1/events: authentication, limits, per-event errors, and what gets counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.test import Client
from openapi_spec_validator import validate

from alerts_saas.alerts.counting import CounterSet, counts
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.ingest import limits
from alerts_saas.ingest.models import IngestKey, hash_key

pytestmark = pytest.mark.django_db

ERROR = {"app": "checkout", "level": "error", "message": "Payment failed", "source": "web-1"}


def window_total(alert: Alert) -> int:
    alert.refresh_from_db()
    return counts().totals([CounterSet.of(alert)], datetime.now(UTC).timestamp())[
        CounterSet.of(alert)
    ]


def test_a_batch_is_counted_and_the_key_marked_used(post_events, errors_alert, ingest_secret):
    response = post_events([ERROR, ERROR, {**ERROR, "level": "info"}])
    assert response.status_code == 202
    assert response.json() == {"accepted": 3, "rejected": 0, "errors": [], "notes": []}
    assert window_total(errors_alert) == 2
    key = IngestKey.objects.get(key_hash=hash_key(ingest_secret))
    assert key.last_used_at is not None


def test_an_object_with_events_is_a_batch_too(post_events, errors_alert):
    assert post_events({"events": [ERROR]}).status_code == 202
    assert window_total(errors_alert) == 1


@pytest.mark.parametrize(
    ("header", "status", "words"),
    [
        (None, 401, "Authorization: Bearer"),
        ("Basic abc", 401, "Authorization: Bearer"),
        ("Bearer ", 401, "Authorization: Bearer"),
        ("Bearer twk_not-a-real-key", 401, "not valid"),
    ],
)
def test_a_missing_or_unknown_key_is_401(header, status, words, errors_alert):
    headers = {"HTTP_AUTHORIZATION": header} if header else {}
    response = Client().post(
        "/api/v1/events", data=orjson.dumps([ERROR]), content_type="application/json", **headers
    )
    assert response.status_code == status
    assert words in response.json()["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert window_total(errors_alert) == 0


def test_a_revoked_key_is_403(post_events, org, errors_alert):
    key, secret = IngestKey.issue(org, "old")
    key.revoke(by=None)
    response = post_events([ERROR], secret=secret)
    assert response.status_code == 403
    assert "revoked" in response.json()["message"]
    assert window_total(errors_alert) == 0


def test_bad_json_and_wrong_shapes_get_400_in_words(post_events):
    cases = {
        b"{not json": "not valid JSON",
        b"": "not valid JSON",
        b'"a string"': "JSON array of events",
        b'{"events": 5}': "JSON array of events",
        b"[]": "empty",
        b'[{"message": Infinity}]': "not valid JSON",
    }
    for body, words in cases.items():
        response = post_events(body)
        assert response.status_code == 400, body
        assert words in response.json()["message"], body


def test_each_bad_event_is_refused_alone_with_its_index(post_events, errors_alert):
    now = datetime.now(UTC)
    batch = [
        ERROR,  # 0 fine
        "not an object",  # 1
        {**ERROR, "message": 42},  # 2 wrong type
        {**ERROR, "level": "loud"},  # 3 unknown level
        {**ERROR, "timestamp": (now + timedelta(hours=2)).isoformat()},  # 4 future
        {**ERROR, "timestamp": (now - timedelta(days=3)).isoformat()},  # 5 too old
        {**ERROR, "attributes": {"nested": {"a": 1}}},  # 6 attributes must be flat
        {**ERROR, "timestamp": "yesterday-ish"},  # 7 not a time
        {**ERROR, "timestamp": now.timestamp() - 10},  # 8 fine: epoch seconds
    ]
    response = post_events(batch)
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 2 and body["rejected"] == 7
    by_index = {e["index"]: e for e in body["errors"]}
    assert sorted(by_index) == [1, 2, 3, 4, 5, 6, 7]
    assert by_index[1]["message"] == "An event must be a JSON object."
    assert by_index[2]["field"] == "message" and "string" in by_index[2]["message"]
    assert "not a level we know" in by_index[3]["message"]
    assert "ahead of our clock" in by_index[4]["message"]
    assert "3 days old" in by_index[5]["message"]
    assert by_index[6]["field"].startswith("attributes.nested")
    assert by_index[7]["field"] == "timestamp"
    assert window_total(errors_alert) == 2


def test_a_batch_with_no_good_event_is_400_and_lists_why(post_events, errors_alert):
    response = post_events([{"level": 3}, {"app": ["x"]}])
    assert response.status_code == 400
    assert response.json()["accepted"] == 0
    assert [e["index"] for e in response.json()["errors"]] == [0, 1]


def test_huge_messages_are_cut_with_a_note_and_unknown_fields_kept(post_events, org, settings):
    settings.INGEST_MAX_MESSAGE_CHARS = 1000
    alert = Alert.objects.create(organization=org, name="Anything", threshold=100)
    response = post_events(
        [
            {
                **ERROR,
                "message": "x" * 50_000,
                "region": "eu-west-1",
                "retries": 3,
                "context": {"user": 7},
            }
        ]
    )
    assert response.status_code == 202
    [note] = response.json()["notes"]
    assert note["index"] == 0 and note["field"] == "message"
    assert "50,000 characters; the first 1,000 were kept" in note["message"]
    [recent] = counts().recent(CounterSet.of(alert))
    assert recent["attributes"] == {"region": "eu-west-1", "retries": 3, "context": '{"user":7}'}
    assert len(recent["message"]) <= 301


def test_nul_and_lone_surrogates_are_replaced_with_a_note_and_still_page(
    post_events, org, make_service
):
    """PostgreSQL refuses NUL and UTF-8 has no lone surrogates; both are valid JSON."""
    alert = Alert.objects.create(organization=org, name="Anything", threshold=1)
    alert.targets.add(make_service())
    body = (
        b'[{"message": "disk\\u0000full \\ud800", "app": "db\\u0000",'
        b' "attributes": {"k\\u0000ey": "v\\udfff"}, "extra\\u0000": ["\\ud83d"]},'
        b' {"message": "ok", "field\\udc00": 1}]'
    )
    response = post_events(body)
    assert response.status_code == 202, response.content
    result = response.json()
    assert result["accepted"] == 2 and result["errors"] == []
    assert "replaced with \ufffd" in result["notes"][0]["message"]
    assert result["notes"][-1]["index"] == 1 and result["notes"][-1]["field"] == "field\\udc00"
    firing = Firing.objects.get(alert=alert)
    trigger = firing.deliveries.get()
    recent = trigger.body["payload"]["custom_details"]["recent_matching_events"]
    [shown] = [event for event in recent if event["message"].startswith("disk")]
    assert shown["message"] == "disk\ufffdfull \ufffd"
    assert shown["app"] == "db\ufffd"
    assert shown["attributes"] == {"k\ufffdey": "v\ufffd", "extra\ufffd": '["\ufffd"]'}


def test_a_rate_store_outage_is_503_in_words_and_nothing_kept(post_events, settings, errors_alert):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    limits.allowance.cache_clear()
    try:
        response = post_events([ERROR])
    finally:
        limits.allowance.cache_clear()
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "kept none of them" in response.json()["message"]
    assert window_total(errors_alert) == 0


def test_bodies_over_the_limit_are_413_before_they_are_read(post_events, settings):
    settings.INGEST_MAX_BODY_BYTES = 10_000
    response = post_events([{**ERROR, "message": "y" * 20_000}])
    assert response.status_code == 413
    assert "over" in response.json()["message"]


def test_batches_over_the_limit_are_413(post_events, settings, errors_alert):
    settings.INGEST_MAX_BATCH = 10
    response = post_events([ERROR] * 11)
    assert response.status_code == 413
    assert "at most 10 events" in response.json()["message"]
    assert window_total(errors_alert) == 0


def test_over_the_organization_rate_limit_is_429_and_nothing_kept(
    post_events, settings, errors_alert, org, make_org
):
    settings.INGEST_EVENTS_PER_MINUTE = 5
    assert post_events([ERROR] * 4).status_code == 202
    response = post_events([ERROR] * 2)
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "5 events a minute" in response.json()["message"]
    assert window_total(errors_alert) == 4
    # The limit is the organization's own: another one is not held back.
    other = make_org("Other Co")
    assert post_events([ERROR] * 4, secret=IngestKey.issue(other, "k")[1]).status_code == 202


def test_an_organizations_key_never_feeds_another_organizations_alerts(post_events, org, make_org):
    theirs = make_org("Globex")
    their_alert = Alert.objects.create(organization=theirs, name="Everything", threshold=1)
    our_alert = Alert.objects.create(organization=org, name="Everything", threshold=1)
    response = post_events([ERROR] * 3)
    assert response.status_code == 202
    assert window_total(their_alert) == 0
    assert not Firing.objects.filter(alert=their_alert).exists()
    assert window_total(our_alert) == 3
    assert Firing.objects.filter(alert=our_alert, cleared_at__isnull=True).count() == 1
    # And their key feeds theirs only.
    their_secret = IngestKey.issue(theirs, "theirs")[1]
    assert post_events([ERROR], secret=their_secret).status_code == 202
    assert window_total(their_alert) == 1 and window_total(our_alert) == 3


def test_the_openapi_schema_is_valid_and_the_docs_page_loads_without_a_cdn(client):
    schema = client.get("/api/v1/openapi.json").json()
    validate(schema)
    operation = schema["paths"]["/api/v1/events"]["post"]
    assert set(operation["responses"]) >= {"202", "400", "401", "403", "413", "429"}
    assert {"EventIn", "EventBatch", "IngestResult"} <= set(schema["components"]["schemas"])
    assert schema["components"]["securitySchemes"]["IngestKeyAuth"]["scheme"] == "bearer"
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "swagger-ui-bundle.js" in page and "cdn" not in page.lower()
