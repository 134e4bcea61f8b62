"""Services' incident urgency rules, as REST.openapi.json's `IncidentUrgencyRule` has them,
and the urgency a new incident gets from its service's rule and its alert's severity.

A rule is `{"type": "constant", "urgency": "high" | "low" | "severity_based"}`, or
`{"type": "use_support_hours", "during_support_hours": <constant>, "outside_support_hours":
<constant>}` with the service's `support_hours` (fixed times on some days, in a time zone).
Severity-based urgency is high for critical and error alerts, low for warning and info.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_RULE = {"type": "constant", "urgency": "high"}
URGENCIES = ("high", "low", "severity_based")
HIGH_SEVERITIES = ("critical", "error")


def rule_problem(rule: Any, support_hours: Any) -> str:
    """Why `rule` (and `support_hours`) is not one PagerDuty would keep; "" when it is."""
    if not isinstance(rule, dict):
        return "incident_urgency_rule must be an object"
    if rule.get("type") == "constant":
        return (
            ""
            if rule.get("urgency") in URGENCIES
            else "urgency must be high, low or severity_based"
        )
    if rule.get("type") != "use_support_hours":
        return "type must be constant or use_support_hours"
    for half in ("during_support_hours", "outside_support_hours"):
        part = rule.get(half)
        if not isinstance(part, dict) or part.get("type") != "constant":
            return f"{half} must be a constant rule"
        if part.get("urgency") not in URGENCIES:
            return f"{half}.urgency must be high, low or severity_based"
    return _hours_problem(support_hours)


def _hours_problem(hours: Any) -> str:
    if (
        not isinstance(hours, dict)
        or hours.get("type", "fixed_time_per_day") != "fixed_time_per_day"
    ):
        return "use_support_hours needs support_hours of type fixed_time_per_day"
    try:
        ZoneInfo(str(hours.get("time_zone")))
        time.fromisoformat(str(hours.get("start_time")))
        time.fromisoformat(str(hours.get("end_time")))
    except (ZoneInfoNotFoundError, ValueError):
        return "support_hours needs a time_zone, a start_time and an end_time"
    days = hours.get("days_of_week")
    if not isinstance(days, list) or not all(d in range(1, 8) for d in days):
        return "support_hours.days_of_week must be days 1 (Monday) to 7"
    return ""


def urgency_of(
    rule: dict[str, Any], support_hours: dict[str, Any] | None, severity: str, at: datetime
) -> str:
    """The urgency of an incident opened `at` for an alert of `severity`."""
    if rule.get("type") == "use_support_hours" and support_hours:
        half = "during_support_hours" if _in_hours(support_hours, at) else "outside_support_hours"
        rule = rule[half]
    urgency = str(rule.get("urgency", "high"))
    if urgency == "severity_based":
        return "high" if severity in HIGH_SEVERITIES else "low"
    return urgency


def _in_hours(hours: dict[str, Any], at: datetime) -> bool:
    local = at.astimezone(ZoneInfo(str(hours["time_zone"])))
    start = time.fromisoformat(str(hours["start_time"]))
    end = time.fromisoformat(str(hours["end_time"]))
    return local.isoweekday() in hours["days_of_week"] and start <= local.time() < end
