"""Refusals that say what is wrong: a body nested too deep, a setting that does nothing for
the alert, a name taken (by the alert that has it), a null where a value must be, an
activity filter that can match nothing; and the document's text limits, which the
refusals follow."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts_saas.alerts.forms import AlertForm, DetailForm
from alerts_saas.alerts.models import Alert
from integrations.pagerduty.models import PagerDutyService
from tests.api.conftest import alert_body
from tests.api_client import Api

pytestmark = pytest.mark.django_db


def test_a_body_nested_too_deep_is_told_so_with_the_limit(
    api: Api, service: PagerDutyService
) -> None:
    body = b"[" * 5000 + b"]" * 5000
    said = api.post("/alerts", body, status=400).json()["message"]
    assert said.startswith("The body nests objects or arrays more than 32 levels deep")
    assert "not JSON we can read" not in said
    # Brackets inside text are text: a name may have any number of them.
    api.post("/alerts", alert_body(service, name="[{" * 50), status=201)


def test_resolve_quiet_values_on_an_alert_it_does_nothing_for_is_a_400(
    api: Api, service: PagerDutyService
) -> None:
    body = alert_body(service, resolve_quiet_values=True)
    refused = api.post("/alerts", body, status=400).json()
    [problem] = refused["errors"]
    assert problem["field"] == "resolve_quiet_values"
    assert problem["message"].startswith("applies only to an absence alert")
    assert not Alert.objects.exists()

    grouped = alert_body(
        service,
        group_by="source",
        resolve_quiet_values=True,
        condition={"kind": "absence", "threshold": 1, "window_minutes": 10},
    )
    alert_id = api.post("/alerts", grouped, status=201).json()["id"]
    assert Alert.objects.get().resolve_quiet_values is True
    # Turned presence without a word about it: the setting goes, as on the page.
    change = {"condition": {"kind": "presence"}}
    patched = api.patch(f"/alerts/{alert_id}", change, status=200).json()
    assert patched["resolve_quiet_values"] is False
    again = {"resolve_quiet_values": True}
    answer = api.patch(f"/alerts/{alert_id}", again, status=400).json()
    assert answer["errors"][0]["field"] == "resolve_quiet_values"


def test_a_taken_name_is_said_as_the_alert_that_has_it(api: Api, service: PagerDutyService) -> None:
    api.post("/alerts", alert_body(service, name="Checkout Errors"), status=201)
    refused = api.post("/alerts", alert_body(service, name="checkout ERRORS"), status=400).json()
    assert refused["errors"] == [
        {"field": "name", "message": "An alert named “Checkout Errors” already exists."}
    ]


def test_a_null_name_in_a_patch_is_a_type_error_like_the_others(
    api: Api, service: PagerDutyService
) -> None:
    alert_id = api.post("/alerts", alert_body(service), status=201).json()["id"]
    nameless = api.patch(f"/alerts/{alert_id}", {"name": None}, status=400).json()
    assert nameless["errors"] == [{"field": "name", "message": "can't be null"}]
    assert nameless["message"].startswith("The request was not understood, and nothing was done.")
    assert "Leave a field out to keep it as it is." in nameless["message"]
    posted = api.post("/alerts", alert_body(service, name=None), status=400).json()
    assert posted["errors"] == [{"field": "name", "message": "can't be null"}]


@pytest.mark.parametrize(
    "query,field,words",
    [
        ({"kind": "bogus"}, "kind", "is one of "),
        ({"action": "bogus"}, "action", "is one of created, changed"),
        (
            {"since": "2026-11-30", "until": "2026-11-01"},
            "since",
            "(2026-11-30) is after until (2026-11-01)",
        ),
    ],
)
def test_an_activity_filter_that_can_match_nothing_is_a_400(
    reader: Api, query, field, words
) -> None:
    refused = reader.get("/activity", query=query, status=400).json()
    [problem] = refused["errors"]
    assert problem["field"] == field and problem["message"].startswith(words)
    if field == "kind":
        assert "alert" in problem["message"].removeprefix("is one of ").split(", ")
    reader.get("/activity", query={"kind": "alert", "action": "changed"}, status=200)
    reader.get("/activity", query={"since": "2026-11-30", "until": "2026-11-30"}, status=200)


def _schema(name: str) -> dict:
    return Client().get("/api/v1/openapi.json").json()["components"]["schemas"][name]


def test_the_document_gives_each_fields_own_limit_and_a_longer_one_is_refused(
    api: Api, service: PagerDutyService
) -> None:
    alert_in, match = _schema("AlertIn"), _schema("Match")
    name_limit = AlertForm.base_fields["name"].max_length
    assert alert_in["properties"]["name"]["maxLength"] == name_limit == 200
    assert match["properties"]["app"]["maxLength"] == 200
    assert match["properties"]["source"]["maxLength"] == 255
    details = _schema("PagerDutyEvent")["properties"]["custom_details"]
    assert details["propertyNames"]["maxLength"] == DetailForm.base_fields["key"].max_length
    assert "1000000" not in str(alert_in) + str(match)

    api.post("/alerts", alert_body(service, name="n" * name_limit), status=201)
    refused = api.post("/alerts", alert_body(service, name="m" * (name_limit + 1)), status=400)
    assert refused.json()["errors"][0]["field"] == "name"
