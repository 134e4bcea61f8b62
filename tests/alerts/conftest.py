from __future__ import annotations

import pytest

from alerts_saas.alerts.models import Firing
from integrations.pagerduty.models import Delivery, EventAction


def alert_form(targets: list[int], **overrides: object) -> dict[str, object]:
    """POST data of the alert form, as a browser sends it."""
    data: dict[str, object] = {
        "name": "Checkout errors",
        "description": "",
        "severity": "critical",
        "summary_template": "{alert}: {count} errors in {window} ({org})",
        "source": "checkout-api",
        "component": "payments",
        "group": "prod",
        "event_class": "http-5xx",
        "threshold": "5",
        "window_minutes": "10",
        "targets": [str(t) for t in targets],
        "auto_resolve": "on",  # ticked by default
        "details-TOTAL_FORMS": "2",
        "details-INITIAL_FORMS": "0",
        "details-MIN_NUM_FORMS": "0",
        "details-MAX_NUM_FORMS": "50",
        "details-0-key": "runbook",
        "details-0-value": "https://wiki.example/checkout",
        "details-1-key": "",
        "details-1-value": "",
        # "Yes, send the test alert": posts to /alerts/test/ send at once; a save ignores it.
        "confirm_test": "1",
    }
    data.update(overrides)
    return data


@pytest.fixture
def form_data():
    return alert_form


def resolves_of(firing: Firing) -> list[Delivery]:
    """The firing's resolves, checked to be one per trigger, under the triggers' keys."""
    triggers = list(firing.deliveries.filter(event_action=EventAction.TRIGGER))
    resolves = list(firing.deliveries.filter(event_action=EventAction.RESOLVE))
    assert triggers and len(resolves) == len(triggers)
    assert {d.dedup_key for d in resolves} == {d.dedup_key for d in triggers}
    return resolves
