"""Stop watching a host (or resolving it) while a service it pages is being removed: the
view holds the alert's row while it writes resolves that refer to the service; the removal
holds the service while it writes deliveries that refer to the alert. With the alert's row
locked FOR UPDATE, each waited for the other (review r2); without its key, neither does.
Real PostgreSQL, one connection each."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import close_old_connections
from django.test import Client
from django.urls import reverse

from alerts_saas.accounts.models import Role
from alerts_saas.alerts import firings
from alerts_saas.alerts.models import Firing
from integrations.pagerduty import removal
from tests.alerts.test_mute_release_deadlock import PATIENCE, _blocking_another
from tests.alerts.test_stop_watching import _per_host, _quiet

pytestmark = pytest.mark.django_db(transaction=True)
PERSON = "person"


@pytest.mark.parametrize("action", ["stop_watching", "resolve"])
def test_a_person_and_the_removal_of_a_service_never_wait_for_each_other(
    org, make_service, monkeypatch, action
):
    edge = make_service("Edge Gateway")
    alert = _per_host(org, edge)
    _quiet(org, alert, "web-1")
    firing = Firing.objects.get(alert=alert)
    locked, removed, errors = threading.Event(), threading.Event(), []
    real = firings._open_triggers

    def gated(found):  # the person's request, the alert's row held: on once removal waits
        if threading.current_thread().name == PERSON:
            locked.set()
            deadline = time.monotonic() + PATIENCE
            while not (_blocking_another() or removed.is_set()) and time.monotonic() < deadline:
                time.sleep(0.02)
        return real(found)

    monkeypatch.setattr(firings, "_open_triggers", gated)

    def person() -> None:
        client = Client(raise_request_exception=False)
        client.force_login(org.memberships.get(role=Role.OWNER).user)
        url = reverse(f"alerts:{action}", args=[org.slug, alert.pk])
        try:
            answer = client.post(url, {"value": "web-1", "firing": firing.pk})
            if answer.status_code != 302:
                errors.append(f"{action}: {answer.status_code}")
        finally:
            close_old_connections()

    thread = threading.Thread(target=person, name=PERSON)
    thread.start()
    assert locked.wait(PATIENCE)
    try:
        plan = removal.plan_service_removal(edge)
        removal.carry_out(plan, seen=plan.orphan_ids, move_to=None, actor=None)
    except Exception as exc:
        errors.append(f"removal: {exc!r}")
    removed.set()
    thread.join(PATIENCE * 2)
    assert errors == []
    assert Firing.objects.get(pk=firing.pk).cleared_at is not None
