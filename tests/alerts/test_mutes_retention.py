"""Mute windows' retention: a one-off window is kept `MUTE_RETENTION_DAYS` after its end,
then beat deletes it in small capped batches, for every organization; weekly windows and
ones not over stay, and the audit log reads the same after."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from datetime import time as clock

import pytest
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, MuteWindow
from alerts_saas.alerts.retention import prune_mute_windows
from alerts_saas.alerts.tasks import prune_mute_windows as prune_task
from alerts_saas.audit.models import Action, Entry
from integrations.pagerduty.models import PagerDutyService
from tests.conftest import REPO

DAY = timedelta(days=1)


def once(org: Organization, ends: datetime, reason: str = "", **subject: object) -> MuteWindow:
    return MuteWindow.objects.create(
        organization=org,
        starts_at=ends - timedelta(hours=2),
        ends_at=ends,
        reason=reason,
        **subject,
    )


def subjects(org: Organization) -> tuple[Alert, PagerDutyService]:
    alert = Alert.objects.create(organization=org, name="Checkout errors", threshold=1)
    service = PagerDutyService.objects.create(
        organization=org, name="Checkout", region="us", integration_key=f"{org.pk:032d}"
    )
    return alert, service


@pytest.mark.django_db
def test_old_ended_one_off_windows_go_in_batches_for_every_org_and_the_rest_stay(
    org, make_org, admin_client, settings
):
    settings.MUTE_RETENTION_DAYS = 30
    now = timezone.now()
    gone, kept = [], []
    for n, o in enumerate((org, make_org("Other Co"))):
        alert, service = subjects(o)
        # Ended 31 days ago or more, one-off: pruned (the longest ended first).
        gone += [once(o, now - (31 + 2 * n + k) * DAY, alert=alert) for k in range(2)]
        gone.append(once(o, now - 400 * DAY, service=service))
        # Ended within retention, muting now, or to come: kept.
        kept.append(once(o, now - 29 * DAY, reason="last month's deploy", alert=alert))
        kept.append(once(o, now + timedelta(hours=1), reason="deploy now", alert=alert))
        kept.append(once(o, now + 3 * DAY, service=service))
        # Weekly windows have no end: never pruned, however old.
        weekly = MuteWindow.objects.create(
            organization=o, alert=alert, weekdays="6", start_time=clock(2), duration_minutes=120
        )
        MuteWindow.objects.filter(pk=weekly.pk).update(created_at=now - 800 * DAY)
        kept.append(weekly)
    entries = set(Entry.objects.filter(object_type="mute_window").values_list("pk", flat=True))
    assert len(entries) == len(gone) + len(kept)  # each window's "muted ..." entry

    # Capped: two batches of two, the longest ended first, then the run stops.
    result = prune_mute_windows(batch_size=2, max_batches=2)
    assert (result.deleted, result.batches, result.capped) == (4, 2, True)
    by_end = sorted(gone, key=lambda w: w.ends_at)
    left = set(MuteWindow.objects.values_list("pk", flat=True))
    assert left == {w.pk for w in by_end[4:] + kept}
    # Beat's task carries on where the run stopped; a second run finds nothing.
    assert prune_task() == len(gone) - 4
    assert set(MuteWindow.objects.values_list("pk", flat=True)) == {w.pk for w in kept}
    assert prune_mute_windows().deleted == 0

    # The audit log keeps its record of the pruned windows, and pruning wrote none.
    after = Entry.objects.filter(object_type="mute_window")
    assert set(after.values_list("pk", flat=True)) == entries
    assert not after.filter(action=Action.DELETED).exists()
    activity = admin_client.get(f"/o/{org.slug}/settings/activity/").content.decode()
    assert activity.count("muted alert") == 5  # the alert's five windows, two of them pruned

    # The alert page lists only the windows not over yet, as before.
    alert = Alert.objects.get(organization=org)
    page = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    assert "deploy now" in page and "last month's deploy" not in page


def test_mute_retention_is_90_days_unless_the_environment_says_otherwise(settings):
    assert settings.MUTE_RETENTION_DAYS == 90
    beat = settings.CELERY_BEAT_SCHEDULE["alerts-prune-mute-windows"]
    assert beat["task"] == "alerts_saas.alerts.tasks.prune_mute_windows"

    def read(days: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "MUTE_RETENTION_DAYS": days}
        env["DJANGO_SETTINGS_MODULE"] = "alerts_saas.settings"
        code = "from django.conf import settings; print(settings.MUTE_RETENTION_DAYS)"
        return subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
        )

    assert read("7").stdout.strip() == "7"
    refused = read("0")
    assert refused.returncode != 0 and "MUTE_RETENTION_DAYS must be at least 1" in refused.stderr
