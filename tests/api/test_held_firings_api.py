"""A firing a mute window holds says so through the API: until when it is held (the time
the alert page shows) and which windows hold it; a page of firings costs the same queries
whatever how many of them are held. Every answer is checked against the served document."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts import evaluation
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Alert, Firing, Level, MuteWindow
from alerts_saas.alerts.views.mutes import held_until
from integrations.pagerduty.models import EventAction, PagerDutyService
from tests.api.conftest import alert_body

pytestmark = pytest.mark.django_db

ONE = {"kind": "presence", "threshold": 1, "window_minutes": 5}


def window(
    org: Organization, ends: timedelta, starts: timedelta = timedelta(minutes=-1), **subject: object
) -> MuteWindow:
    now = timezone.now()
    return MuteWindow.objects.create(
        organization=org, starts_at=now + starts, ends_at=now + ends, **subject
    )


def moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def ms(at: datetime | None) -> datetime | None:
    """A time as the API writes it: to the millisecond."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000) if at is not None else None


def test_a_held_firing_says_until_when_and_which_windows_hold_it(api, org, service, other_service):
    body = alert_body(service, condition=ONE, targets=[service.pk, other_service.pk])
    held_id = api.post("/alerts", body, status=201).json()["id"]
    calm_body = alert_body(service, name="Payments errors", condition=ONE, match={"app": "pay"})
    calm_id = api.post("/alerts", calm_body, status=201).json()["id"]
    held_alert = Alert.objects.get(pk=held_id)
    # The alert is muted 30 minutes; one of its services 2 hours (from the same moment,
    # so the two make one mute for that service); a window to come holds nothing yet.
    alert_mute = window(org, timedelta(minutes=30), alert=held_alert)
    service_mute = window(org, timedelta(hours=2), service=other_service)
    window(org, timedelta(hours=4), starts=timedelta(hours=3), alert=held_alert)

    events = [
        Event(timestamp=time.time(), app="checkout", level=Level.ERROR),
        Event(timestamp=time.time(), app="pay", level=Level.ERROR),
    ]
    opened = {f.alert_id: f for f in evaluation.record(org.pk, events)}
    held, calm = opened[held_id], opened[calm_id]
    assert held.held and not calm.held

    listed = {f["id"]: f for f in api.get("/firings", status=200).json()["items"]}
    assert listed[held.pk]["held"] is True
    # Its last muted target is paged when the service's mute ends.
    assert moment(listed[held.pk]["held_until"]) == ms(service_mute.ends_at)
    assert listed[held.pk]["held_by"] == sorted([alert_mute.pk, service_mute.pk])
    assert listed[calm.pk]["held"] is False
    assert (listed[calm.pk]["held_until"], listed[calm.pk]["held_by"]) == (None, [])
    assert calm.deliveries.filter(event_action=EventAction.TRIGGER).count() == 1
    # One firing alone says the same, and so does the alert page's rule.
    one = api.get(f"/firings/{held.pk}", status=200).json()
    assert (one["held_until"], one["held_by"]) == (
        listed[held.pk]["held_until"],
        listed[held.pk]["held_by"],
    )
    assert held_until(held_alert, held, timezone.now()) == service_mute.ends_at

    # Ending the service's mute: the alert's own mute still holds both services.
    api.delete(f"/mute-windows/{service_mute.pk}", status=204)
    one = api.get(f"/firings/{held.pk}", status=200).json()
    assert one["held"] is True
    assert moment(one["held_until"]) == ms(alert_mute.ends_at)
    assert one["held_by"] == [alert_mute.pk]

    # The mute is over and the beat has not paged it yet: held, by nothing, until nothing.
    MuteWindow.objects.filter(pk=alert_mute.pk).update(ends_at=timezone.now())
    one = api.get(f"/firings/{held.pk}", status=200).json()
    assert (one["held"], one["held_until"], one["held_by"]) == (True, None, [])

    # A held firing that cleared pages nobody: nothing holds it any more.
    window(org, timedelta(minutes=30), alert=held_alert)
    Firing.objects.filter(pk=held.pk).update(
        cleared_at=timezone.now(), clear_reason=Firing.ClearReason.CLEARED
    )
    one = api.get(f"/firings/{held.pk}", status=200).json()
    assert (one["is_open"], one["held_until"], one["held_by"]) == (False, None, [])


def _held_firings(org: Organization, n: int, start: int) -> list[MuteWindow]:
    """`n` alerts, each paging its own service, each firing and held: half by the alert's
    mute, half by the service's."""
    made = []
    for i in range(start, start + n):
        service = PagerDutyService.objects.create(
            organization=org, name=f"Service {i}", region="us", integration_key=f"{i:032d}"
        )
        alert = Alert.objects.create(organization=org, name=f"Alert {i}", threshold=1)
        alert.targets.set([service])
        subject = {"alert": alert} if i % 2 else {"service": service}
        made.append(window(org, timedelta(minutes=10 + i), **subject))
        Firing.objects.create(organization=org, alert=alert, count_at_open=1, held=True)
    return made


def test_a_page_of_firings_costs_the_same_queries_however_many_are_held(api, org, make_org):
    def read() -> tuple[int, dict[int, dict]]:
        with CaptureQueriesContext(connection) as queries:
            items = api.get("/firings", query={"per_page": 50}, status=200).json()["items"]
        return len(queries), {f["id"]: f for f in items}

    # Another organization's windows never show.
    theirs = make_org("Other Co")
    _held_firings(theirs, 2, start=100)
    mutes = _held_firings(org, 2, start=0)
    read()  # the token's first use of the minute is recorded; not counted
    few, items = read()
    assert len(items) == 2

    mutes += _held_firings(org, 10, start=2)
    many, items = read()
    assert len(items) == 12 and many == few
    by_window = {f["held_by"][0]: f for f in items.values()}
    assert set(by_window) == {w.pk for w in mutes}
    for mute in mutes:
        assert moment(by_window[mute.pk]["held_until"]) == ms(mute.ends_at)
