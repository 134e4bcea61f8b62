"""/api/v1/alerts: create, read, list, replace, update, delete, enable and disable, under
the alert form's rules; every answer checked against the served OpenAPI document."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts_saas.alerts.models import Alert, Level
from tests.api.conftest import alert_body

pytestmark = pytest.mark.django_db


def test_an_alert_is_created_read_and_listed_as_sent(api, service):
    created = api.post("/alerts", alert_body(service), status=201)
    alert = Alert.objects.get()
    assert created["Location"] == f"http://testserver/api/v1/alerts/{alert.pk}"
    shown = created.json()
    assert shown["id"] == alert.pk
    assert shown["condition"] == {"kind": "presence", "threshold": 5, "window_minutes": 10}
    assert shown["match"]["app"] == "checkout" and shown["match"]["level"] == "error"
    assert shown["pagerduty"]["custom_details"] == {"runbook": "https://wiki.example/checkout"}
    assert shown["targets"] == [service.pk]
    assert shown["state"]["code"] == "ok" and shown["health"]["code"] == "ok"
    assert shown["url"].endswith(f"/o/acme-ops/alerts/{alert.pk}/")
    # Saved as the form saves it.
    assert (alert.name, alert.severity, alert.threshold, alert.window_minutes) == (
        "Checkout errors",
        "critical",
        5,
        10,
    )
    assert alert.match_level == Level.ERROR and list(alert.targets.all()) == [service]

    read = api.get(f"/alerts/{alert.pk}", status=200)
    assert shown.pop("warnings") == []  # what saving said: its services work
    assert read.json() == shown
    assert read["ETag"] == shown["etag"]
    listed = api.get("/alerts", status=200).json()
    assert listed["count"] == 1 and listed["items"] == [shown]


def test_the_forms_rules_hold_with_the_apis_field_names(api, service, settings, make_org):
    settings.INGEST_EVENTS_PER_MINUTE = 100
    api.post("/alerts", alert_body(service), status=201)
    foreign = make_org("Other Org").pagerduty_services.create(
        name="Theirs", region="us", integration_key="c" * 32
    )
    body = alert_body(
        service,
        name="checkout ERRORS",
        condition={"threshold": 5000, "window_minutes": 2000},
        pagerduty={"summary": "{alert} on {hosts}"},
        targets=[foreign.pk],
    )
    refused = api.post("/alerts", body, status=400).json()
    fields = {problem["field"]: problem["message"] for problem in refused["errors"]}
    assert fields["name"] == "An alert named “Checkout errors” already exists."
    assert "between 1 minute and 24 hours" in fields["condition.window_minutes"]
    assert "Unknown placeholder {hosts}." in fields["pagerduty.summary"]
    assert "targets" in fields  # another organization's service is not a choice
    assert refused["message"].startswith("The alert was not saved.")

    no_targets = api.post("/alerts", alert_body(service, name="B", targets=[]), status=400)
    assert no_targets.json()["errors"] == [
        {"field": "targets", "message": "Choose at least one PagerDuty service to page."}
    ]
    too_many = alert_body(service, name="C", condition={"threshold": 1001, "window_minutes": 10})
    message = api.post("/alerts", too_many, status=400).json()["errors"][0]["message"]
    assert message.startswith("Use 1,000 or fewer: at most 1,000 events can arrive in 10 minutes")
    assert Alert.objects.count() == 1


def test_a_misspelt_field_or_a_wrong_type_is_400_in_words(api, service):
    body = alert_body(service, treshold=3)
    refused = api.post("/alerts", body, status=400).json()
    assert refused["errors"] == [
        {"field": "treshold", "message": "is not a field we know (check its spelling)"}
    ]
    bad_type = alert_body(service, condition={"threshold": "many", "window_minutes": 5})
    problem = api.post("/alerts", bad_type, status=400).json()["errors"][0]
    assert problem["field"] == "condition.threshold"
    assert api.post("/alerts", b"{not json", status=400).json()["message"]
    assert not Alert.objects.exists()


def test_put_replaces_and_patch_changes_only_what_it_names(api, service, other_service):
    alert_id = api.post("/alerts", alert_body(service), status=201).json()["id"]
    replaced = api.put(
        f"/alerts/{alert_id}",
        alert_body(
            other_service,
            name="Checkout errors (EU)",
            match={"app": "checkout", "attribute": "region", "attribute_equals": "eu-west-1"},
            pagerduty={"custom_details": {"team": "payments"}},
        ),
        status=200,
    ).json()
    assert replaced["name"] == "Checkout errors (EU)"
    assert replaced["match"]["level"] is None  # not sent: cleared, as PUT replaces
    assert replaced["pagerduty"]["custom_details"] == {"team": "payments"}
    assert replaced["pagerduty"]["summary"] == Alert._meta.get_field("summary_template").default
    assert replaced["targets"] == [other_service.pk]

    patched = api.patch(
        f"/alerts/{alert_id}",
        {"condition": {"threshold": 2}, "pagerduty": {"component": "api"}},
        status=200,
    ).json()
    assert patched["condition"] == {"kind": "presence", "threshold": 2, "window_minutes": 10}
    assert patched["pagerduty"]["component"] == "api"
    assert patched["pagerduty"]["custom_details"] == {"team": "payments"}  # kept
    assert patched["match"]["attribute"] == "region"
    refused = api.patch(f"/alerts/{alert_id}", {"match": {"attribute": ""}}, status=400).json()
    assert refused["errors"][0]["field"] == "match.attribute"
    nameless = api.patch(f"/alerts/{alert_id}", {"name": None}, status=400).json()
    assert nameless["errors"][0]["field"] == "name"
    alert = Alert.objects.get()
    assert alert.threshold == 2 and alert.match_attribute == "region"
    assert {d.key: d.value for d in alert.details.all()} == {"team": "payments"}


def test_editing_what_counts_restarts_counting_as_on_the_page(api, service):
    first = api.post("/alerts", alert_body(service), status=201).json()
    renamed = api.patch(f"/alerts/{first['id']}", {"name": "Renamed"}, status=200).json()
    assert renamed["counting_since"] == first["counting_since"]
    rewindowed = api.patch(
        f"/alerts/{first['id']}", {"condition": {"window_minutes": 15}}, status=200
    ).json()
    assert rewindowed["counting_since"] > first["counting_since"]
    assert rewindowed["state"]["code"] == "counting"


def test_disable_enable_and_delete(api, service):
    alert_id = api.post("/alerts", alert_body(service), status=201).json()["id"]
    off = api.post(f"/alerts/{alert_id}/disable", status=200).json()
    assert off["enabled"] is False and off["state"]["code"] == "disabled"
    assert off["health"]["code"] == "off"
    assert api.post(f"/alerts/{alert_id}/disable", status=200).json()["etag"] == off["etag"]
    on = api.post(f"/alerts/{alert_id}/enable", status=200).json()
    assert on["enabled"] is True and on["counting_since"] > off["counting_since"]
    assert api.delete(f"/alerts/{alert_id}", status=204).content == b""
    assert not Alert.objects.exists()
    missing = api.get(f"/alerts/{alert_id}", status=404).json()
    assert missing == {"message": f"There is no alert {alert_id} in this organization."}


def test_a_stale_version_is_412_and_changes_nothing(api, service):
    read = api.post("/alerts", alert_body(service), status=201)
    alert_id, version = read.json()["id"], read["ETag"]
    changed = api.patch(f"/alerts/{alert_id}", {"description": "Mine"}, If_Match=version)
    assert changed.status_code == 200
    assert changed["ETag"] != version

    for method, path, body in (
        ("PATCH", f"/alerts/{alert_id}", {"description": "Stale"}),
        ("PUT", f"/alerts/{alert_id}", alert_body(service, description="Stale")),
        ("DELETE", f"/alerts/{alert_id}", None),
        ("POST", f"/alerts/{alert_id}/disable", None),
    ):
        stale = api.call(method, path, body, status=412, If_Match=version).json()
        assert stale["message"].startswith("The alert “Checkout errors” changed since you read it")
        assert "read it again" in stale["message"]
    alert = Alert.objects.get()
    assert alert.description == "Mine" and alert.enabled
    # The current version, or "*", goes through; a list of versions with it too.
    api.patch(f"/alerts/{alert_id}", {"description": "B"}, If_Match=changed["ETag"], status=200)
    api.patch(f"/alerts/{alert_id}", {"description": "C"}, If_Match="*", status=200)
    current = api.get(f"/alerts/{alert_id}")["ETag"]
    api.delete(f"/alerts/{alert_id}", If_Match=f'"old", W/{current}', status=204)


def test_a_change_made_on_the_page_makes_the_apis_version_stale(
    api, service, other_service, admin_client, org
):
    read = api.post("/alerts", alert_body(service), status=201)
    alert = Alert.objects.get()
    admin_client.post(f"/o/{org.slug}/alerts/{alert.pk}/toggle/", {"enabled": "0"})
    api.patch(f"/alerts/{alert.pk}", {"description": "x"}, If_Match=read["ETag"], status=412)
    # A service-side change of targets too (no save of the alert itself).
    fresh = api.get(f"/alerts/{alert.pk}")["ETag"]
    other_service.alerts.add(alert)
    api.patch(f"/alerts/{alert.pk}", {"description": "x"}, If_Match=fresh, status=412)


def test_lists_are_paginated_and_filtered(api, service):
    for n in range(7):
        body = alert_body(service, name=f"Alert {n}", enabled=n % 2 == 0)
        api.post("/alerts", body, status=201)
    first = api.get("/alerts", query={"per_page": 3}, status=200).json()
    assert first["count"] == 7 and [a["name"] for a in first["items"]] == [
        "Alert 0",
        "Alert 1",
        "Alert 2",
    ]
    assert first["previous"] is None
    assert first["next"] == "http://testserver/api/v1/alerts?per_page=3&page=2"
    last = api.get("/alerts", query={"per_page": 3, "page": 3}, status=200).json()
    assert [a["name"] for a in last["items"]] == ["Alert 6"] and last["next"] is None
    past = api.get("/alerts", query={"per_page": 3, "page": 9}, status=200).json()
    assert past["items"] == [] and past["count"] == 7

    disabled = api.get("/alerts", query={"state": "disabled"}, status=200).json()
    assert [a["name"] for a in disabled["items"]] == ["Alert 1", "Alert 3", "Alert 5"]
    enabled = api.get("/alerts", query={"enabled": "true", "search": "alert 4"}).json()
    assert [a["name"] for a in enabled["items"]] == ["Alert 4"]
    assert api.get("/alerts", query={"state": "nobody"}).json()["count"] == 0
    refused = api.get("/alerts", query={"per_page": 500}, status=400).json()
    assert refused["errors"][0]["field"] == "per_page"
    assert api.get("/alerts", query={"state": "loud"}, status=400).json()["errors"]


def test_the_list_costs_the_same_queries_however_many_alerts(api, service, other_service):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            api.get("/alerts", status=200)
        return len(captured.captured_queries)

    api.post("/alerts", alert_body(service, name="One"), status=201)
    one = queries()
    for n in range(8):
        api.post("/alerts", alert_body(other_service, name=f"More {n}"), status=201)
    assert queries() == one <= 12


def test_a_method_a_path_does_not_take_is_405_in_words(api):
    for method, path, allowed in (
        ("PUT", "/alerts", "GET, HEAD, POST"),
        ("DELETE", "/services", "GET, HEAD"),
        ("GET", "/alerts/1/enable", "POST"),
    ):
        response = api.client.generic(method, f"/api/v1{path}")
        assert response.status_code == 405 and response["Allow"] == allowed
        assert response.json() == {"message": f"/api/v1{path} takes {allowed}, not {method}."}
