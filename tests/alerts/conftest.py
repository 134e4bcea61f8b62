from __future__ import annotations

import pytest


def alert_form(targets: list[int], **overrides: object) -> dict[str, object]:
    """POST data of the alert form, as a browser sends it."""
    data: dict[str, object] = {
        "name": "Checkout errors", "description": "", "severity": "critical",
        "summary_template": "{alert}: {count} errors in {window} ({org})",
        "source": "checkout-api", "component": "payments", "group": "prod",
        "event_class": "http-5xx", "threshold": "5", "window_minutes": "10",
        "targets": [str(t) for t in targets],
        "details-TOTAL_FORMS": "2", "details-INITIAL_FORMS": "0",
        "details-MIN_NUM_FORMS": "0", "details-MAX_NUM_FORMS": "50",
        "details-0-key": "runbook", "details-0-value": "https://wiki.example/checkout",
        "details-1-key": "", "details-1-value": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def form_data():
    return alert_form
