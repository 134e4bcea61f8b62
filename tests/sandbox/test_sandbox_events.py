"""Events API v2: validation at the documented limits, dedup, regions, rate limits."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import pytest

MAX_BODY = 512 * 1024


def sized_body(routing_key: str, size: int) -> bytes:
    """A valid trigger event serialized to exactly ``size`` bytes."""
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "payload": {
            "summary": "Large event",
            "source": "big-host",
            "severity": "info",
            "custom_details": {"blob": ""},
        },
    }
    base = len(json.dumps(body).encode())
    body["payload"]["custom_details"]["blob"] = "x" * (size - base)
    data = json.dumps(body).encode()
    assert len(data) == size
    return data


# ---------------------------------------------------------------------------- happy path
def test_trigger_is_accepted_per_the_published_contract(
    events_post, trigger, us_key, contract
) -> None:
    body = trigger(us_key, dedup_key="srv01/mysql")
    body["images"] = [
        {"src": "https://img.example/chart.png", "href": "https://x.example", "alt": "c"}
    ]
    body["links"] = [{"href": "https://runbook.example", "text": "Runbook"}]
    response = events_post(body)
    assert response.status_code == 202
    assert contract.events(response) == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "srv01/mysql",
    }


def test_trigger_without_dedup_key_gets_a_generated_one(
    events_post, trigger, us_key, sandbox
) -> None:
    first = events_post(trigger(us_key)).json()["dedup_key"]
    second = events_post(trigger(us_key)).json()["dedup_key"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second
    assert len(sandbox.alerts(routing_key=us_key)) == 2  # no dedup_key → always a new alert


def test_events_are_recorded_with_precise_receipt_times(
    events_post, trigger, us_key, sandbox
) -> None:
    body = trigger(us_key, dedup_key="k1")
    events_post(body)
    events_post(body)
    recorded = sandbox.events(routing_key=us_key)
    assert len(recorded) == 2
    first, second = recorded
    assert first["host"] == "events-us" and first["kind"] == "alert"
    assert first["body"] == body and json.loads(first["raw"]) == body
    assert first["status_code"] == 202
    assert re.search(r"\.\d{6}Z$", first["received_at"])
    t1 = datetime.fromisoformat(first["received_at"])
    t2 = datetime.fromisoformat(second["received_at"])
    assert t1 <= t2 and second["received_at_epoch"] >= first["received_at_epoch"]


# ---------------------------------------------------------------------------- boundaries
def test_summary_of_1024_characters_passes_1025_fails(
    events_post, trigger, us_key, contract
) -> None:
    ok = trigger(us_key)
    ok["payload"]["summary"] = "s" * 1024
    assert events_post(ok).status_code == 202
    too_long = trigger(us_key)
    too_long["payload"]["summary"] = "s" * 1025
    response = events_post(too_long)
    assert response.status_code == 400
    body = contract.events(response)
    assert body["status"] == "invalid event"
    assert body["message"] == "Event object is invalid"
    assert any("payload.summary" in e for e in body["errors"])


def test_summary_limit_counts_characters_not_bytes(events_post, trigger, us_key) -> None:
    body = trigger(us_key)
    body["payload"]["summary"] = "é" * 1024  # 2048 bytes in UTF-8
    assert events_post(body).status_code == 202


def test_dedup_key_of_255_characters_passes_256_fails(events_post, trigger, us_key) -> None:
    assert events_post(trigger(us_key, dedup_key="d" * 255)).status_code == 202
    response = events_post(trigger(us_key, dedup_key="d" * 256))
    assert response.status_code == 400
    assert any("dedup_key" in e for e in response.json()["errors"])


def test_body_of_exactly_512_kb_passes_one_byte_more_fails(events_post, us_key) -> None:
    assert events_post(sized_body(us_key, MAX_BODY)).status_code == 202
    response = events_post(sized_body(us_key, MAX_BODY + 1))
    assert response.status_code == 400
    assert response.json()["status"] == "invalid event"
    assert "524288" in response.json()["errors"][0]


# ---------------------------------------------------------------------------- validation
def _without(body: dict[str, Any], path: str) -> dict[str, Any]:
    target = body
    *parents, last = path.split(".")
    for part in parents:
        target = target[part]
    del target[last]
    return body


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda b: _without(b, "routing_key"), "routing_key"),
        (lambda b: _without(b, "event_action"), "event_action"),
        (lambda b: b.update(event_action="escalate"), "event_action"),
        (lambda b: _without(b, "payload"), "payload"),
        (lambda b: _without(b, "payload.summary"), "payload.summary"),
        (lambda b: b["payload"].update(summary="   "), "payload.summary"),
        (lambda b: _without(b, "payload.source"), "payload.source"),
        (lambda b: _without(b, "payload.severity"), "payload.severity"),
        (lambda b: b["payload"].update(severity="CRITICAL"), "payload.severity"),
        (lambda b: b["payload"].update(severity="fatal"), "payload.severity"),
        (lambda b: b["payload"].update(timestamp="yesterday"), "payload.timestamp"),
        (lambda b: b["payload"].update(timestamp="2015-13-45T99:00:00Z"), "payload.timestamp"),
        (lambda b: b["payload"].update(custom_details="text"), "custom_details"),
        (lambda b: b.update(images=[{"href": "https://x.example"}]), "images[0].src"),
        (lambda b: b.update(images={"src": "https://x.example"}), "images"),
        (lambda b: b.update(links=[{"text": "no href"}]), "links[0].href"),
        (lambda b: b.update(links=[{"href": "https://x.example", "text": 5}]), "links[0].text"),
        (lambda b: b.update(dedup_key=12), "dedup_key"),
    ],
)
def test_invalid_events_are_rejected(
    events_post, trigger, us_key, contract, mutate, fragment
) -> None:
    body = trigger(us_key)
    mutate(body)
    response = events_post(body)
    assert response.status_code == 400, response.text
    errors = contract.events(response)["errors"]
    assert any(fragment in e for e in errors), errors


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_acknowledge_and_resolve_need_a_dedup_key(events_post, us_key, action) -> None:
    response = events_post({"routing_key": us_key, "event_action": action})
    assert response.status_code == 400
    assert any("dedup_key" in e for e in response.json()["errors"])


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"", '"just a string"'])
def test_malformed_json_is_400(events_post, contract, raw) -> None:
    response = events_post(raw)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "Unrecognized object"
    assert body["errors"] == ["JSON parse error"]


def test_iso8601_timestamp_variants_are_accepted(events_post, trigger, us_key) -> None:
    for stamp in [
        "2015-07-17T08:42:58.315+0000",
        "2015-07-17T08:42:58Z",
        "2015-07-17T08:42:58+02:00",
    ]:
        body = trigger(us_key)
        body["payload"]["timestamp"] = stamp
        assert events_post(body).status_code == 202, stamp


# ---------------------------------------------------------------------------- regions
def test_eu_key_is_unknown_on_the_us_host(events_post, trigger, eu_key, sandbox) -> None:
    response = events_post(trigger(eu_key), region="us")
    assert response.status_code == 400
    assert response.json()["status"] == "invalid event"
    assert any("routing key" in e.lower() for e in response.json()["errors"])
    assert events_post(trigger(eu_key), region="eu").status_code == 202
    assert [e["host"] for e in sandbox.events(routing_key=eu_key)] == ["events-us", "events-eu"]
    assert len(sandbox.alerts(routing_key=eu_key)) == 1


def test_us_key_is_unknown_on_the_eu_host(events_post, trigger, us_key) -> None:
    assert events_post(trigger(us_key), region="eu").status_code == 400


def test_seeded_integration_keys_work(events_post, trigger, accounts) -> None:
    edge = next(s for s in accounts["us"]["services"] if s["name"] == "Edge Gateway")
    key = edge["integrations"][0]["integration_key"]
    assert events_post(trigger(key)).status_code == 202


# ---------------------------------------------------------------------------- dedup
def test_alert_lifecycle_follows_dedup_rules(events_post, trigger, us_key, sandbox) -> None:
    def send(action: str) -> dict[str, Any]:
        body = (
            trigger(us_key, dedup_key="disk-full")
            if action == "trigger"
            else {"routing_key": us_key, "dedup_key": "disk-full", "event_action": action}
        )
        response = events_post(body)
        assert response.status_code == 202
        assert response.json()["dedup_key"] == "disk-full"
        return response.json()

    send("trigger")
    send("trigger")  # dedups into the open alert
    (alert,) = sandbox.alerts(dedup_key="disk-full")
    assert alert["status"] == "triggered" and len(alert["events"]) == 2
    send("acknowledge")
    send("trigger")  # still the same (acknowledged) alert
    (alert,) = sandbox.alerts(dedup_key="disk-full")
    assert alert["status"] == "acknowledged" and len(alert["events"]) == 4
    send("resolve")
    (alert,) = sandbox.alerts(dedup_key="disk-full")
    assert alert["status"] == "resolved"
    send("resolve")  # no open alert any more: dropped, still 202
    send("trigger")  # opens a new alert
    alerts = sandbox.alerts(dedup_key="disk-full")
    assert [a["status"] for a in alerts] == ["resolved", "triggered"]
    assert len(alerts[0]["events"]) == 5 and len(alerts[1]["events"]) == 1
    dropped = [e for e in sandbox.events(dedup_key="disk-full") if e["alert_id"] is None]
    assert len(dropped) == 1 and dropped[0]["outcome"].startswith("dropped")


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_ack_or_resolve_of_unknown_key_is_dropped(events_post, us_key, sandbox, action) -> None:
    response = events_post(
        {"routing_key": us_key, "dedup_key": "never-seen", "event_action": action}
    )
    assert response.status_code == 202
    assert response.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "never-seen",
    }
    assert sandbox.alerts(routing_key=us_key) == []
    (event,) = sandbox.events(routing_key=us_key)
    assert event["outcome"].startswith("dropped")


def test_resolve_through_another_routing_key_is_dropped(
    events_post, trigger, us_key, sandbox, accounts
) -> None:
    service = next(s for s in accounts["us"]["services"] if s["name"] == "Checkout API 001")
    other_key = sandbox.add_integration(service["id"], "Other")["integration_key"]
    events_post(trigger(us_key, dedup_key="shared"))
    events_post({"routing_key": other_key, "dedup_key": "shared", "event_action": "resolve"})
    (alert,) = sandbox.alerts(dedup_key="shared")
    assert alert["status"] == "triggered"


# ---------------------------------------------------------------------------- change events
def test_change_event_is_accepted_and_creates_no_alert(
    events_post, us_key, sandbox, contract
) -> None:
    body = {
        "routing_key": us_key,
        "payload": {
            "summary": "Build Success: Increase snapshot create timeout to 30 seconds",
            "timestamp": "2020-07-17T08:42:58.315Z",
            "source": "acme-build-pipeline-tool-default-i-9999",
            "custom_details": {"build_state": "passed", "build_number": "2"},
        },
        "links": [{"href": "https://acme.pagerduty.dev/build/2", "text": "View more details"}],
    }
    assert contract.events_request_errors(body, change=True) == []
    response = events_post(body, change=True)
    assert response.status_code == 202
    assert contract.events(response)["status"] == "success"
    (event,) = sandbox.events(routing_key=us_key, kind="change")
    assert event["path"].endswith("/v2/change/enqueue")
    assert sandbox.alerts(routing_key=us_key) == []


@pytest.mark.parametrize(
    "body_change",
    [
        lambda b: b.pop("payload"),
        lambda b: b["payload"].pop("summary"),
        lambda b: b["payload"].update(summary="c" * 1025),
        lambda b: b.update(links=[{"text": "no href"}]),
        lambda b: b.update(routing_key="0" * 32),
    ],
)
def test_invalid_change_events_are_rejected(events_post, us_key, body_change) -> None:
    body = {"routing_key": us_key, "payload": {"summary": "Deployed v1.2.3"}}
    body_change(body)
    response = events_post(body, change=True)
    assert response.status_code == 400
    assert response.json()["status"] == "invalid event"


def test_change_event_summary_of_1024_passes(events_post, us_key) -> None:
    body = {"routing_key": us_key, "payload": {"summary": "c" * 1024}}
    assert events_post(body, change=True).status_code == 202


# ---------------------------------------------------------------------------- rate limits
def test_events_rate_limit_is_per_routing_key(
    sandbox, events_post, trigger, us_key, eu_key, contract
) -> None:
    sandbox.configure(events_rate_limit=3)
    assert [events_post(trigger(us_key)).status_code for _ in range(3)] == [202] * 3
    limited = events_post(trigger(us_key))
    assert limited.status_code == 429
    contract.events(limited)
    assert events_post(trigger(eu_key), region="eu").status_code == 202  # another key is fine
    assert len(sandbox.alerts(routing_key=us_key)) == 3  # the throttled event was not ingested


def test_default_events_rate_limit_is_120_per_minute(sandbox, events_post, trigger, us_key) -> None:
    assert sandbox.config()["events_rate_window"] == 60
    statuses = [events_post(trigger(us_key, dedup_key="burst")).status_code for _ in range(121)]
    assert statuses[:120] == [202] * 120
    assert statuses[120] == 429


def test_events_rate_limit_window_slides(sandbox, events_post, trigger, us_key) -> None:
    import time

    sandbox.configure(events_rate_limit=1, events_rate_window=0.4)
    assert events_post(trigger(us_key)).status_code == 202
    assert events_post(trigger(us_key)).status_code == 429
    time.sleep(0.5)
    assert events_post(trigger(us_key)).status_code == 202
