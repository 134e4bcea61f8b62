"""A held firing's `held_until` follows a mute into the window that overlaps it, also one
made before it started: the firing is paged only when the last of them ends."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from alerts_saas.alerts import evaluation
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Alert, Level, MuteWindow
from alerts_saas.alerts.views.mutes import held_until
from tests.api.conftest import alert_body

pytestmark = pytest.mark.django_db


def test_held_until_reaches_the_end_of_a_window_that_starts_later_and_overlaps(api, org, service):
    body = alert_body(service, condition={"kind": "presence", "threshold": 1, "window_minutes": 5})
    alert = Alert.objects.get(pk=api.post("/alerts", body, status=201).json()["id"])
    now = timezone.now()
    first = MuteWindow.objects.create(
        organization=org,
        alert=alert,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(minutes=30),
    )
    # Made now, starting in 20 minutes: the mute goes on without a gap until it ends.
    later = MuteWindow.objects.create(
        organization=org,
        alert=alert,
        starts_at=now + timedelta(minutes=20),
        ends_at=now + timedelta(hours=2),
    )
    (held,) = evaluation.record(
        org.pk, [Event(timestamp=time.time(), app="checkout", level=Level.ERROR)]
    )
    assert held.held

    one = api.get(f"/firings/{held.pk}", status=200).json()
    assert datetime.fromisoformat(one["held_until"]) == later.ends_at.replace(
        microsecond=later.ends_at.microsecond // 1000 * 1000
    )
    assert one["held_by"] == [first.pk]  # only the first holds it now
    assert held_until(alert, held, timezone.now()) == later.ends_at
