"""The beat's release of held firings (a mute over) and a person's change to the same alert
at the same moment never wait for each other in a circle: both take the alert's row before
its firings. Before, the release locked the firings first and needed the alert's row (its
new deliveries' foreign key) at commit, while a save that renamed the alert held that row
and waited for the firings: PostgreSQL aborted one of them as a deadlock, and a page waited
15 s for the next beat, or the person's save failed. Firings are locked without their key
(FOR NO KEY UPDATE), so a delivery another transaction writes about a locked firing is not
held up by its foreign key either. Real PostgreSQL, one connection each."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts_saas.alerts import evaluation, firings, mute_release
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Alert, Firing, MuteWindow
from integrations.pagerduty import removal
from integrations.pagerduty.models import EventAction, PagerDutyService
from tests.lock_race import race

pytestmark = pytest.mark.django_db(transaction=True)


def _held(admin_client, org, form_data, edge: PagerDutyService) -> tuple[Alert, Firing]:
    """An alert paging `edge` (one event of the app "checkout" fires it) whose firing
    opened in a mute window that has just ended."""
    data = form_data([edge.pk], threshold="1", match_app="checkout")
    assert admin_client.post(reverse("alerts:create", args=[org.slug]), data).status_code == 302
    alert = Alert.objects.get(organization=org)
    window = MuteWindow.objects.create(
        organization=org,
        alert=alert,
        starts_at=timezone.now() - timedelta(minutes=5),
        ends_at=timezone.now() + timedelta(minutes=5),
    )
    [firing] = evaluation.record(org.pk, [Event(timestamp=time.time(), app="checkout")])
    assert firing.held and not firing.deliveries.exists()
    MuteWindow.objects.filter(pk=window.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    return alert, firing


def _release_while(monkeypatch, act: Callable[[], object]) -> dict[str, int]:
    """Run the beat's release; once it has taken its locks, `act` in this thread, and let
    the release go on (to its commit) only when `act` waits for it. Returns the release's
    result."""
    result: dict[str, int] = {}
    outcome = race(
        monkeypatch,
        firings,
        "targets_of_alerts",
        lambda: result.update(mute_release.release_due()),
        act,
    )
    assert outcome.errors == []
    assert outcome.blocked  # the person's change did wait for the release
    return result


def test_a_save_renaming_the_alert_as_its_mute_ends(
    admin_client, org, make_service, form_data, monkeypatch
):
    edge, postgres = make_service("Edge Gateway"), make_service("Postgres Primary")
    alert, firing = _held(admin_client, org, form_data, edge)
    # The saved runbook detail stays as it is: the formset shows no saved details here.
    unchanged = {"details-0-key": "", "details-0-value": ""}
    edit = form_data(
        [edge.pk, postgres.pk],
        threshold="1",
        match_app="checkout",
        name="Checkout errors (EU)",
        **unchanged,
    )

    def save() -> None:
        response = admin_client.post(reverse("alerts:edit", args=[org.slug, alert.pk]), edit)
        assert response.status_code == 302

    assert _release_while(monkeypatch, save) == {"held": 1, "released": 1, "failed": 0}
    # The release paged the target the mute held; the save paged the target it added.
    triggers = firing.deliveries.filter(event_action=EventAction.TRIGGER).order_by("pk")
    assert [d.service_id for d in triggers] == [edge.pk, postgres.pk]
    firing.refresh_from_db()
    assert firing.is_open and not firing.held
    assert Alert.objects.get(pk=alert.pk).name == "Checkout errors (EU)"


def test_resolving_by_hand_as_its_mute_ends(
    admin_client, org, make_service, form_data, monkeypatch
):
    edge = make_service("Edge Gateway")
    alert, firing = _held(admin_client, org, form_data, edge)

    def resolve() -> None:
        url = reverse("alerts:resolve", args=[org.slug, alert.pk])
        assert admin_client.post(url, {"firing": firing.pk}).status_code == 302

    assert _release_while(monkeypatch, resolve) == {"held": 1, "released": 1, "failed": 0}
    # Paged as the mute ended, then resolved by the person.
    sent = firing.deliveries.order_by("pk").values_list("event_action", "service_id")
    assert list(sent) == [(EventAction.TRIGGER, edge.pk), (EventAction.RESOLVE, edge.pk)]
    firing.refresh_from_db()
    assert firing.clear_reason == Firing.ClearReason.RESOLVED


def test_the_beat_clearing_a_firing_and_the_removal_of_a_service_it_pages(
    org, make_service, monkeypatch
):
    """The beat clears a firing (resolves to both its services) while one of them is removed
    (which resolves the firing's incident there). The removal's resolve refers to the
    firing the beat holds; the beat's refers to the service the removal holds. With the
    firing locked FOR UPDATE, each waited for the other at its commit: a deadlock, and the
    person removing the service got an error."""
    edge, postgres = make_service("Edge Gateway"), make_service("Postgres Primary")
    alert = Alert.objects.create(organization=org, name="Y", match_app="y")
    alert.targets.add(edge, postgres)
    firing = firings.open_firing(alert, 4, timezone.now())

    def clear() -> None:
        firings.clear_firings([firing], Firing.ClearReason.CLEARED, timezone.now())

    def remove() -> None:
        plan = removal.plan_service_removal(edge)
        removal.carry_out(plan, seen=plan.orphan_ids, move_to=None, actor=None)

    assert race(monkeypatch, firings, "_open_triggers", clear, remove).errors == []
    firing.refresh_from_db()
    assert firing.cleared_at is not None
    assert not PagerDutyService.objects.filter(pk=edge.pk).exists()
