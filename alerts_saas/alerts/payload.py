"""Rendering an alert definition into a PagerDuty event payload."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from alerts_saas.alerts.models import Alert, window_label

PLACEHOLDERS = ("alert", "count", "threshold", "window", "org")


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
    )


def render_payload(draft: AlertDraft, *, count: int, test: bool = False) -> dict[str, Any]:
    values = {
        "alert": draft.name,
        "count": count,
        "threshold": draft.threshold,
        "window": window_label(draft.window_minutes),
        "org": draft.organization_name,
    }
    summary = draft.summary_template.format_map(values)
    details: dict[str, Any] = dict(draft.details)
    if test:
        summary = f"[TEST] {summary}"
        details["test"] = (
            f"[TEST] Sent with “Send test alert” in {settings.PRODUCT_NAME}. "
            "Nothing is wrong; resolve it at will."
        )
    payload: dict[str, Any] = {
        "summary": summary,
        "source": draft.source,
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
