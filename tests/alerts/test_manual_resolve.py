"""Alerts that do not auto-resolve: the firing waits for a person, who resolves it here or in
PagerDuty. Without a worker: what is queued, recorded and shown (the worker test sends it)."""

from __future__ import annotations

import time
import uuid

import pytest
from django.utils import timezone

from alerts_saas.alerts import evaluation
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Alert, Firing, Level
from alerts_saas.audit.models import Entry
from alerts_saas.audit.words import describe
from integrations.pagerduty.incidents.models import Incident
from integrations.pagerduty.models import Delivery, EventAction, Reason
from tests.alerts.conftest import resolves_of
from tests.alerts.test_alert_page import _alert, _events

pytestmark = pytest.mark.django_db


def _again(org, at: float, n: int = 3) -> None:
    """n matching events at `at`, counted as if it were then."""
    events = [
        Event(timestamp=at, message="card declined", app="checkout", level=Level.ERROR)
        for _ in range(n)
    ]
    evaluation.record(org.pk, events, now=at)


def _waiting(org, service, *more, **fields) -> tuple[Alert, Firing, float]:
    alert = _alert(org, service, window_minutes=1, auto_resolve=False, **fields)
    alert.targets.add(*more)
    started = time.time()
    [firing] = _events(org, 3)
    return alert, firing, started


def test_the_condition_clears_and_the_firing_stays_open_sending_nothing(
    org, make_service, admin_client
) -> None:
    alert, firing, started = _waiting(org, make_service())

    evaluation.evaluate(now=started + 90)  # the events left the 1-minute window
    firing.refresh_from_db()
    assert firing.is_open and firing.clear_reason == ""
    cleared_at = firing.condition_cleared_at
    assert cleared_at is not None and abs(cleared_at.timestamp() - (started + 90)) < 1
    assert not firing.deliveries.filter(event_action=EventAction.RESOLVE).exists()

    evaluation.evaluate(now=started + 100)  # the first clearing's time stays
    firing.refresh_from_db()
    assert firing.condition_cleared_at == cleared_at

    page = admin_client.get(alert.get_absolute_url()).content.decode()
    assert "FIRING since" in page and "It clears by itself" not in page
    assert "stays open until resolved in PagerDuty or here." in page
    assert "Resolves by hand" in page and 'id="resolve-firing"' in page
    listing = admin_client.get(f"/o/{org.slug}/alerts/").content.decode()
    assert "Resolves by hand" in listing
    assert "stays open until resolved in PagerDuty or here" in listing

    # The events come back: the note goes; they stop again: it comes back, later.
    _again(org, started + 110)
    evaluation.evaluate(now=started + 115)
    firing.refresh_from_db()
    assert firing.is_open and firing.condition_cleared_at is None
    evaluation.evaluate(now=started + 200)
    firing.refresh_from_db()
    assert firing.is_open and firing.condition_cleared_at is not None
    assert firing.condition_cleared_at > cleared_at
    assert Firing.objects.filter(alert=alert).count() == 1
    assert not Delivery.objects.filter(event_action=EventAction.RESOLVE).exists()


def test_with_auto_resolve_on_the_firing_clears_and_resolves_as_before(
    org, make_service, admin_client
) -> None:
    alert = _alert(org, make_service(), window_minutes=1)
    assert alert.auto_resolve
    started = time.time()
    [firing] = _events(org, 3)
    page = admin_client.get(alert.get_absolute_url()).content.decode()
    assert "It clears by itself when the condition no longer holds." in page
    assert "Resolves by hand" not in page and 'id="resolve-firing"' in page

    evaluation.evaluate(now=started + 90)
    firing.refresh_from_db()
    assert firing.clear_reason == Firing.ClearReason.CLEARED
    assert firing.condition_cleared_at is None and firing.cleared_by is None
    assert {r.reason for r in resolves_of(firing)} == {Reason.CLEARED}


def test_disabling_still_resolves_a_firing_that_waits(org, make_service, admin_client) -> None:
    alert, firing, started = _waiting(org, make_service())
    evaluation.evaluate(now=started + 90)
    admin_client.post(f"/o/{org.slug}/alerts/{alert.pk}/toggle/", {"enabled": "0"})
    firing.refresh_from_db()
    assert firing.clear_reason == Firing.ClearReason.DISABLED
    assert {r.reason for r in resolves_of(firing)} == {Reason.DISABLED}


def test_resolving_here_sends_the_resolves_and_says_who(org, make_service, admin_client) -> None:
    first, second = make_service("Checkout API 001"), make_service("Checkout API 002")
    alert, firing, started = _waiting(org, first, second)
    evaluation.evaluate(now=started + 90)
    owner = org.memberships.get().user

    url = f"/o/{org.slug}/alerts/{alert.pk}/resolve/"
    response = admin_client.post(url, {"firing": firing.pk}, follow=True)
    assert response.redirect_chain[-1][0] == alert.get_absolute_url()
    page = response.content.decode()
    assert "“Checkout errors” resolved. Its 2 incidents are being resolved in PagerDuty." in page

    firing.refresh_from_db()
    assert firing.clear_reason == Firing.ClearReason.RESOLVED and firing.cleared_by == owner
    resolves = resolves_of(firing)
    assert len(resolves) == 2
    assert {(r.reason, r.created_by_id) for r in resolves} == {(Reason.BY_HAND, owner.pk)}
    assert "Resolved in Tripwire by owner@acme.example" in page
    assert "Still firing" not in page

    [entry] = Entry.objects.filter(
        organization=org, object_type="alert", changes__0__field="firing"
    )
    assert str(describe(entry)) == (
        "owner@acme.example changed alert “Checkout errors”: firing open since "
        f"{firing.opened_at:%d %b %H:%M:%S} UTC → resolved by hand"
    )

    # Pressed again (another tab): nothing more is sent.
    again = admin_client.post(url, {"firing": firing.pk}, follow=True).content.decode()
    assert "“Checkout errors” was already resolved: nothing was sent." in again
    assert firing.deliveries.filter(event_action=EventAction.RESOLVE).count() == 2


def test_resolving_here_takes_only_the_firing_the_page_showed(
    org, make_service, admin_client, make_org, client
) -> None:
    alert, firing, _ = _waiting(org, make_service())
    other_alert = _alert(org, None, name="Search errors", match_app="search")
    url = f"/o/{org.slug}/alerts/{alert.pk}/resolve/"

    # Another alert's firing id, a garbage id, a GET: nothing happens.
    other = Firing.objects.create(organization=org, alert=other_alert, count_at_open=1)
    for posted in ({"firing": other.pk}, {"firing": "x"}, {}):
        admin_client.post(url, posted)
    assert admin_client.get(url).status_code == 405
    assert Firing.objects.filter(cleared_at__isnull=True).count() == 2

    # Another organization's member, and nobody signed in: not found, sign in.
    stranger = make_org("Globex")
    client.force_login(stranger.memberships.get().user)
    assert client.post(url, {"firing": firing.pk}).status_code == 404
    client.logout()
    assert client.post(url, {"firing": firing.pk})["Location"].startswith("/accounts/login/")
    firing.refresh_from_db()
    assert firing.is_open
    assert not Delivery.objects.filter(event_action=EventAction.RESOLVE).exists()


def _incident(trigger: Delivery, status: str = "triggered") -> Incident:
    return Incident.objects.create(
        organization_id=trigger.organization_id,
        service_id=trigger.service_id,
        pd_incident_id=f"P{uuid.uuid4().hex[:10].upper()}",
        dedup_key=trigger.dedup_key,
        status=status,
        status_changed_at=timezone.now(),
    )


def _resolve(incident: Incident) -> None:
    incident.status, incident.resolved_by = "resolved", "Alice Oncall"
    incident.status_changed_at = incident.resolved_at = timezone.now()
    incident.save()


def test_resolved_in_pagerduty_once_every_incident_is(org, make_service, admin_client) -> None:
    first, second = make_service("Checkout API 001"), make_service("Checkout API 002")
    alert, firing, started = _waiting(org, first, second)
    one, two = (_incident(t) for t in firing.deliveries.filter(event_action=EventAction.TRIGGER))
    evaluation.evaluate(now=started + 90)

    _resolve(one)
    firing.refresh_from_db()
    assert firing.is_open  # one incident is still open in PagerDuty

    _resolve(two)
    firing.refresh_from_db()
    assert firing.clear_reason == Firing.ClearReason.INCIDENT_RESOLVED
    assert firing.cleared_by is None
    # They are resolved already: nothing is sent.
    assert not firing.deliveries.filter(event_action=EventAction.RESOLVE).exists()
    page = admin_client.get(alert.get_absolute_url()).content.decode()
    assert "Resolved in PagerDuty" in page and "Still firing" not in page


def test_an_incident_resolved_in_pagerduty_leaves_an_auto_resolving_firing_alone(
    org, make_service
) -> None:
    _alert(org, make_service(), window_minutes=1)
    [firing] = _events(org, 3)
    _resolve(_incident(firing.deliveries.get(event_action=EventAction.TRIGGER)))
    firing.refresh_from_db()
    assert firing.is_open  # it resolves when its condition clears, as before


def test_an_incident_of_a_service_we_cannot_hear_from_keeps_it_open(org, make_service) -> None:
    """Two services paged, PagerDuty tells us of one incident only (the other's service was
    connected with a pasted key): the firing waits for the other, or a person here."""
    first, second = make_service("Checkout API 001"), make_service("Checkout API 002")
    _, firing, _ = _waiting(org, first, second)
    _resolve(_incident(firing.deliveries.filter(event_action=EventAction.TRIGGER).first()))
    firing.refresh_from_db()
    assert firing.is_open


def test_the_form_turns_auto_resolve_off_and_on(org, connected_service, admin_client, form_data):
    response = admin_client.post(
        f"/o/{org.slug}/alerts/new/", form_data([connected_service.pk], auto_resolve="")
    )
    assert response.status_code == 302
    alert = Alert.objects.get(organization=org)
    assert not alert.auto_resolve
    form = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/edit/").content.decode()
    assert "Resolve when the condition clears" in form
    assert "stays open in PagerDuty until someone resolves it there or on the alert" in form
    kept = {"details-TOTAL_FORMS": "0"}  # the saved detail stays as it is
    edit = admin_client.post(
        f"/o/{org.slug}/alerts/{alert.pk}/edit/", form_data([connected_service.pk], **kept)
    )
    assert edit.status_code == 302
    alert.refresh_from_db()
    assert alert.auto_resolve


def test_turning_auto_resolve_on_resolves_a_firing_whose_condition_cleared(
    org, make_service
) -> None:
    alert = _alert(org, make_service(), window_minutes=1, auto_resolve=False)
    _again(org, time.time() - 120)  # fired two minutes ago; out of the window now
    evaluation.evaluate()
    firing = Firing.objects.get(alert=alert)
    assert firing.is_open and firing.condition_cleared_at is not None

    alert.auto_resolve = True
    alert.save()
    assert evaluation.reevaluate(alert, alert.counting_restarted)
    firing.refresh_from_db()
    assert firing.clear_reason == Firing.ClearReason.EDITED
    assert {r.reason for r in resolves_of(firing)} == {Reason.EDITED}
