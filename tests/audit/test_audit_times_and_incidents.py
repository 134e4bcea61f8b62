"""The activity log in the reader's words: a mute's times in their time zone, as every other
time on the page (not "2026-11-30 10:17:26.489300+00:00"), and the acts on a PagerDuty
incident pressed in Tripwire (acknowledge, resolve, add a note): who, which incident, what."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django.utils.dateformat import format as date_format

from alerts_saas.accounts.models import Organization
from alerts_saas.accounts.times import zone_of
from alerts_saas.alerts.models import Alert
from alerts_saas.audit.models import Entry
from integrations.pagerduty.incidents.models import Incident
from integrations.pagerduty.rest import AccountApi, PagerDutyApiError
from tests.audit.conftest import only, words
from tests.tenant_objects import _pd_service

pytestmark = pytest.mark.django_db

NEW_YORK = "America/New_York"


def _activity(client, org: Organization) -> str:
    response = client.get(f"/o/{org.slug}/settings/activity/")
    assert response.status_code == 200
    return re.sub(r"\s+", " ", response.content.decode())


def test_a_mutes_times_read_in_the_readers_zone(owner_client, org) -> None:
    owner = org.memberships.get().user
    owner.time_zone = NEW_YORK
    owner.save()
    alert = Alert.objects.create(organization=org, name="Checkout errors")
    Entry.objects.all().delete()
    before = timezone.now()
    response = owner_client.post(
        f"/o/{org.slug}/alerts/{alert.pk}/mute/",
        {"kind": "once", "mute-length": "60", "mute-reason": "deploy"},
    )
    assert response.status_code == 302
    page = _activity(owner_client, org)
    assert "+00:00" not in page and not re.search(r"\d\d:\d\d:\d\d\.\d+", page)
    local = before.astimezone(zone_of(NEW_YORK))
    shown = date_format(local, "j M Y, H:i")
    ends = date_format(local + timedelta(hours=1), "j M Y, H:i")
    assert f"from: {shown}" in page and f"until: {ends}" in page
    # The same entry read by someone in UTC says UTC's times.
    owner.time_zone = ""
    owner.save()
    assert f"from: {date_format(before, 'j M Y, H:i')}" in _activity(owner_client, org)


class FakeApi:
    """PagerDuty's REST answers to the two calls an act makes."""

    calls: list[tuple[str, str]] = []

    def __init__(self, account: Any) -> None:
        self.account = account

    def set_incident_status(self, incident_id: str, status: str) -> dict[str, Any]:
        FakeApi.calls.append(("status", status))
        return {
            "status": status,
            "last_status_change_at": timezone.now().isoformat(),
            "last_status_change_by": {"summary": "Acme's PagerDuty user"},
        }

    def add_incident_note(self, incident_id: str, content: str) -> dict[str, Any]:
        FakeApi.calls.append(("note", content))
        return {}


@pytest.fixture
def incident(org, monkeypatch) -> Incident:
    monkeypatch.setattr("integrations.pagerduty.incidents.actions.AccountApi", FakeApi)
    assert AccountApi is not FakeApi
    service = _pd_service(org, org.memberships.get().user)
    return Incident.objects.create(
        organization=org,
        service=service,
        pd_incident_id="PINC42",
        dedup_key=f"tripwire-{org.pk}-alert-1-firing-1-service-{service.pk}",
        number=42,
        title="Checkout errors: 4 matching events in 5 minutes",
        status="triggered",
        status_changed_at=timezone.now() - timedelta(minutes=3),
    )


@pytest.mark.parametrize(
    ("action", "posted", "said"),
    [
        ("acknowledge", {}, "status triggered → acknowledged"),
        ("resolve", {}, "status triggered → resolved"),
        ("note", {"note": "Rolling back  the deploy"}, "note added: “Rolling back the deploy”"),
    ],
)
def test_acts_on_an_incident_from_tripwire_are_logged(
    owner_client, org, incident, action, posted, said
) -> None:
    Entry.objects.all().delete()
    response = owner_client.post(f"/o/{org.slug}/incidents/{incident.pk}/{action}/", posted)
    assert response.status_code == 302
    entry = only(org, object_type="pagerduty_incident")
    assert words(entry) == (
        "owner@acme.example acted from Tripwire on PagerDuty incident #42 "
        f"“Checkout errors: 4 matching events in 5 minutes”: {said}"
    )
    assert entry.ip == "203.0.113.7" and entry.object_id == str(incident.pk)
    assert said in _activity(owner_client, org)


def test_an_act_pagerduty_refused_is_not_logged(owner_client, org, incident, monkeypatch) -> None:
    def refuse(self: FakeApi, incident_id: str, status: str) -> dict[str, Any]:
        raise PagerDutyApiError("Incident already resolved")

    monkeypatch.setattr(FakeApi, "set_incident_status", refuse)
    Entry.objects.all().delete()
    owner_client.post(f"/o/{org.slug}/incidents/{incident.pk}/resolve/")
    assert not Entry.objects.filter(organization=org).exists()


def test_pagerdutys_own_changes_to_an_incident_are_not_logged_here(org, incident) -> None:
    Entry.objects.all().delete()
    incident.status = "acknowledged"
    incident.save()
    assert not Entry.objects.filter(organization=org).exists()
