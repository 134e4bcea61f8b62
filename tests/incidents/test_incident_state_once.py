"""An incident's state is said once wherever it is shown: beside its badge (the alert page's
targets, the delivery page) the words say only the rest ("Triggered" then "assigned to Alice
Oncall"); where no badge says it (the alert page's firings table, the alert list, the
dashboard) the whole sentence stays ("Triggered: assigned to Alice Oncall")."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.pagerduty.models import Delivery, EventAction, Reason
from tests.alerts.test_alert_page import _alert, _events
from tests.incidents.test_incident_pages import _get, _incident

pytestmark = pytest.mark.django_db

# An incident's badge and the words after it, as _incident.html and _delivery.html show them.
BADGED = re.compile(
    r'data-incident-status="\w+">\s*<span class="badge [\w-]+">(\w+)</span>\s*'
    r'(?:<span class="incident-words">)?([^<]*)'
)
# The alert list's and the dashboard's line, under the alert's own state (no incident badge).
NOTE = re.compile(r'class="incident-note-line">(?:<small>)?([^<]*)<')


def beside_badges(page: str) -> list[str]:
    """Each incident badge's word and the words after it, as one line a person reads."""
    return [f"{state} {words.strip()}" for state, words in BADGED.findall(page)]


# The incident's fields (a time as minutes ago), its badge, the words beside it, in full.
CASES = {
    "triggered-assigned": (
        {"status": "triggered", "assignees": ["Alice Oncall"]},
        "Triggered",
        "assigned to Alice Oncall",
        "Triggered: assigned to Alice Oncall",
    ),
    "triggered-nobody": (
        {"status": "triggered"},
        "Triggered",
        "nobody assigned",
        "Triggered: nobody assigned",
    ),
    "acknowledged": (
        {"status": "acknowledged", "acknowledged_by": "Alice Oncall", "acknowledged_at": 4},
        "Acknowledged",
        "by Alice Oncall 4\xa0minutes ago",
        "Acknowledged by Alice Oncall 4\xa0minutes ago",
    ),
    "resolved-in-pagerduty": (
        {"status": "resolved", "resolved_by": "Bob Lead", "resolved_at": 1},
        "Resolved",
        "in PagerDuty by Bob Lead 1\xa0minute ago",
        "Resolved in PagerDuty by Bob Lead 1\xa0minute ago",
    ),
    "resolved-by-tripwire": (
        {"status": "resolved", "resolved_for": Reason.FORGOTTEN, "resolved_at": 0},
        "Resolved",
        "by Tripwire: the value was no longer seen just now",
        "Resolved by Tripwire: the value was no longer seen just now",
    ),
}


@pytest.mark.parametrize(("fields", "state", "rest", "sentence"), CASES.values(), ids=CASES)
def test_the_state_is_said_once_beside_its_badge_and_in_full_elsewhere(
    admin_client, org, connected_service, fields, state, rest, sentence
) -> None:
    alert = _alert(org, connected_service)
    [firing] = _events(org, 3)
    trigger = Delivery.objects.get(firing=firing, event_action=EventAction.TRIGGER)
    trigger.status = Delivery.Status.DELIVERED
    trigger.save(update_fields=["status"])
    now = timezone.now()
    times = {
        key: now - timedelta(minutes=minutes, seconds=5 if minutes else 0)
        for key, minutes in fields.items()
        if key.endswith("_at")
    }
    _incident(trigger, **{**fields, **times})
    base = f"/o/{org.slug}"
    badged = f"{state} {rest}."
    assert badged.count(state) == 1

    page = _get(admin_client, f"{base}/alerts/{alert.pk}/")
    assert beside_badges(page) == [badged]  # the firing's target, with its buttons
    firings = re.search(r'<table class="compact firings".*?</table>', page, re.S)
    assert firings and sentence in firings.group(0)  # no badge there: the whole sentence
    targets = _get(admin_client, f"{base}/alerts/{alert.pk}/live/targets/")
    assert beside_badges(targets) == [badged]
    delivery = _get(admin_client, f"{base}/pagerduty/deliveries/{trigger.pk}/")
    assert beside_badges(delivery) == [badged]

    for listing in (f"{base}/alerts/", f"{base}/"):  # the alert list, the dashboard
        shown = _get(admin_client, listing)
        assert NOTE.findall(shown) == [sentence]
        assert beside_badges(shown) == []
