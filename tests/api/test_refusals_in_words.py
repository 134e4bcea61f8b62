"""Input the management API can't take is refused in words, naming what is wrong (never a
500), and what changes nothing saves nothing (review r5). Every answer is checked against
the served OpenAPI document, so each refusal's status is one the document lists."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from alerts_saas.alerts.models import Alert, MuteWindow
from alerts_saas.audit.models import Entry
from tests.api.conftest import alert_body

pytestmark = pytest.mark.django_db


def _refused(answer, field: str) -> dict:
    body = answer.json()
    assert body["message"].startswith("The request was not understood, and nothing was done.")
    assert field in [error["field"] for error in body["errors"]], body
    return body


def _alert(service) -> Alert:
    return Alert.objects.create(
        organization=service.organization, name="A", threshold=1, window_minutes=5
    )


@pytest.mark.parametrize(
    "path,field",
    [("/alerts", "search"), ("/activity", "kind"), ("/activity", "action")],
)
def test_a_nul_in_a_query_filter_is_400_naming_it(api, path, field):
    answer = api.get(path, query={field: "web\x00"}, status=400)
    said = _refused(answer, field)["errors"][0]["message"]
    assert said.startswith("can't contain a NUL character (\\u0000)")


def test_activity_by_someone_unknown_is_400_not_everything(api, service):
    for who in ("usr:1", "user:abc", "user:\u00b2", "token:", "systems"):
        said = _refused(api.get("/activity", query={"who": who}, status=400), "who")
        assert (
            'send "user:<id>" (a person), "token:<id>" (an API token) or "system"'
            in (said["message"])
        )
    # Those it knows still filter.
    api.post("/alerts", alert_body(service), status=201)
    [token] = {e.actor_token_id for e in Entry.objects.filter(actor_token_id__isnull=False)}
    by_token = Entry.objects.filter(actor_token_id=token).count()
    assert by_token >= 1 and Entry.objects.count() > by_token
    mine = api.get("/activity", query={"who": f"token:{token}"}, status=200).json()
    assert mine["count"] == by_token
    system = api.get("/activity", query={"who": "system"}, status=200).json()
    assert system["count"] == Entry.objects.filter(actor_kind="system").count()


def test_a_body_over_the_limit_is_413_naming_it(api, service, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
    big = alert_body(service, description="x" * 3_000_000)
    answer = api.post("/alerts", big, status=413)
    assert answer.json()["message"] == (
        "The body is larger than the 2.5 MiB (2,621,440 bytes) this API takes, and nothing "
        "was done. Send less (an alert's description, for instance, is far shorter)."
    )
    assert not Alert.objects.exists()


def test_the_document_lists_413_for_bodies_and_400_for_path_ids():
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    with_body = [
        ("post", "/api/v1/alerts"),
        ("put", "/api/v1/alerts/{alert_id}"),
        ("patch", "/api/v1/alerts/{alert_id}"),
        ("post", "/api/v1/ingest-keys"),
        ("post", "/api/v1/mute-windows"),
        ("post", "/api/v1/alerts/{alert_id}/stop-watching"),
    ]
    for method, path in with_body:
        assert "413" in paths[path][method]["responses"], (method, path)
    with_id = [
        ("get", "/api/v1/alerts/{alert_id}"),
        ("get", "/api/v1/services/{service_id}"),
        ("get", "/api/v1/firings/{firing_id}"),
        ("get", "/api/v1/deliveries/{delivery_id}"),
        ("get", "/api/v1/mute-windows/{mute_window_id}"),
        ("delete", "/api/v1/mute-windows/{mute_window_id}"),
        ("post", "/api/v1/ingest-keys/{ingest_key_id}/revoke"),
        ("post", "/api/v1/firings/{firing_id}/resolve"),
    ]
    for method, path in with_id:
        assert "400" in paths[path][method]["responses"], (method, path)
    assert "413" not in paths["/api/v1/alerts"]["get"]["responses"]


@pytest.mark.parametrize(
    "method,path,field",
    [
        ("GET", "/alerts/web", "alert_id"),
        ("GET", "/services/web", "service_id"),
        ("GET", "/firings/web", "firing_id"),
        ("GET", "/deliveries/web", "delivery_id"),
        ("GET", "/mute-windows/web", "mute_window_id"),
        ("DELETE", "/mute-windows/web", "mute_window_id"),
        ("POST", "/ingest-keys/web/revoke", "ingest_key_id"),
        ("POST", "/firings/web/resolve", "firing_id"),
    ],
)
def test_a_path_id_that_is_not_a_number_is_a_documented_400(api, method, path, field):
    _refused(api.call(method, path, status=400), field)


def test_a_chunked_body_is_told_to_send_a_content_length(api):
    answer = api.post("/ingest-keys", b"", status=400, Transfer_Encoding="chunked")
    assert answer.json()["errors"] == [
        {
            "field": "body",
            "message": "is required: send the body with a Content-Length (chunked bodies are "
            "taken only by /events and /changes)",
        }
    ]


def test_a_mute_until_with_an_offset_postgresql_cant_hold_is_kept_in_utc(api, service):
    alert = _alert(service)
    at = (datetime.now(UTC) + timedelta(hours=30)).replace(microsecond=0)
    local = (at - timedelta(hours=23, minutes=59)).replace(tzinfo=None).isoformat()
    answer = api.post(
        "/mute-windows", {"alert_id": alert.pk, "until": f"{local}-23:59"}, status=201
    )
    assert MuteWindow.objects.get(pk=answer.json()["id"]).ends_at == at
    # Moved to UTC, a time at the calendar's ends would leave it: 400, not an overflow.
    for until in ("9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00"):
        answer = api.post("/mute-windows", {"alert_id": alert.pk, "until": until}, status=400)
        assert answer.json()["errors"][0]["field"] == "until"
    assert MuteWindow.objects.count() == 1


def test_a_weekly_mute_naming_a_day_twice_keeps_it_once(api, service):
    alert = _alert(service)
    weekly = {"days": ["mon", "sun", "mon"], "start": "02:00", "end": "04:00"}
    answer = api.post("/mute-windows", {"alert_id": alert.pk, "weekly": weekly}, status=201)
    assert answer.json()["weekly"]["days"] == ["mon", "sun"]
    assert answer.json()["weekly"]["words"].count("Mon") == 1


@pytest.mark.parametrize("subject", ["alert_id", "service_id"])
def test_a_mute_of_true_is_not_the_first_alert_or_service(api, service, subject):
    _alert(service)
    _refused(api.post("/mute-windows", {subject: True, "minutes": 30}, status=400), subject)
    assert not MuteWindow.objects.exists()


def test_a_change_that_changes_nothing_keeps_the_version(api, service, other_service):
    created = api.post("/alerts", alert_body(service), status=201)
    alert_id, version = created.json()["id"], created["ETag"]
    saved_at = Alert.objects.get().updated_at

    assert api.patch(f"/alerts/{alert_id}", {}, If_Match=version, status=200)["ETag"] == version
    same = alert_body(service, targets=[service.pk, service.pk])
    assert api.put(f"/alerts/{alert_id}", same, If_Match=version, status=200)["ETag"] == version
    unchanged = {"condition": {"threshold": 5}, "pagerduty": {"custom_details": {}}}
    unchanged["pagerduty"]["custom_details"] = {"runbook": "https://wiki.example/checkout"}
    assert api.patch(f"/alerts/{alert_id}", unchanged, status=200)["ETag"] == version
    assert Alert.objects.get().updated_at == saved_at

    # The version read first still goes through for a real change.
    moved = {"targets": [other_service.pk]}
    changed = api.patch(f"/alerts/{alert_id}", moved, If_Match=version, status=200)
    assert changed["ETag"] != version and changed.json()["targets"] == [other_service.pk]


def _json(body: dict) -> bytes:
    """The body as JSON with \\u escapes: a lone surrogate is sent as a client sends it."""
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    "change,field",
    [
        ({"name": "web\ud800"}, "name"),
        ({"match": {"app": "\udc00"}}, "match.app"),
        ({"pagerduty": {"custom_details": {"k\udc00": "v"}}}, "pagerduty.custom_details"),
        ({"pagerduty": {"custom_details": {"k": "v\ud800"}}}, "pagerduty.custom_details.k"),
    ],
)
def test_a_lone_surrogate_in_an_alert_is_400_naming_its_field(api, service, change, field):
    created = api.post("/alerts", alert_body(service), status=201)
    alert_id, version = created.json()["id"], created["ETag"]
    whole = alert_body(service, **change)
    for method, path, body in (
        ("POST", "/alerts", whole),
        ("PUT", f"/alerts/{alert_id}", whole),
        ("PATCH", f"/alerts/{alert_id}", change),
    ):
        said = _refused(api.call(method, path, _json(body), status=400), field)
        assert "is not valid Unicode text" in said["message"]
    assert api.get(f"/alerts/{alert_id}", status=200)["ETag"] == version
    assert Alert.objects.count() == 1


def test_a_lone_surrogate_in_a_key_name_or_a_mute_reason_is_400_naming_it(api, service):
    _refused(api.post("/ingest-keys", _json({"name": "ci\ud800"}), status=400), "name")
    mute = {"alert_id": _alert(service).pk, "minutes": 30, "reason": "\udc00"}
    _refused(api.post("/mute-windows", _json(mute), status=400), "reason")
    assert not MuteWindow.objects.exists()


def test_a_nul_in_the_firings_group_filter_is_400_naming_it(api):
    _refused(api.get("/firings", query={"group": "web\x00"}, status=400), "group")


def test_a_page_past_any_list_is_400_naming_page(api):
    lists = ("/alerts", "/ingest-keys", "/mute-windows", "/services", "/activity")
    for path in (*lists, "/firings", "/deliveries"):
        answer = api.get(path, query={"page": "99999999999999999999"}, status=400)
        assert answer.json()["errors"][0]["field"] == "page", path


def test_a_page_past_the_last_bound_says_how_far_it_goes(api):
    said = _refused(api.get("/alerts", query={"page": "1000001"}, status=400), "page")
    assert said["errors"] == [{"field": "page", "message": "is at most 1000000"}]
    assert api.get("/alerts", query={"page": "1000000"}, status=200).json()["items"] == []


@pytest.mark.parametrize(
    "change,field",
    [
        ({"condition": {"threshold": True, "window_minutes": 5}}, "condition.threshold"),
        ({"condition": {"threshold": "5", "window_minutes": 5}}, "condition.threshold"),
        ({"enabled": "yes"}, "enabled"),
        ({"auto_resolve": 0}, "auto_resolve"),
        ({"targets": [True]}, "targets.0"),
        ({"targets": ["1"]}, "targets.0"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_not_coerced(api, service, change, field):
    _refused(api.post("/alerts", alert_body(service, **change), status=400), field)
    created = api.post("/alerts", alert_body(service), status=201).json()
    patch = change if "condition" not in change else {"condition": {"threshold": True}}
    _refused(api.patch(f"/alerts/{created['id']}", patch, status=400), field)
    assert api.get(f"/alerts/{created['id']}", status=200).json()["condition"]["threshold"] == 5
