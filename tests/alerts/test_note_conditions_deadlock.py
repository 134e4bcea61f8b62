"""The beat noting that a host's condition cleared (an alert that waits for a person) and a
person's save of the same alert at the same moment never wait for each other in a circle:
both take the alert's row before its firings. Before, the beat's note updated the firings
without the alert's row: it took web-1's and waited for web-2's, which the save had just
noted under the alert's row, while the save waited for web-1's to page its targets
(`firings.sync_targets_of` locks every open firing). PostgreSQL aborted one of them as a
deadlock: the beat's note was lost until the next beat, or the person's save failed.
Real PostgreSQL, one connection each."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts_saas.alerts import evaluation, firings
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Alert, Firing
from tests.lock_race import race

pytestmark = pytest.mark.django_db(transaction=True)

NO_DETAILS = {"details-0-key": "", "details-0-value": ""}


def _event(org, host: str, at: float) -> None:
    """One matching event of `host` at `at`, counted as if it were then."""
    evaluation.record(org.pk, [Event(timestamp=at, app="checkout", source=host)], now=at)


def test_the_beat_noting_a_cleared_host_while_a_person_saves_the_alert(
    admin_client, org, make_service, form_data, monkeypatch
):
    edge = make_service("Edge Gateway")
    per_host = {"threshold": "1", "window_minutes": "1", "match_app": "checkout"}
    data = form_data([edge.pk], group_by="source", **per_host, **NO_DETAILS)
    del data["auto_resolve"]  # unticked: each host's firing waits for a person
    assert admin_client.post(reverse("alerts:create", args=[org.slug]), data).status_code == 302
    alert = Alert.objects.get(organization=org)
    assert not alert.auto_resolve and alert.group_by == "source"
    Alert.objects.filter(pk=alert.pk).update(counting_since=timezone.now() - timedelta(hours=1))
    start = time.time()
    _event(org, "web-1", start - 100)
    _event(org, "web-2", start - 90)
    _event(org, "web-1", start - 5)  # web-1 still errs; web-2 stopped 90 s ago
    web1, web2 = Firing.objects.filter(alert=alert).order_by("pk")
    assert (web1.group, web2.group) == ("web-1", "web-2")

    def save() -> None:  # renames it: the save notes web-2 cleared, then syncs both
        edit = {**data, "name": "Checkout errors per host"}
        response = admin_client.post(reverse("alerts:edit", args=[org.slug, alert.pk]), edit)
        assert response.status_code == 302

    beat: dict[str, int] = {}
    outcome = race(
        monkeypatch,
        firings,
        "lock_alerts",
        save,
        # Two minutes on, both hosts' conditions have cleared.
        lambda: beat.update(evaluation.evaluate(now=start + 120)),
    )
    assert outcome.errors == []
    assert outcome.blocked  # the beat did wait for the save
    assert beat["failed"] == 0
    for firing in (web1, web2):
        firing.refresh_from_db()
        assert firing.is_open and firing.condition_cleared_at is not None, firing.group
    assert Alert.objects.get(pk=alert.pk).name == "Checkout errors per host"
