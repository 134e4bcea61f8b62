"""An absence alert whose first full window has just ended has not been judged yet: the
check that can fire it runs within seconds. Until then its page and the list both say
"Waiting" (`state_of`), never "OK, not firing" above a count under its threshold; after the
check it fires."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts_saas.alerts import evaluation
from alerts_saas.alerts.models import Alert, ConditionKind
from alerts_saas.alerts.state import FIRST_CHECK
from tests.alerts.test_alert_page import _alert, _page
from tests.alerts.test_resolved_holding import _state

pytestmark = pytest.mark.django_db


def _heartbeat(org, service, window_ended: timedelta) -> Alert:
    """An absence alert (fewer than 1 event in 1 minute) whose first window ended then."""
    since = timezone.now() - timedelta(minutes=1) - window_ended
    return _alert(
        org,
        service,
        kind=ConditionKind.ABSENCE,
        threshold=1,
        window_minutes=1,
        counting_since=since,
    )


def _list_state(admin_client, org, alert) -> str:
    listing = admin_client.get(f"/o/{org.slug}/alerts/").content.decode()
    row = re.search(rf'href="{alert.get_absolute_url()}".*?</(li|tr|article)>', listing, re.S)
    assert row is not None, listing
    return row.group(0)


def test_an_absence_alert_waits_until_the_check_after_its_first_window(
    admin_client, org, connected_service
):
    alert = _heartbeat(org, connected_service, window_ended=timedelta(seconds=3))

    state = _state(_page(admin_client, alert))
    assert state.startswith("Waiting Its first full window (1 minute) ended at"), state
    assert "the next check, within seconds, can fire it." in state
    assert "0 matching events so far; it fires below 1." in state
    assert not state.startswith("OK") and "Not firing" not in state
    assert ">Waiting</span>" in _list_state(admin_client, org, alert)

    # The check the page spoke of fires it.
    assert evaluation.evaluate()["opened"] == 1
    assert _state(_page(admin_client, alert)).startswith("FIRING since")


def test_once_its_first_check_is_past_it_is_no_longer_waiting(admin_client, org, connected_service):
    alert = _heartbeat(org, connected_service, window_ended=FIRST_CHECK + timedelta(seconds=5))
    page = _page(admin_client, alert)
    assert 'data-state="waiting"' not in page
    assert ">Waiting</span>" not in _list_state(admin_client, org, alert)
