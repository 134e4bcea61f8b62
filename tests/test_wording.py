"""Words as a person reads them: one name for one thing (the checklist's step is called as
the button it sends you to), a role said as a role, and plurals right ("1 or more matching
events", a PagerDuty summary's "1 matching event")."""

from __future__ import annotations

import re

import pytest

from alerts_saas.alerts.models import DEFAULT_SUMMARY, Alert
from alerts_saas.alerts.payload import AlertDraft, render_payload
from alerts_saas.alerts.views.list_rows import condition_text

pytestmark = pytest.mark.django_db


def _text(markup: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup))


def test_the_checklist_step_is_named_as_the_button_it_points_to(admin_client, org) -> None:
    page = _text(admin_client.get(f"/o/{org.slug}/").content.decode())
    assert "Send a test event" in page and "“Send test event” beside a service" in page
    assert "Send a test alert" not in page
    integrations = admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert "Send test event" in integrations or "Connect PagerDuty" in integrations


def test_the_role_reads_as_a_role(admin_client, org) -> None:
    page = _text(admin_client.get(f"/o/{org.slug}/").content.decode())
    assert "Your role: owner" in page
    assert "You are owner" not in page


def test_one_or_more_events_is_plural() -> None:
    assert condition_text(Alert(threshold=1, window_minutes=5)) == (
        "1 or more matching events in 5 minutes"
    )
    assert condition_text(Alert(threshold=2, window_minutes=5)).startswith(
        "2 or more matching events"
    )
    assert condition_text(Alert(threshold=1, window_minutes=5, kind="absence")).startswith(
        "Fewer than 1 matching event in"
    )


def _summary(template: str, count: int, threshold: int = 1) -> str:
    draft = AlertDraft(
        name="Checkout errors",
        severity="error",
        summary_template=template,
        source="s",
        organization_name="Acme",
        threshold=threshold,
    )
    return str(render_payload(draft, count=count)["summary"])


def test_a_pagerduty_summary_says_one_event_for_one() -> None:
    assert _summary(DEFAULT_SUMMARY, 1) == "Checkout errors: 1 matching event in 5 minutes (Acme)"
    assert _summary(DEFAULT_SUMMARY, 4) == "Checkout errors: 4 matching events in 5 minutes (Acme)"
    assert _summary(DEFAULT_SUMMARY, 0) == "Checkout errors: 0 matching events in 5 minutes (Acme)"
    assert _summary("{count} events, fires at {threshold} events", 1, 1) == (
        "1 event, fires at 1 event"
    )
    # Words a person wrote themselves are left as written, literal braces too.
    assert _summary("{{count}} events: {count} eventsful", 1) == "{count} events: 1 eventsful"
