"""Disabling the firing alerts of an organization about to be deleted locks the alerts'
rows once (by the clearing of their firings, in pk order before the firings), not once
more beforehand; an alert's firing still open after that is cleared too."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.org_deletion import deletion

pytestmark = pytest.mark.django_db


def _firing(org: Organization, name: str, enabled: bool = True) -> Alert:
    alert = Alert.objects.create(organization=org, name=name, threshold=1, enabled=enabled)
    Firing.objects.create(organization=org, alert=alert, opened_at=timezone.now(), count_at_open=1)
    return alert


def test_the_alerts_are_locked_once(org: Organization) -> None:
    _firing(org, "Backup heartbeat")
    _firing(org, "Checkout errors")
    _firing(org, "Nightly export", enabled=False)

    with CaptureQueriesContext(connection) as captured:
        done = deletion.disable_firing_alerts(org)

    locks = [
        q["sql"]
        for q in captured.captured_queries
        if 'FROM "alerts_alert"' in q["sql"] and "FOR NO KEY UPDATE" in q["sql"]
    ]
    assert len(locks) == 1, locks
    assert [a.name for a in done.alerts] == ["Backup heartbeat", "Checkout errors"]
    assert [a.name for a in done.already_off] == ["Nightly export"]
    assert done.already_off_firings == 1
    assert not Firing.objects.filter(organization=org, cleared_at__isnull=True).exists()
    assert not Alert.objects.filter(organization=org, enabled=True).exists()
