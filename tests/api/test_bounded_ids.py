"""Ids beyond what a row can have (a bigint), wherever they come in: a query filter or a
body is refused in words (400, naming the field); a path is "no such" (404). They were
PostgreSQL's overflow, a 500."""

from __future__ import annotations

import json

import pytest

from alerts_saas.alerts.models import Alert
from integrations.pagerduty.models import PagerDutyService
from tests.api.conftest import alert_body
from tests.api_client import Api

pytestmark = pytest.mark.django_db

HUGE = 1180591620717411303424  # 2**70
WORDS = "is not an id Tripwire gives: ids are whole numbers from 1 to 9223372036854775807"


def _said(answer, field: str) -> None:
    found = answer.json()
    assert found["errors"] == [{"field": field, "message": WORDS}], found
    assert WORDS in found["message"]


@pytest.mark.parametrize(
    "path,field",
    [
        ("/firings", "alert_id"),
        ("/deliveries", "alert_id"),
        ("/deliveries", "firing_id"),
        ("/deliveries", "service_id"),
        ("/mute-windows", "alert_id"),
        ("/mute-windows", "service_id"),
    ],
)
@pytest.mark.parametrize("value", [HUGE, 2**63, 0])
def test_a_query_id_no_row_can_have_is_a_400_naming_it(api: Api, path, field, value) -> None:
    _said(api.get(path, query={field: str(value)}, status=400), field)


def test_the_largest_id_a_row_can_have_is_a_filter_like_any(api: Api) -> None:
    answer = api.get("/firings", query={"alert_id": str(2**63 - 1)}, status=200)
    assert answer.json()["items"] == []


def _raw(body: dict) -> bytes:
    return json.dumps(body).encode()  # orjson (the client's) stops at 64 bits


def test_a_new_alerts_target_beyond_any_id_is_a_400(api: Api, service: PagerDutyService) -> None:
    body = alert_body(service, targets=[2**70])
    _said(api.post("/alerts", _raw(body), status=400), "targets.0")
    assert not Alert.objects.exists()


def test_a_patch_of_targets_beyond_any_id_is_a_400(api: Api, service: PagerDutyService) -> None:
    alert_id = api.post("/alerts", alert_body(service), status=201).json()["id"]
    _said(api.patch(f"/alerts/{alert_id}", _raw({"targets": [2**63]}), status=400), "targets.0")
    put = alert_body(service, targets=[service.pk, HUGE])
    _said(api.put(f"/alerts/{alert_id}", _raw(put), status=400), "targets.1")
    assert list(Alert.objects.get().targets.all()) == [service]


def test_a_mute_of_an_alert_beyond_any_id_is_a_400(api: Api) -> None:
    body = {"alert_id": HUGE, "minutes": 60}
    _said(api.post("/mute-windows", _raw(body), status=400), "alert_id")


@pytest.mark.parametrize(
    "path", ["/alerts/{}", "/firings/{}", "/deliveries/{}", "/services/{}", "/mute-windows/{}"]
)
def test_a_path_id_beyond_any_row_is_no_such_row(api: Api, path: str) -> None:
    said = api.get(path.format(HUGE), status=404).json()["message"]
    assert said.startswith("There is no ") and str(HUGE) in said
