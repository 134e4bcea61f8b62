"""The alert page's Resolve and Stop watching through the management API: the same resolves
queued, the same audit entry (the token's), refusals in words; every answer checked against
the served OpenAPI document (`tests.api_client.Api`)."""

from __future__ import annotations

import time

import pytest
import redis
from django.test import Client

from alerts_saas.alerts import evaluation
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.counting import CounterSet, counts
from alerts_saas.alerts.models import Alert, ConditionKind, Firing
from alerts_saas.audit.models import ActorKind, Entry
from alerts_saas.audit.words import describe
from alerts_saas.ingest.models import Scope
from integrations.pagerduty.models import Delivery, EventAction, Reason
from tests.alerts.conftest import resolves_of
from tests.alerts.test_alert_page import _alert, _events
from tests.alerts.test_stop_watching import _per_host, _quiet

pytestmark = pytest.mark.django_db


def _waiting(org, *services) -> tuple[Alert, Firing]:
    """An alert that resolves by hand, firing, its condition cleared: what a person resolves."""
    alert = _alert(org, None, window_minutes=1, auto_resolve=False)
    alert.targets.add(*services)
    started = time.time()
    [firing] = _events(org, 3)
    evaluation.evaluate(now=started + 90)
    firing.refresh_from_db()
    assert firing.is_open and firing.condition_cleared_at is not None
    return alert, firing


def _latest_entry(org) -> Entry:
    return Entry.objects.filter(organization=org, object_type="alert").latest("pk")


# --- POST /firings/{firing_id}/resolve ------------------------------------------------------


def test_resolving_a_firing_sends_its_resolves_as_the_page_does(
    api, org, service, other_service
) -> None:
    alert, firing = _waiting(org, service, other_service)

    answer = api.post(f"/firings/{firing.pk}/resolve", status=200).json()
    assert answer == api.get(f"/firings/{firing.pk}", status=200).json()
    assert (answer["id"], answer["alert_id"], answer["is_open"]) == (firing.pk, alert.pk, False)
    assert answer["clear_reason"] == "resolved" and answer["cleared_at"] is not None
    assert answer["cleared_by"] is None  # a token is no person

    resolves = resolves_of(firing)  # one per trigger, under its dedup key
    assert len(resolves) == 2
    assert {(r.reason, r.created_by_id) for r in resolves} == {(Reason.BY_HAND, None)}
    # The deliveries name the token that asked (the trigger, nobody's).
    sent = api.get(f"/deliveries?firing_id={firing.pk}", status=200).json()["items"]
    assert sorted((d["event_action"], d["created_by_token"]) for d in sent) == [
        ("resolve", "tool write"),
        ("resolve", "tool write"),
        ("trigger", None),
        ("trigger", None),
    ]

    entry = _latest_entry(org)
    assert (entry.actor_kind, entry.actor_label) == (ActorKind.TOKEN, "API token “tool write”")
    assert str(describe(entry)) == (
        "API token “tool write” changed alert “Checkout errors”: firing open since "
        f"{firing.opened_at:%d %b %H:%M:%S} UTC → resolved by hand"
    )


def test_a_firing_already_cleared_is_409_and_sends_nothing_more(api, org, service) -> None:
    _, firing = _waiting(org, service)
    api.post(f"/firings/{firing.pk}/resolve", status=200)
    entries = Entry.objects.count()

    again = api.post(f"/firings/{firing.pk}/resolve", status=409).json()
    firing.refresh_from_db()
    assert again["message"] == (
        f"Firing {firing.pk} of “Checkout errors” was already resolved at "
        f"{firing.cleared_at:%Y-%m-%d %H:%M:%S} UTC (resolved in Tripwire): nothing was sent."
    )
    assert firing.deliveries.filter(event_action=EventAction.RESOLVE).count() == 1
    assert Entry.objects.count() == entries


def test_a_firing_its_condition_cleared_says_so(api, org, service) -> None:
    _alert(org, service, window_minutes=1)  # resolves by itself
    started = time.time()
    [firing] = _events(org, 3)
    evaluation.evaluate(now=started + 90)
    message = api.post(f"/firings/{firing.pk}/resolve", status=409).json()["message"]
    assert "was already resolved at" in message and "(condition cleared)" in message
    assert firing.deliveries.filter(event_action=EventAction.RESOLVE).count() == 1


def test_another_organizations_firing_or_an_unknown_one_is_404(
    api, make_api, make_org, org, service
) -> None:
    _, firing = _waiting(org, service)
    stranger = make_api(Scope.WRITE, organization=make_org("Globex"))
    refused = stranger.post(f"/firings/{firing.pk}/resolve", status=404).json()
    assert refused["message"] == f"There is no firing {firing.pk} in this organization."
    api.post("/firings/999999/resolve", status=404)
    firing.refresh_from_db()
    assert firing.is_open
    assert not Delivery.objects.filter(event_action=EventAction.RESOLVE).exists()


def test_a_read_token_cannot_resolve_nor_stop_watching(reader, org, service) -> None:
    _, firing = _waiting(org, service)
    message = reader.post(f"/firings/{firing.pk}/resolve", status=403).json()["message"]
    assert "can only read" in message
    per_host = _per_host(org, service)
    _quiet(org, per_host, "web-1")
    reader.post(f"/alerts/{per_host.pk}/stop-watching", {"value": "web-1"}, status=403)
    assert Firing.objects.filter(cleared_at__isnull=True).count() == 2
    assert not Delivery.objects.filter(event_action=EventAction.RESOLVE).exists()


# --- POST /alerts/{alert_id}/stop-watching -------------------------------------------------


def test_stop_watching_forgets_the_value_and_resolves_its_firing(api, org, service) -> None:
    alert = _per_host(org, service)
    start = _quiet(org, alert, "web-1", "web-2")

    answer = api.post(f"/alerts/{alert.pk}/stop-watching", {"value": "web-1"}, status=200).json()
    gone = Firing.objects.get(alert=alert, group="web-1")
    assert answer["message"] == (
        "web-1 is no longer watched by “Host went quiet”; its incident is being resolved in "
        "PagerDuty. It is watched again from its next matching event."
    )
    assert (answer["alert_id"], answer["value"]) == (alert.pk, "web-1")
    assert answer["resolved"] == api.get(f"/firings/{gone.pk}").json()
    assert answer["resolved"]["clear_reason"] == "resolved"
    [resolve] = resolves_of(gone)
    assert resolve.reason == Reason.BY_HAND
    assert Firing.objects.get(alert=alert, group="web-2").is_open
    counter = CounterSet.of(alert)
    assert [g.value for g in counts().groups([counter])[counter]] == ["web-2"]
    entry = _latest_entry(org)
    assert entry.actor_kind == ActorKind.TOKEN
    assert str(describe(entry)) == (
        "API token “tool write” changed alert “Host went quiet”: source web-1 watched → no "
        "longer watched"
    )
    # Not paged for again while it stays quiet.
    assert evaluation.evaluate(now=start + 600)["opened"] == 0

    # Stopped already: neither seen nor firing any more.
    refused = api.post(f"/alerts/{alert.pk}/stop-watching", {"value": "web-1"}, status=404)
    assert refused.json()["message"].startswith(
        "web-1 was not watched by “Host went quiet”: nothing changed."
    )


def test_a_value_seen_but_not_firing_is_forgotten_with_nothing_to_resolve(
    api, org, service
) -> None:
    alert = _per_host(org, service, kind=ConditionKind.PRESENCE)  # fires at 1 event...
    Alert.objects.filter(pk=alert.pk).update(threshold=50)  # ...not here
    now = time.time()
    evaluation.record(org.pk, [Event(timestamp=now, source="db-1")], now=now)
    answer = api.post(f"/alerts/{alert.pk}/stop-watching", {"value": "db-1"}, status=200).json()
    assert answer["resolved"] is None and "it had no open firing" in answer["message"]
    counter = CounterSet.of(alert)
    assert counts().groups([counter]).get(counter, []) == []


def test_an_alert_that_does_not_count_per_value_is_404(api, org, service) -> None:
    alert = _alert(org, service)
    refused = api.post(f"/alerts/{alert.pk}/stop-watching", {"value": "web-1"}, status=404)
    assert refused.json()["message"] == (
        "This alert (“Checkout errors”) does not count values separately: its `group_by` is "
        "null, so there is no value to stop watching."
    )


def test_another_organizations_alert_is_404_and_keeps_watching(
    make_api, make_org, org, service
) -> None:
    alert = _per_host(org, service)
    _quiet(org, alert, "web-1")
    stranger = make_api(Scope.WRITE, organization=make_org("Globex"))
    refused = stranger.post(f"/alerts/{alert.pk}/stop-watching", {"value": "web-1"}, status=404)
    assert refused.json()["message"] == f"There is no alert {alert.pk} in this organization."
    assert Firing.objects.get(alert=alert).is_open


def test_the_count_store_down_is_503_and_changes_nothing(api, org, service, monkeypatch) -> None:
    alert = _per_host(org, service)
    _quiet(org, alert, "web-1")

    def down(*args: object, **kwargs: object) -> None:
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(counts(), "forget", down)
    refused = api.post(f"/alerts/{alert.pk}/stop-watching", {"value": "web-1"}, status=503)
    assert refused["Retry-After"] == "60"
    assert refused.json()["message"] == (
        "web-1 is still watched: Tripwire could not reach its count store just now, so nothing "
        "changed. Try again in a minute."
    )
    assert Firing.objects.get(alert=alert).is_open  # the clear rolled back
    assert not Delivery.objects.filter(event_action=EventAction.RESOLVE).exists()


def test_the_body_is_checked_in_words(api, org, service) -> None:
    alert = _per_host(org, service)
    url = f"/alerts/{alert.pk}/stop-watching"
    missing = api.post(url, {}, status=400).json()
    assert missing["errors"] == [{"field": "value", "message": "is required"}]
    misspelt = api.post(url, {"value": "web-1", "host": "web-1"}, status=400).json()
    assert {"field": "host", "message": "is not a field we know (check its spelling)"} in (
        misspelt["errors"]
    )
    api.post(url, {"value": "x" * 256}, status=400)
    for path in (url, "/firings/1/resolve"):
        response = api.client.get(f"/api/v1{path}")  # not in the document: it takes POST
        assert response.status_code == 405 and response["Allow"] == "POST"
        assert response.json() == {"message": f"/api/v1{path} takes POST, not GET."}


def test_both_are_documented_with_their_refusals() -> None:
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    resolve = paths["/api/v1/firings/{firing_id}/resolve"]["post"]
    stop = paths["/api/v1/alerts/{alert_id}/stop-watching"]["post"]
    assert (resolve["tags"], resolve["summary"]) == (["History"], "Resolve Firing")
    assert (stop["tags"], stop["summary"]) == (["Alerts"], "Stop Watching Value")
    assert {"200", "401", "403", "404", "409", "429"} <= set(map(str, resolve["responses"]))
    assert {"200", "400", "403", "404", "503"} <= set(map(str, stop["responses"]))
    for operation in (resolve, stop):
        assert operation["security"] == [{"ApiTokenAuth": []}]
        assert "as the alert page's" in " ".join(operation["description"].split())
    assert stop["requestBody"]["required"] is True
