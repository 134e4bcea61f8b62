"""The server-rendered inbox, plus the alert-change seam used by the inbox buttons."""

from __future__ import annotations

import html
import re

import requests

from devtools.sandbox import SandboxConfig, create_app
from devtools.sandbox.context import EXTENSION_KEY
from devtools.sandbox.notify import AlertChange


def page(url: str, session: requests.Session | None = None) -> str:
    response = (session or requests).get(url, timeout=10)
    assert response.status_code == 200, response.text[:500]
    assert "text/html" in response.headers["Content-Type"]
    return html.unescape(response.text)


def test_home_lists_accounts_keys_and_client(sandbox, accounts) -> None:
    text = page(sandbox.url + "/")
    for region in ("us", "eu"):
        account = accounts[region]
        assert account["name"] in text
        assert account["api_key"] in text
        assert account["users"][0]["email"] in text
    assert "sandbox-client-id" in text
    assert f"{sandbox.url}/events/eu" in text


def test_services_are_paged_and_filterable(sandbox, accounts) -> None:
    base = f"{sandbox.url}/inbox/accounts/{accounts['us']['id']}"
    first = page(base)
    total = len(accounts["us"]["services"])
    assert f"{total} services" in first
    assert "page 1 of 6" in first
    assert first.count("/inbox/services/") == 25
    last = page(base + "?page=6")
    assert "Checkout API 130" not in first and "page 6 of 6" in last
    filtered = page(base + "?q=CHECKOUT+api+12")
    assert "10 services matching" in filtered
    assert "Checkout API 120" in filtered and "Checkout API 129" in filtered
    assert "Checkout API 130" not in filtered and "Edge Gateway" not in filtered


def test_inbox_shows_the_events_that_were_sent(sandbox, events_post, trigger, us_key) -> None:
    body = trigger(us_key, dedup_key="inbox-check")
    body["payload"]["summary"] = "Inbox <visible> summary 7f3a"
    body["payload"]["custom_details"] = {"marker": "zebra-42"}
    assert events_post(body).status_code == 202
    (alert,) = sandbox.alerts(dedup_key="inbox-check")
    text = page(f"{sandbox.url}/inbox/services/{alert['service_id']}")
    assert "Inbox <visible> summary 7f3a" in text
    assert "inbox-check" in text
    assert us_key in text  # the integration key is listed
    assert '"marker": "zebra-42"' in text  # raw JSON body
    assert "triggered" in text
    assert alert["events"][0]["received_at"] in text
    everything = page(f"{sandbox.url}/inbox/events")
    assert "Inbox <visible> summary 7f3a" in everything


def test_rejected_events_are_visible_too(sandbox, events_post, trigger, us_key) -> None:
    body = trigger(us_key)
    body["payload"]["severity"] = "apocalyptic"
    assert events_post(body).status_code == 400
    service_id = sandbox.events(routing_key=us_key)[0]["service_id"]
    text = page(f"{sandbox.url}/inbox/services/{service_id}")
    assert "apocalyptic" in text and "rejected" in text


def test_acknowledge_and_resolve_buttons(sandbox, events_post, trigger, us_key) -> None:
    events_post(trigger(us_key, dedup_key="button"))
    (alert,) = sandbox.alerts(dedup_key="button")
    http = requests.Session()
    detail = page(f"{sandbox.url}/inbox/services/{alert['service_id']}", http)
    token = re.search(r'name="csrf_token" value="([^"]+)"', detail).group(1)  # type: ignore[union-attr]
    base = f"{sandbox.url}/inbox/alerts/{alert['id']}"
    forged = http.post(f"{base}/acknowledge", data={"csrf_token": "nope"}, timeout=10)
    assert forged.status_code == 400
    acked = http.post(
        f"{base}/acknowledge", data={"csrf_token": token}, allow_redirects=False, timeout=10
    )
    assert acked.status_code == 303
    assert sandbox.alerts(dedup_key="button")[0]["status"] == "acknowledged"
    http.post(f"{base}/resolve", data={"csrf_token": token}, timeout=10)
    (alert,) = sandbox.alerts(dedup_key="button")
    assert alert["status"] == "resolved"
    assert [h["via"] for h in alert["history"]] == ["events", "inbox", "inbox"]
    # A resolved alert no longer takes events; a new trigger opens a new alert.
    events_post(trigger(us_key, dedup_key="button"))
    assert [a["status"] for a in sandbox.alerts(dedup_key="button")] == ["resolved", "triggered"]


def test_alert_changes_reach_observers(trigger) -> None:
    """In-process: the webhook seam hears events-driven and inbox-driven changes."""
    app = create_app(SandboxConfig())
    store = app.extensions[EXTENSION_KEY].store
    seen: list[AlertChange] = []

    class Recorder:
        def alert_changed(self, change: AlertChange) -> None:
            seen.append(change)

    store.add_observer(Recorder())
    client = app.test_client()
    service = store.account_services(next(iter(store.accounts)))[0]
    key = store.add_integration(service, "events_api_v2_inbound_integration", "T").integration_key
    assert client.post("/events/us/v2/enqueue", json=trigger(key, dedup_key="o")).status_code == 202
    alert_id = next(iter(store.alerts))
    client.get(f"/inbox/services/{service.id}")
    with client.session_transaction() as session:
        csrf = session["csrf_token"]
    client.post(f"/inbox/alerts/{alert_id}/acknowledge", data={"csrf_token": csrf})
    resolve = {"routing_key": key, "dedup_key": "o", "event_action": "resolve"}
    assert client.post("/events/us/v2/enqueue", json=resolve).status_code == 202
    assert [(c.previous_status, c.new_status, c.via) for c in seen] == [
        (None, "triggered", "events"),
        ("triggered", "acknowledged", "inbox"),
        ("acknowledged", "resolved", "events"),
    ]
    assert [c.webhook_event_type for c in seen] == [
        "incident.triggered",
        "incident.acknowledged",
        "incident.resolved",
    ]
    assert seen[1].agent_user_id is not None
