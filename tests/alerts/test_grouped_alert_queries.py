"""An alert that groups (one firing per host) with many values firing costs the same number
of queries as one with a few, on every path that touches all its open firings at once: the
form's save that changes its targets, the service-side change, disabling, deleting, and
ending the mute that held them; and resolving one host by hand. Each path also still does
what a person expects of it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alerts_saas.alerts import evaluation, firings
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Alert, Firing, Level, MuteWindow
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService, Reason

pytestmark = pytest.mark.django_db

FEW, MANY = 3, 30
# An edit keeps the alert's runbook detail as it is: the formset shows no saved details here.
BLANK_DETAIL = {"details-0-key": "", "details-0-value": ""}


def _form(form_data, name: str, targets: list[int], **more: object) -> dict[str, object]:
    """The form of an alert counting each source of its own app's events on its own."""
    fields: dict[str, object] = {"threshold": "1", **more}
    return form_data(targets, name=name, match_app=name, group_by="source", **fields)


def _grouped(
    admin_client, org, form_data, name: str, targets: list[int], threshold: str = "1"
) -> Alert:
    data = _form(form_data, name, targets, threshold=threshold)
    response = admin_client.post(reverse("alerts:create", args=[org.slug]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Alert.objects.get(organization=org, name=name)


def _count(org, alert: Alert, values: int) -> None:
    """One error from each of `values` hosts."""
    now = time.time()
    events = [
        Event(timestamp=now, app=alert.name, source=f"web-{i}", level=Level.ERROR)
        for i in range(values)
    ]
    evaluation.record(org.pk, events)


def _fire(org, alert: Alert, values: int) -> list[Firing]:
    _count(org, alert, values)
    open_firings = list(alert.firings.filter(cleared_at__isnull=True))
    assert len(open_firings) == values
    return open_firings


def _firing(admin_client, org, form_data, targets: list[int]) -> Callable[[int], Alert]:
    """Makes an alert paging `targets` with `n` hosts firing (for `_measure`)."""

    def setup(n: int) -> Alert:
        alert = _grouped(admin_client, org, form_data, f"Per host {n}", targets)
        _fire(org, alert, n)
        return alert

    return setup


def _queries(action: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured)


def _sent(alert: Alert, action: str, **where: object) -> list[Delivery]:
    return list(Delivery.objects.filter(alert=alert, event_action=action, **where))


def _measure(setup: Callable[[int], Alert], act: Callable[[Alert], object]) -> dict[int, Alert]:
    """Run `act` on an alert with FEW and with MANY values firing; the query counts match."""
    alerts = {n: setup(n) for n in (FEW, MANY)}
    counted = {n: _queries(lambda a=alert: act(a)) for n, alert in alerts.items()}
    assert counted[MANY] == counted[FEW], f"queries by values firing: {counted}"
    return alerts


def test_saving_the_form_with_new_targets(admin_client, org, make_service, form_data):
    edge, postgres = make_service("Edge Gateway"), make_service("Postgres Primary")

    setup = _firing(admin_client, org, form_data, [edge.pk])

    def act(alert: Alert) -> None:
        data = _form(
            form_data, alert.name, [postgres.pk], **{"details-0-key": "", "details-0-value": ""}
        )
        response = admin_client.post(reverse("alerts:edit", args=[org.slug, alert.pk]), data)
        assert response.status_code == 302

    for n, alert in _measure(setup, act).items():
        # Each host's firing pages the new target and resolves on the removed one.
        assert len(_sent(alert, EventAction.TRIGGER, service=postgres)) == n
        resolves = _sent(alert, EventAction.RESOLVE, service=edge)
        assert len(resolves) == n and {r.reason for r in resolves} == {Reason.TARGET_REMOVED}
        triggers = {d.dedup_key: d.pk for d in _sent(alert, EventAction.TRIGGER, service=edge)}
        assert all(triggers[r.dedup_key] < r.pk for r in resolves)  # never before its trigger
        assert alert.firings.filter(cleared_at__isnull=True).count() == n


def test_saving_a_higher_threshold_clears_every_host(admin_client, org, make_service, form_data):
    edge = make_service("Edge Gateway")

    setup = _firing(admin_client, org, form_data, [edge.pk])

    def act(alert: Alert) -> None:
        data = _form(form_data, alert.name, [edge.pk], threshold="5", **BLANK_DETAIL)
        response = admin_client.post(reverse("alerts:edit", args=[org.slug, alert.pk]), data)
        assert response.status_code == 302

    for n, alert in _measure(setup, act).items():
        cleared = alert.firings.all()
        assert {(f.clear_reason, f.count_at_clear) for f in cleared} == {
            (Firing.ClearReason.EDITED, 1)
        }
        assert len(_sent(alert, EventAction.RESOLVE)) == n


def test_saving_a_higher_threshold_notes_the_hosts_that_wait_for_a_person(
    admin_client, org, make_service, form_data
):
    edge = make_service("Edge Gateway")

    def waits(data: dict[str, object]) -> dict[str, object]:
        del data["auto_resolve"]  # unticked: a person resolves each host's firing
        return data

    def setup(n: int) -> Alert:
        data = waits(_form(form_data, f"Per host {n}", [edge.pk]))
        assert admin_client.post(reverse("alerts:create", args=[org.slug]), data).status_code == 302
        alert = Alert.objects.get(organization=org, name=f"Per host {n}")
        _fire(org, alert, n)
        return alert

    def act(alert: Alert) -> None:
        data = waits(_form(form_data, alert.name, [edge.pk], threshold="5", **BLANK_DETAIL))
        response = admin_client.post(reverse("alerts:edit", args=[org.slug, alert.pk]), data)
        assert response.status_code == 302

    for n, alert in _measure(setup, act).items():
        # Still open, each noted as no longer holding; nothing resolved in PagerDuty.
        waiting = alert.firings.filter(cleared_at__isnull=True, condition_cleared_at__isnull=False)
        assert waiting.count() == n
        assert not _sent(alert, EventAction.RESOLVE)


def test_saving_a_lower_threshold_fires_every_host(admin_client, org, make_service, form_data):
    edge = make_service("Edge Gateway")

    def setup(n: int) -> Alert:
        alert = _grouped(admin_client, org, form_data, f"Per host {n}", [edge.pk], "2")
        _count(org, alert, n)
        assert not alert.firings.exists()
        return alert

    def act(alert: Alert) -> None:
        data = _form(form_data, alert.name, [edge.pk], threshold="1", **BLANK_DETAIL)
        response = admin_client.post(reverse("alerts:edit", args=[org.slug, alert.pk]), data)
        assert response.status_code == 302

    for n, alert in _measure(setup, act).items():
        opened = alert.firings.filter(cleared_at__isnull=True)
        assert sorted(opened.values_list("group", flat=True)) == sorted(
            f"web-{i}" for i in range(n)
        )
        triggers = _sent(alert, EventAction.TRIGGER, service=edge)
        assert {t.dedup_key for t in triggers} == {f.dedup_key(edge.pk) for f in opened}


def test_a_service_given_the_alert_from_its_side(admin_client, org, make_service, form_data):
    edge, postgres = make_service("Edge Gateway"), make_service("Postgres Primary")

    setup = _firing(admin_client, org, form_data, [edge.pk])

    def act(alert: Alert) -> None:
        with transaction.atomic():
            postgres.alerts.add(alert)

    for n, alert in _measure(setup, act).items():
        triggers = _sent(alert, EventAction.TRIGGER, service=postgres)
        assert len(triggers) == n
        counted = {
            t.body["payload"]["custom_details"]["matching_events_in_window"] for t in triggers
        }
        assert counted == {1}  # each host's own count, read now


def test_disabling(admin_client, org, make_service, form_data):
    edge = make_service("Edge Gateway")

    setup = _firing(admin_client, org, form_data, [edge.pk])

    def act(alert: Alert) -> None:
        url = reverse("alerts:toggle", args=[org.slug, alert.pk])
        assert admin_client.post(url, {"enabled": "0"}).status_code == 302

    for n, alert in _measure(setup, act).items():
        reasons = set(alert.firings.values_list("clear_reason", flat=True))
        assert reasons == {Firing.ClearReason.DISABLED}
        assert len(_sent(alert, EventAction.RESOLVE)) == n


def test_deleting(admin_client, org, make_service, form_data):
    edge = make_service("Edge Gateway")
    keys: dict[int, set[str]] = {}

    def setup(n: int) -> Alert:
        alert = _grouped(admin_client, org, form_data, f"Per host {n}", [edge.pk])
        _fire(org, alert, n)
        keys[n] = {d.dedup_key for d in _sent(alert, EventAction.TRIGGER)}
        return alert

    def act(alert: Alert) -> None:
        url = reverse("alerts:delete", args=[org.slug, alert.pk])
        assert admin_client.post(url).status_code == 302

    _measure(setup, act)
    for n, dedup_keys in keys.items():
        resolves = Delivery.objects.filter(
            organization=org, event_action=EventAction.RESOLVE, dedup_key__in=dedup_keys
        )
        assert resolves.count() == n  # the resolves outlive the alert


def test_ending_the_mute_that_held_every_host(admin_client, org, make_service, form_data):
    edge = make_service("Edge Gateway")
    windows: dict[int, MuteWindow] = {}

    def setup(n: int) -> Alert:
        alert = _grouped(admin_client, org, form_data, f"Per host {n}", [edge.pk])
        windows[alert.pk] = MuteWindow.objects.create(
            organization=org,
            alert=alert,
            starts_at=timezone.now() - timedelta(minutes=1),
            ends_at=timezone.now() + timedelta(minutes=30),
        )
        assert all(f.held for f in _fire(org, alert, n))
        assert not _sent(alert, EventAction.TRIGGER)
        return alert

    def act(alert: Alert) -> None:
        url = reverse("alerts:mute_end", args=[org.slug, windows[alert.pk].pk])
        assert admin_client.post(url).status_code == 302

    for n, alert in _measure(setup, act).items():
        assert len(_sent(alert, EventAction.TRIGGER)) == n
        assert not alert.firings.filter(held=True).exists()


def test_resolving_one_host_by_hand(admin_client, org, make_service, form_data):
    edge = make_service("Edge Gateway")
    resolved: dict[int, Firing] = {}

    def setup(n: int) -> Alert:
        alert = _grouped(admin_client, org, form_data, f"Per host {n}", [edge.pk])
        resolved[alert.pk] = _fire(org, alert, n)[0]
        return alert

    def act(alert: Alert) -> None:
        url = reverse("alerts:resolve", args=[org.slug, alert.pk])
        assert admin_client.post(url, {"firing": resolved[alert.pk].pk}).status_code == 302

    for n, alert in _measure(setup, act).items():
        # The host resolved, and only it: the others still fire.
        assert list(alert.firings.filter(cleared_at__isnull=False)) == [resolved[alert.pk]]
        assert alert.firings.filter(cleared_at__isnull=True).count() == n - 1
        assert len(_sent(alert, EventAction.RESOLVE)) == 1


def test_a_new_target_that_is_muted_holds_every_host(admin_client, org, make_service, form_data):
    edge, postgres = make_service("Edge Gateway"), make_service("Postgres Primary")
    MuteWindow.objects.create(
        organization=org,
        service=postgres,
        starts_at=timezone.now() - timedelta(minutes=1),
        ends_at=timezone.now() + timedelta(minutes=30),
    )

    setup = _firing(admin_client, org, form_data, [edge.pk])

    def act(alert: Alert) -> None:
        with transaction.atomic():
            postgres.alerts.add(alert)

    for n, alert in _measure(setup, act).items():
        assert not _sent(alert, EventAction.TRIGGER, service=postgres)
        assert alert.firings.filter(cleared_at__isnull=True, held=True).count() == n


def test_a_new_target_that_cant_page_falls_back_once_per_host(
    admin_client, org, make_service, form_data
):
    edge, refused = make_service("Edge Gateway"), make_service("Postgres Primary")
    backup = make_service("Checkout API 001")
    PagerDutyService.objects.filter(pk=refused.pk).update(refused_at=timezone.now())
    PagerDutyService.objects.filter(pk=backup.pk).update(is_fallback=True)
    refused.refresh_from_db()

    setup = _firing(admin_client, org, form_data, [edge.pk])

    def act(alert: Alert) -> None:
        with transaction.atomic():
            refused.alerts.add(alert)

    for n, alert in _measure(setup, act).items():
        assert len(_sent(alert, EventAction.TRIGGER, service=refused)) == n
        fallbacks = _sent(alert, EventAction.TRIGGER, service=backup)
        assert {d.reason for d in fallbacks} == {Reason.FALLBACK}
        assert len({d.dedup_key for d in fallbacks}) == len(fallbacks) == n
        # Synced again, nothing more goes: each host fell back already.
        with transaction.atomic():
            firings.sync_open_firing(alert)
        assert len(_sent(alert, EventAction.TRIGGER)) == 3 * n
