"""A service's incident urgency rule, as PagerDuty's settings make it: GET /services/<id>
serves it in the published shape (`IncidentUrgencyRule`, with `support_hours` for a rule by
support hours), and a new incident's urgency follows it and its alert's severity."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from devtools.sandbox.urgency import urgency_of

SEVERITY_BASED = {"type": "constant", "urgency": "severity_based"}
WEEKDAYS_9_TO_5 = {
    "type": "fixed_time_per_day",
    "time_zone": "America/Lima",
    "start_time": "09:00:00",
    "end_time": "17:00:00",
    "days_of_week": [1, 2, 3, 4, 5],
}
BY_HOURS = {
    "type": "use_support_hours",
    "during_support_hours": {"type": "constant", "urgency": "high"},
    "outside_support_hours": {"type": "constant", "urgency": "low"},
}


def _checkout(accounts: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in accounts["us"]["services"] if s["name"] == "Checkout API 001")


def _served(rest_us, contract, service_id: str) -> dict[str, Any]:
    return contract.rest(rest_us.get(f"/services/{service_id}"))["service"]


def test_the_rule_is_served_as_published(sandbox, rest_us, contract, accounts) -> None:
    service_id = _checkout(accounts)["id"]
    assert _served(rest_us, contract, service_id)["incident_urgency_rule"] == {
        "type": "constant",
        "urgency": "high",
    }  # PagerDuty's default

    sandbox.set_urgency_rule(service_id, SEVERITY_BASED)
    served = _served(rest_us, contract, service_id)
    assert served["incident_urgency_rule"] == SEVERITY_BASED and "support_hours" not in served

    sandbox.set_urgency_rule(service_id, BY_HOURS, WEEKDAYS_9_TO_5)
    served = _served(rest_us, contract, service_id)
    assert served["incident_urgency_rule"] == BY_HOURS
    assert served["support_hours"] == WEEKDAYS_9_TO_5


@pytest.mark.parametrize(
    ("rule", "hours"),
    [
        ({"type": "constant", "urgency": "medium"}, None),
        ({"type": "sometimes"}, None),
        (BY_HOURS, None),  # by support hours, but none
        ({**BY_HOURS, "during_support_hours": {"urgency": "high"}}, WEEKDAYS_9_TO_5),
    ],
)
def test_a_rule_pagerduty_would_refuse_is_refused(sandbox, accounts, rule, hours) -> None:
    with pytest.raises(RuntimeError, match=r"urgency_rule: {\"error\""):
        sandbox.set_urgency_rule(_checkout(accounts)["id"], rule, hours)


@pytest.mark.parametrize(
    ("rule", "severity", "urgency"),
    [
        ({"type": "constant", "urgency": "low"}, "critical", "low"),
        (SEVERITY_BASED, "critical", "high"),
        (SEVERITY_BASED, "error", "high"),
        (SEVERITY_BASED, "warning", "low"),
        (SEVERITY_BASED, "info", "low"),
    ],
)
def test_a_new_incident_gets_the_urgency_the_rule_gives_its_severity(
    sandbox, events_post, trigger, us_key, accounts, rule, severity, urgency
) -> None:
    sandbox.set_urgency_rule(_checkout(accounts)["id"], rule)
    body = trigger(us_key, dedup_key="disk-1")
    body["payload"]["severity"] = severity
    assert events_post(body).status_code == 202
    [incident] = sandbox.incidents(incident_key="disk-1")
    assert incident["urgency"] == urgency


def test_by_support_hours_the_time_in_the_services_zone_decides() -> None:
    wednesday_noon_lima = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)  # 12:00 in Lima
    wednesday_night_lima = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)  # 22:00 in Lima
    saturday_noon_lima = datetime(2026, 12, 5, 17, 0, tzinfo=UTC)
    assert urgency_of(BY_HOURS, WEEKDAYS_9_TO_5, "info", wednesday_noon_lima) == "high"
    assert urgency_of(BY_HOURS, WEEKDAYS_9_TO_5, "info", wednesday_night_lima) == "low"
    assert urgency_of(BY_HOURS, WEEKDAYS_9_TO_5, "info", saturday_noon_lima) == "low"
