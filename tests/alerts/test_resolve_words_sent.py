"""Resolving, disabling or deleting an alert says only what is sent to PagerDuty: the
resolves actually queued, counted; none (the trigger refused, the page held by a mute, or its
incident resolved already, as a disconnect does) says no incident was open there."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from alerts_saas.alerts.models import Alert, Firing
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, EventAction
from tests.alerts.test_alert_page import _alert, _events
from tests.alerts.test_stop_watching import _per_host, _quiet

pytestmark = pytest.mark.django_db


def _said(response) -> list[str]:
    """The messages shown, the last one being the action's (connecting said its own)."""
    return [str(m) for m in get_messages(response.wsgi_request)]


def _refused(firing: Firing) -> None:
    """PagerDuty refused the firing's triggers: no incident was opened."""
    firing.deliveries.update(status=Delivery.Status.FAILED)


def _held(firing: Firing) -> None:
    """A mute held the firing's page: no trigger was sent."""
    firing.deliveries.all().delete()


def _resolved_already(firing: Firing) -> None:
    """The firing's incidents were resolved already (as a disconnect does)."""
    resolves = [
        engine.follow_up(t, EventAction.RESOLVE, reason="service_deleted")
        for t in firing.deliveries.filter(event_action=EventAction.TRIGGER)
    ]
    for resolve in resolves:
        resolve.status = Delivery.Status.DELIVERED
    Delivery.objects.bulk_create(resolves)


@pytest.mark.parametrize(
    "before", [_refused, _held, _resolved_already], ids=["refused", "muted", "resolved"]
)
def test_resolving_a_firing_with_no_open_incident_says_nothing_was_sent(
    admin_client, org, connected_service, before
):
    alert = _alert(org, connected_service, auto_resolve=False)
    [firing] = _events(org, 3)
    before(firing)
    response = admin_client.post(f"/o/{org.slug}/alerts/{alert.pk}/resolve/", {"firing": firing.pk})
    assert _said(response)[-1] == (
        "“Checkout errors” resolved. No incident was open in PagerDuty for it, so nothing was "
        "sent there. If its condition still holds, it fires again at the next check."
    )
    assert not Delivery.objects.filter(event_action=EventAction.RESOLVE, reason="by_hand").exists()


def test_resolving_a_firing_with_its_incident_open_says_it_is_resolved(
    admin_client, org, connected_service
):
    alert = _alert(org, connected_service, auto_resolve=False)
    [firing] = _events(org, 3)
    response = admin_client.post(f"/o/{org.slug}/alerts/{alert.pk}/resolve/", {"firing": firing.pk})
    assert _said(response)[-1] == (
        "“Checkout errors” resolved. Its incident is being resolved in PagerDuty. If its "
        "condition still holds, it fires again at the next check."
    )


@pytest.mark.parametrize(
    "before", [_refused, _held, _resolved_already], ids=["refused", "muted", "resolved"]
)
def test_deleting_an_alert_with_no_open_incident_says_nothing_was_sent(
    admin_client, org, connected_service, before
):
    alert = _alert(org, connected_service)
    [firing] = _events(org, 3)
    before(firing)
    response = admin_client.post(f"/o/{org.slug}/alerts/{alert.pk}/delete/")
    assert _said(response)[-1] == (
        "Alert “Checkout errors” deleted. No incident was open in PagerDuty for it, so nothing "
        "was sent there. Its delivery history stays."
    )
    assert not Alert.objects.exists()
    assert not Delivery.objects.filter(event_action=EventAction.RESOLVE, reason="deleted").exists()


@pytest.mark.parametrize(
    "before", [_refused, _held, _resolved_already], ids=["refused", "muted", "resolved"]
)
def test_disabling_or_asking_to_delete_with_no_open_incident_promises_no_resolve(
    admin_client, org, connected_service, before
):
    alert = _alert(org, connected_service)
    [firing] = _events(org, 3)
    before(firing)
    page = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/delete/").content.decode()
    assert "No incident is open in PagerDuty for it, so deleting it sends nothing there." in page
    assert "Deleting it resolves" not in page
    response = admin_client.post(f"/o/{org.slug}/alerts/{alert.pk}/toggle/", {"enabled": "0"})
    assert _said(response)[-1] == (
        "Alert “Checkout errors” disabled. No incident was open in PagerDuty for it, so nothing "
        "was sent there."
    )
    assert not Delivery.objects.filter(event_action=EventAction.RESOLVE, reason="disabled").exists()


@pytest.mark.parametrize("refused", [True, False], ids=["refused", "open"])
def test_stop_watching_a_host_says_what_it_sends(org, make_service, admin_client, refused):
    alert = _per_host(org, make_service())
    _quiet(org, alert, "web-1")
    if refused:
        _refused(Firing.objects.get(alert=alert, group="web-1"))
    url = reverse("alerts:stop_watching", args=[org.slug, alert.pk])
    response = admin_client.post(url, {"value": "web-1"})
    sends = (
        "no incident was open in PagerDuty for it, so nothing was sent there"
        if refused
        else "its incident is being resolved in PagerDuty"
    )
    assert _said(response)[-1] == (
        f"web-1 is no longer watched by “Host went quiet”; {sends}. It is watched again from "
        "its next matching event."
    )
