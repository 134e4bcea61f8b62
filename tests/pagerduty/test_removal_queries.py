"""A removal that moves many firing alerts to another service costs the queries of one that
moves a few (the alerts app syncs every moved alert's open firings at once,
`alerts_saas.alerts.target_changes`), and still pages each firing on the new service,
resolves it on the removed one, holds what a mute holds and falls back where it must."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.alerts import firings
from alerts_saas.alerts.counting import counts
from alerts_saas.alerts.models import Alert, Firing, MuteWindow
from integrations.pagerduty import removal
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService, Reason

pytestmark = pytest.mark.django_db

FEW, MANY = 3, 30


def _firing_on(org, service: PagerDutyService, n: int) -> list[Firing]:
    """`n` alerts paging `service` alone, each with an open firing (4 events when it opened)."""
    opened = []
    for i in range(n):
        alert = Alert.objects.create(
            organization=org, name=f"{service.name} {i}", match_app=f"app-{service.pk}-{i}"
        )
        alert.targets.add(service)
        firing = firings.open_firing(alert, 4, timezone.now())
        assert firing is not None
        opened.append(firing)
    return opened


def _remove(service: PagerDutyService, move_to: PagerDutyService) -> removal.Outcome:
    plan = removal.plan_service_removal(service)
    return removal.carry_out(plan, seen=plan.orphan_ids, move_to=move_to, actor=None)


def _sent(firing: Firing, action: str, **where: object) -> list[Delivery]:
    return list(firing.deliveries.filter(event_action=action, **where).order_by("pk"))


def _mute(org, alert: Alert) -> MuteWindow:
    return MuteWindow.objects.create(
        organization=org,
        alert=alert,
        starts_at=timezone.now() - timedelta(minutes=1),
        ends_at=timezone.now() + timedelta(minutes=30),
    )


def test_moving_many_firing_alerts_costs_the_queries_of_a_few(org, make_service, pagerduty):
    postgres = make_service("Postgres Primary")
    removed = {FEW: make_service("Edge Gateway"), MANY: make_service("Redis Cache")}
    opened = {n: _firing_on(org, service, n) for n, service in removed.items()}
    for its in opened.values():
        _mute(org, its[0].alert)  # its first alert is muted: its firing is held, not paged
    queries = {}
    for n, service in removed.items():
        with CaptureQueriesContext(connection) as captured:
            outcome = _remove(service, postgres)
        queries[n] = len(captured)
        assert len(outcome.moved) == n
    assert queries[MANY] == queries[FEW], f"queries by alerts moved: {queries}"

    for n, its in opened.items():
        muted, *paged = its
        for firing in paged:
            [trigger] = _sent(firing, EventAction.TRIGGER, service=postgres)
            assert trigger.dedup_key == firing.dedup_key(postgres.pk)
            assert trigger.alert_id == firing.alert_id
            details = trigger.body["payload"]["custom_details"]
            assert details["matching_events_in_window"] == 0  # counted now, not at opening
            assert not Firing.objects.get(pk=firing.pk).held
        assert not _sent(muted, EventAction.TRIGGER, service=postgres)
        assert Firing.objects.get(pk=muted.pk).held
        for firing in its:
            # The removed service's incident is resolved, saying why, after its trigger.
            [old] = _sent(firing, EventAction.TRIGGER, service_name=removed[n].name)
            [resolve] = _sent(firing, EventAction.RESOLVE)
            assert (resolve.dedup_key, resolve.reason) == (old.dedup_key, Reason.SERVICE_DELETED)
            assert Firing.objects.get(pk=firing.pk).is_open
            assert list(firing.alert.targets.all()) == [postgres]
        assert Delivery.objects.filter(firing__in=its).count() == 3 * n - 1


def test_moved_alerts_that_cant_page_fall_back_once_each(org, make_service, pagerduty):
    edge, refused = make_service("Edge Gateway"), make_service("Postgres Primary")
    backup = make_service("Checkout API 001")
    PagerDutyService.objects.filter(pk=refused.pk).update(refused_at=timezone.now())
    PagerDutyService.objects.filter(pk=backup.pk).update(is_fallback=True)
    opened = _firing_on(org, edge, 3)
    _remove(edge, refused)
    for firing in opened:
        assert len(_sent(firing, EventAction.TRIGGER, service=refused)) == 1
        [fallback] = _sent(firing, EventAction.TRIGGER, service=backup)
        assert fallback.reason == Reason.FALLBACK
        assert (
            "Postgres Primary can't page"
            in (fallback.body["payload"]["custom_details"]["fallback_reason"])
        )


def test_moved_alerts_are_paged_with_their_counts_at_opening_when_counts_cannot_be_read(
    org, make_service, pagerduty, monkeypatch
):
    edge, postgres = make_service("Edge Gateway"), make_service("Postgres Primary")
    opened = _firing_on(org, edge, 3)
    store = counts()

    def down(*args, **kwargs):
        raise redis.ConnectionError("Redis is down")

    for method in ("totals", "recent", "recent_of"):
        monkeypatch.setattr(store, method, down)
    _remove(edge, postgres)
    for firing in opened:
        [trigger] = _sent(firing, EventAction.TRIGGER, service=postgres)
        details = trigger.body["payload"]["custom_details"]
        assert details["matching_events_in_window"] == 4  # the count when it opened
        assert details["recent_matching_events"] == []
