"""Webhooks v3: subscriptions over REST and the signed deliveries of incident events to a
real HTTP endpoint (``receiver``), with retries, disabling, rotation and redelivery."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
import requests

from devtools.sandbox.testing import form_field

SAM_EMAIL = "sam@acme.example"
FAST_RETRIES = {"webhook_retry_delay": 0.05, "webhook_retry_max_delay": 0.2}


def signed_by(request: dict[str, Any], secret: str) -> bool:
    expected = "v1=" + hmac.new(secret.encode(), request["raw"], hashlib.sha256).hexdigest()
    return any(
        hmac.compare_digest(expected, s)
        for s in request["headers"]["X-PagerDuty-Signature"].split(",")
    )


def subscribe(rest, contract, url: str, **changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "type": "webhook_subscription",
        "delivery_method": {
            "type": "http_delivery_method",
            "url": url,
            "custom_headers": [{"name": "X-Tenant", "value": "tenant-42"}],
        },
        "description": "Tripwire",
        "events": [
            "incident.triggered",
            "incident.acknowledged",
            "incident.unacknowledged",
            "incident.resolved",
            "incident.reassigned",
            "incident.annotated",
        ],
        "filter": {"type": "account_reference"},
        **changes,
    }
    body = contract.rest(rest.post("/webhook_subscriptions", json={"webhook_subscription": spec}))
    return body["webhook_subscription"]  # type: ignore[no-any-return]


def fire(events_post, trigger, key: str, dedup_key: str, region: str = "us") -> None:
    assert events_post(trigger(key, dedup_key=dedup_key), region=region).status_code == 202


def test_every_change_is_delivered_signed_in_order(
    sandbox, rest_us, contract, receiver, events_post, trigger, us_key, accounts
) -> None:
    sub = subscribe(rest_us, contract, receiver.url)
    secret = sub["delivery_method"]["secret"]
    fire(events_post, trigger, us_key, "life")
    (incident,) = sandbox.incidents(incident_key="life")
    path = f"/incidents/{incident['id']}"
    sam = next(u["id"] for u in accounts["us"]["users"] if u["email"] == SAM_EMAIL)
    sandbox.set_incident_status(incident["id"], "acknowledged", SAM_EMAIL)  # web app
    rest_us.post(f"{path}/notes", json={"note": {"content": "Rolling back"}})
    assignment = [{"assignee": {"id": sam, "type": "user_reference"}}]
    rest_us.put(path, json={"incident": {"type": "incident", "assignments": assignment}})
    events_post({"routing_key": us_key, "event_action": "resolve", "dedup_key": "life"})
    received = receiver.wait(6)
    bodies = [contract.webhook(r["raw"]) for r in received]
    assert [b["event"]["event_type"] for b in bodies] == [
        "incident.triggered",
        "incident.acknowledged",
        "incident.annotated",
        "incident.unacknowledged",  # reassigning an acknowledged incident re-triggers it
        "incident.reassigned",
        "incident.resolved",
    ]
    triggered, acked, note, _, reassigned, resolved = (b["event"] for b in bodies)
    assert triggered["data"]["id"] == incident["id"]
    assert triggered["data"]["incident_key"] == "life"
    assert triggered["data"]["html_url"] == incident["html_url"]
    assert triggered["data"]["assignees"][0]["summary"] == "Olivia Oncall"
    assert triggered["agent"]["type"] == "service_reference"
    assert triggered["client"] == {"name": "Alerts SaaS", "url": "https://alerts.example"}
    assert acked["agent"]["id"] == sam and acked["data"]["status"] == "acknowledged"
    assert acked["client"] == {"name": "PagerDuty"}
    assert note["data"]["content"] == "Rolling back" and note["agent"]["summary"] == "Olivia Oncall"
    assert [a["id"] for a in reassigned["data"]["assignees"]] == [sam]
    assert (
        resolved["data"]["status"] == "resolved"
        and resolved["agent"]["type"] == "service_reference"
    )
    for request in received:
        headers = request["headers"]
        assert headers["Content-Type"] == "application/json"
        assert headers["User-Agent"] == "PagerDuty-Webhook/V3.0"
        assert headers["X-Webhook-Subscription"] == sub["id"]
        assert headers["X-Tenant"] == "tenant-42"  # custom headers are sent unredacted
        assert signed_by(request, secret)
        assert not signed_by(request, secret + "x")
    assert len({r["headers"]["X-Webhook-Id"] for r in received}) == 6
    recorded = sandbox.wait_for_deliveries(6, subscription_id=sub["id"])
    assert [d["status"] for d in recorded] == ["delivered"] * 6
    assert recorded[0]["body"].encode() == received[0]["raw"]
    assert recorded[0]["headers"]["X-Webhook-Id"] == received[0]["headers"]["X-Webhook-Id"]
    assert recorded[0]["response_code"] == 202


@pytest.mark.parametrize(
    ("filter_", "events", "expected"),
    [
        ({"type": "service_reference", "name": "Checkout API 001"}, None, 2),
        ({"type": "service_reference", "name": "Edge Gateway"}, None, 0),
        ({"type": "team_reference", "name": "Payments"}, None, 2),
        ({"type": "team_reference", "name": "Platform"}, None, 0),
        ({"type": "account_reference"}, ["incident.resolved"], 1),
    ],
)
def test_filters_and_event_types_are_respected(
    sandbox,
    rest_us,
    contract,
    receiver,
    events_post,
    trigger,
    us_key,
    accounts,
    filter_,
    events,
    expected,
) -> None:
    if filter_["type"] == "service_reference":
        ids = {s["name"]: s["id"] for s in accounts["us"]["services"]}
    else:
        ids = {t["name"]: t["id"] for t in accounts["us"]["teams"]}
    spec: dict[str, Any] = {"filter": {"type": filter_["type"]}}
    if "name" in filter_:
        spec["filter"]["id"] = ids[filter_["name"]]
    if events:
        spec["events"] = events
    sub = subscribe(rest_us, contract, receiver.url, **spec)
    fire(events_post, trigger, us_key, "filtered")  # Checkout API 001, team Payments
    events_post({"routing_key": us_key, "event_action": "resolve", "dedup_key": "filtered"})
    # Deliveries are recorded before the Events API answers; then wait for them to finish.
    recorded = sandbox.wait_for_deliveries(expected, subscription_id=sub["id"])
    assert len(recorded) == expected
    mine = [
        r for r in receiver.wait(expected) if r["headers"]["X-Webhook-Subscription"] == sub["id"]
    ]
    about = [json.loads(r["raw"])["event"]["data"]["incident_key"] for r in mine]
    assert about.count("filtered") == expected


def test_nothing_reaches_another_accounts_subscriptions(
    sandbox, rest_us, rest_eu, contract, receiver, events_post, trigger, us_key, eu_key
) -> None:
    eu_sub = subscribe(rest_eu, contract, receiver.url + "?eu")
    us_sub = subscribe(rest_us, contract, receiver.url + "?us")
    fire(events_post, trigger, us_key, "us-only")
    sandbox.wait_for_deliveries(1, subscription_id=us_sub["id"])
    fire(events_post, trigger, eu_key, "eu-only", region="eu")
    received = receiver.wait(2)
    by_sub = {r["headers"]["X-Webhook-Subscription"]: json.loads(r["raw"]) for r in received}
    assert by_sub[us_sub["id"]]["event"]["data"]["incident_key"] == "us-only"
    assert by_sub[eu_sub["id"]]["event"]["data"]["incident_key"] == "eu-only"
    assert by_sub[eu_sub["id"]]["event"]["data"]["self"].startswith("https://api.eu.pagerduty.com/")
    assert len(sandbox.webhook_deliveries()) == 2


def test_secret_rotation_signs_with_both_secrets(
    sandbox, rest_us, contract, receiver, events_post, trigger, us_key
) -> None:
    sub = subscribe(rest_us, contract, receiver.url)
    old = sub["delivery_method"]["secret"]
    rotated = sandbox.rotate_webhook_secret(sub["id"])
    new = rotated["secrets"][0]
    assert rotated["secrets"] == [new, old] and new != old
    fire(events_post, trigger, us_key, "rotate-1")
    (first,) = receiver.wait(1)
    assert len(first["headers"]["X-PagerDuty-Signature"].split(",")) == 2
    assert signed_by(first, old) and signed_by(first, new)
    sandbox.drop_old_webhook_secrets(sub["id"])
    fire(events_post, trigger, us_key, "rotate-2")
    second = receiver.wait(2)[1]
    assert second["headers"]["X-PagerDuty-Signature"].count("v1=") == 1
    assert signed_by(second, new) and not signed_by(second, old)


def test_failures_are_retried_with_the_same_webhook_id_and_later_events_wait(
    sandbox, rest_us, contract, receiver, events_post, trigger, us_key
) -> None:
    sandbox.configure(**FAST_RETRIES)
    receiver.replies = [500, 429]
    sub = subscribe(rest_us, contract, receiver.url)
    fire(events_post, trigger, us_key, "retry")
    events_post({"routing_key": us_key, "event_action": "acknowledge", "dedup_key": "retry"})
    received = receiver.wait(4)
    types = [json.loads(r["raw"])["event"]["event_type"] for r in received]
    assert types == ["incident.triggered"] * 3 + ["incident.acknowledged"]
    assert len({r["headers"]["X-Webhook-Id"] for r in received[:3]}) == 1
    first, second = sandbox.wait_for_deliveries(2, subscription_id=sub["id"])
    assert (first["status"], first["attempt_count"]) == ("delivered", 3)
    assert [a["status_code"] for a in first["attempts"]] == [500, 429, 202]
    assert (second["status"], second["attempt_count"]) == ("delivered", 1)


def test_timeouts_are_retried(
    sandbox, rest_us, contract, receiver, events_post, trigger, us_key
) -> None:
    sandbox.configure(webhook_timeout=0.3, **FAST_RETRIES)
    receiver.replies, receiver.hang_seconds = ["hang"], 1.0
    subscribe(rest_us, contract, receiver.url)
    started = time.monotonic()
    fire(events_post, trigger, us_key, "slow")
    assert time.monotonic() - started < 0.3  # the trigger never waits for the webhook
    (delivery,) = sandbox.wait_for_deliveries(1)
    assert delivery["status"] == "delivered"
    assert delivery["attempts"][0]["status_code"] is None
    assert "Timeout" in delivery["attempts"][0]["error"]


def test_retries_stop_and_three_failures_disable_the_subscription(
    sandbox, rest_us, contract, receiver, events_post, trigger, us_key
) -> None:
    sandbox.configure(webhook_retry_window=0.4, **FAST_RETRIES)
    receiver.replies = [503] * 100
    sub = subscribe(rest_us, contract, receiver.url)
    for n in range(3):
        fire(events_post, trigger, us_key, f"fail-{n}")
        (failed,) = sandbox.wait_for_deliveries(
            1, incident_id=sandbox.incidents(incident_key=f"fail-{n}")[0]["id"]
        )
        assert failed["status"] == "failed" and failed["reason"] == "retries exhausted"
        assert 2 <= failed["attempt_count"] <= 6
    attempts = len(receiver.received)
    time.sleep(0.5)
    assert len(receiver.received) == attempts  # no more retries
    state = contract.rest(rest_us.get(f"/webhook_subscriptions/{sub['id']}"))[
        "webhook_subscription"
    ]
    assert state["active"] is False and state["delivery_method"]["temporarily_disabled"] is True
    fire(events_post, trigger, us_key, "while-disabled")
    incident_id = sandbox.incidents(incident_key="while-disabled")[0]["id"]
    (dropped,) = sandbox.webhook_deliveries(incident_id=incident_id)
    assert (dropped["status"], dropped["attempt_count"]) == ("dropped", 0)
    assert len(receiver.received) == attempts
    enabled = contract.rest(rest_us.post(f"/webhook_subscriptions/{sub['id']}/enable"))
    assert enabled["webhook_subscription"]["active"] is True
    assert enabled["webhook_subscription"]["delivery_method"]["temporarily_disabled"] is False
    receiver.replies = []
    fire(events_post, trigger, us_key, "after-enable")
    incident_id = sandbox.incidents(incident_key="after-enable")[0]["id"]
    assert sandbox.wait_for_deliveries(1, incident_id=incident_id)[0]["status"] == "delivered"


def test_a_4xx_is_not_retried(
    sandbox, rest_us, contract, receiver, events_post, trigger, us_key
) -> None:
    sandbox.configure(**FAST_RETRIES)
    receiver.replies = [410]
    subscribe(rest_us, contract, receiver.url)
    fire(events_post, trigger, us_key, "gone")
    (delivery,) = sandbox.wait_for_deliveries(1)
    assert (delivery["status"], delivery["reason"], delivery["attempt_count"]) == (
        "failed",
        "permanent error",
        1,
    )


def test_control_api_disables_like_pagerduty(
    sandbox, rest_us, contract, receiver, events_post, trigger, us_key
) -> None:
    sub = subscribe(rest_us, contract, receiver.url)
    sandbox.disable_webhook_subscription(sub["id"])
    state = contract.rest(rest_us.get(f"/webhook_subscriptions/{sub['id']}"))[
        "webhook_subscription"
    ]
    assert state["active"] is False and state["delivery_method"]["temporarily_disabled"] is True
    fire(events_post, trigger, us_key, "off")
    assert [d["status"] for d in sandbox.webhook_deliveries()] == ["dropped"]


def test_redelivery_repeats_the_webhook_id_and_body(
    sandbox, rest_us, contract, receiver, events_post, trigger, us_key
) -> None:
    subscribe(rest_us, contract, receiver.url)
    fire(events_post, trigger, us_key, "again")
    (original,) = sandbox.wait_for_deliveries(1)
    again = sandbox.redeliver(original["id"])
    assert again["redelivery_of"] == original["id"] and again["status"] == "delivered"
    first, second = receiver.wait(2)
    assert first["headers"]["X-Webhook-Id"] == second["headers"]["X-Webhook-Id"]
    assert first["raw"] == second["raw"]
    assert len(sandbox.webhook_deliveries(webhook_id=original["webhook_id"])) == 2
    sandbox.reset()
    assert sandbox.webhook_deliveries() == []


def test_update_enable_and_ping(sandbox, rest_us, contract, receiver) -> None:
    sub = subscribe(rest_us, contract, receiver.url)
    path = f"/webhook_subscriptions/{sub['id']}"
    change = {"webhook_subscription": {"events": ["incident.resolved"], "active": False}}
    updated = contract.rest(rest_us.put(path, json=change))["webhook_subscription"]
    assert updated["events"] == ["incident.resolved"] and updated["active"] is False
    assert updated["delivery_method"]["secret"] is None
    moving = {
        "webhook_subscription": {
            "delivery_method": {"type": "http_delivery_method", "url": "https://x.example"}
        }
    }
    contract.rest_error(rest_us.put(path, json=moving), 400, 2001)
    bad = {"webhook_subscription": {"events": ["incident.exploded"]}}
    contract.rest_error(rest_us.put(path, json=bad), 400, 2001)
    contract.rest(rest_us.post(f"{path}/enable"))
    ping = rest_us.post(f"{path}/ping")
    assert ping.status_code == 202
    contract.rest(ping)
    (request,) = receiver.wait(1)
    assert json.loads(request["raw"])["event"]["event_type"] == "pagey.ping"
    assert signed_by(request, sub["delivery_method"]["secret"])


def test_subscription_changes_need_the_webhook_scope(
    sandbox, rest_us, rest_factory, contract, receiver
) -> None:
    sub = subscribe(rest_us, contract, receiver.url)
    token = sandbox.issue_token("oncall@acme.example", "webhook_subscriptions.read")["access_token"]
    reader = rest_factory("us", f"Bearer {token}")
    assert reader.get(f"/webhook_subscriptions/{sub['id']}").status_code == 200
    contract.rest_error(reader.post(f"/webhook_subscriptions/{sub['id']}/enable"), 403, 2010)
    contract.rest_error(reader.post(f"/webhook_subscriptions/{sub['id']}/ping"), 403, 2010)


def test_the_inbox_buttons_send_webhooks_as_the_chosen_user(
    sandbox, rest_us, contract, receiver, events_post, trigger, us_key, accounts
) -> None:
    subscribe(rest_us, contract, receiver.url)
    fire(events_post, trigger, us_key, "inbox")
    (incident,) = sandbox.incidents(incident_key="inbox")
    sam = next(u["id"] for u in accounts["us"]["users"] if u["email"] == SAM_EMAIL)
    http = requests.Session()
    token = form_field(http.get(incident["html_url"], timeout=10).text, "csrf_token")
    form = {"csrf_token": token, "user_id": sam}
    http.post(f"{incident['html_url']}/acknowledge", data=form, timeout=10)
    http.post(f"{incident['html_url']}/note", data={**form, "content": "Checking db-1"}, timeout=10)
    events = [contract.webhook(r["raw"])["event"] for r in receiver.wait(3)]
    assert [e["event_type"] for e in events] == [
        "incident.triggered",
        "incident.acknowledged",
        "incident.annotated",
    ]
    for event in events[1:]:
        assert event["agent"]["id"] == sam and event["client"] == {"name": "PagerDuty"}
    assert events[2]["data"]["content"] == "Checking db-1"
