"""Rendering an alert definition into a PagerDuty event payload."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from alerts_saas.alerts.models import (
    DEFAULT_SOURCE,
    Alert,
    GroupBy,
    Level,
    Severity,
    window_label,
)

PLACEHOLDERS = ("alert", "count", "threshold", "window", "org", "group")
# Event levels (by rank) as PagerDuty's severities, for alerts whose severity follows the
# events: the first whose rank the level reaches.
SEVERITY_OF_LEVEL = (
    (Level.CRITICAL, Severity.CRITICAL),
    (Level.ERROR, Severity.ERROR),
    (Level.WARNING, Severity.WARNING),
)


def severity_of_level(level: int) -> str:
    """PagerDuty's severity for an event level: critical and above, error, warning, or
    info for anything lower."""
    return next((str(sev) for rank, sev in SEVERITY_OF_LEVEL if level >= rank), Severity.INFO)


def template_problems(template: str) -> list[str]:
    """What is wrong with a summary template, in words (empty when it is fine).

    Only bare placeholders are allowed: no conversions (!r) and no format specs (:>99),
    which could fail at send time or be made to allocate without bound.
    """
    try:
        fields = [
            (name, spec, conv)
            for _, name, spec, conv in string.Formatter().parse(template)
            if name is not None
        ]
    except ValueError as exc:
        return [f"The template has a stray brace ({exc}). Write {{{{ or }}}} for a literal one."]
    allowed = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    problems = []
    for name, spec, conv in fields:
        shown = "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
        if name not in PLACEHOLDERS:
            problems.append(f"Unknown placeholder {shown}. Use {allowed}.")
        elif spec or conv:
            problems.append(f"{shown}: write the placeholder alone, as {{{name}}}.")
    return problems


@dataclass
class AlertDraft:
    """An alert's fields, saved or not: enough to render its event."""

    name: str
    severity: str
    summary_template: str
    source: str
    organization_name: str
    threshold: int = 1
    window_minutes: int = 5
    component: str = ""
    group: str = ""
    event_class: str = ""
    details: dict[str, str] = field(default_factory=dict)
    description: str = ""  # its addresses go with a trigger as links
    group_field: str = ""  # what the alert counts separately for each value of, if anything
    per_source: bool = False  # whether it counts each source (host) on its own


def group_label(alert: Alert) -> str:
    """The field an alert counts separately for each value of, in words ("" if none)."""
    if alert.group_by == GroupBy.ATTRIBUTE:
        return alert.group_attribute
    names: dict[str, str] = {GroupBy.SOURCE: "source", GroupBy.APP: "app"}
    return names.get(alert.group_by, "")


def group_words(field: str, value: str | None) -> str:
    """A value of a group field as a page shows it: "web-3", or "no host" for events that
    had none."""
    if value is None:
        return ""
    return value if value else f"no {field}"


def draft_of(alert: Alert, details: dict[str, str] | None = None) -> AlertDraft:
    """The draft of an alert; `details` when they are not (yet) the saved ones."""
    if details is None:
        details = {d.key: d.value for d in alert.details.all()}
    return AlertDraft(
        name=alert.name,
        severity=alert.severity,
        summary_template=alert.summary_template,
        source=alert.source,
        organization_name=alert.organization.name,
        threshold=alert.threshold,
        window_minutes=alert.window_minutes,
        component=alert.component,
        group=alert.group,
        event_class=alert.event_class,
        details=details,
        description=alert.description,
        group_field=group_label(alert),
        per_source=alert.group_by == GroupBy.SOURCE,
    )


# "{count} matching events" and "{threshold} events": said "1 matching event" for one.
COUNTED = re.compile(r"\{(count|threshold)\}((?: matching)? event)s\b")


def _counted(template: str, values: dict[str, Any]) -> str:
    """The template with "events" after a count of one said "event"."""
    return COUNTED.sub(
        lambda m: f"{{{m.group(1)}}}{m.group(2)}" + ("" if values[m.group(1)] == 1 else "s"),
        template,
    )


def render_payload(
    draft: AlertDraft, *, count: int, test: bool = False, group: str | None = None
) -> dict[str, Any]:
    """The event's payload; for an alert that groups, about one value of its group field
    (`group`), which the summary names ({group}, or put before it) and the details hold.
    Before, not after: PagerDuty's pushes and SMS cut a long summary at its end, and the
    host is what the person paged needs to read first."""
    shown = group_words(draft.group_field, group)
    values = {
        "alert": draft.name,
        "count": count,
        "threshold": draft.threshold,
        "window": window_label(draft.window_minutes),
        "org": draft.organization_name,
        "group": shown,
    }
    summary = _counted(draft.summary_template, values).format_map(values)
    details: dict[str, Any] = dict(draft.details)
    if draft.group_field and group is not None:
        if "{group}" not in draft.summary_template:
            summary = f"[{draft.group_field} {shown}] {summary}"
        details["group"] = {"field": draft.group_field, "value": group}
    if test:
        # A test claims no events: the summary is what wakes someone (push, SMS, phone);
        # how a real one reads goes in the details, marked as an example.
        details["test"] = (
            f"[TEST] Sent with “Send test alert” in {settings.PRODUCT_NAME}. "
            "Nothing is wrong; resolve it at will."
        )
        details["summary_when_it_fires"] = f"{summary} (example: no events were counted)"
        summary = (
            f"[TEST] {draft.name}: a test alert from {settings.PRODUCT_NAME}. "
            "No events were counted; nothing is wrong."
        )
    payload: dict[str, Any] = {
        "summary": summary,
        "source": _source(draft, group),
        "severity": draft.severity,
        "timestamp": timezone.now().isoformat(),
        "custom_details": details,
    }
    for key, value in (
        ("component", draft.component),
        ("group", draft.group),
        ("class", draft.event_class),
    ):
        if value:
            payload[key] = value
    return payload


def _source(draft: AlertDraft, group: str | None) -> str:
    """PagerDuty's `source`, "the unique location of the affected system, preferably a
    hostname": for an alert that counts each source on its own, the host it fires about,
    unless a source was set on the alert (or the events had none)."""
    if draft.per_source and group and draft.source == DEFAULT_SOURCE:
        return group
    return draft.source
