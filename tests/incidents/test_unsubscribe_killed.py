"""A worker killed in the middle of deleting our webhook subscriptions (SIGKILL: no cleanup
of its own) frees the one cleanup slot with its process: the next try runs at once, not
when a lease runs out ten minutes later. A real second process and database connection."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from django.utils import timezone

from integrations.pagerduty.incidents import unsubscriptions
from integrations.pagerduty.incidents.models import Unsubscription, WebhookSubscription
from tests.conftest import REPO, wait_for, worker_env
from tests.incidents import test_unsubscriptions as base

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ours = base.ours  # its fixture

TRY = (
    "import sys, django; django.setup(); "
    "from integrations.pagerduty.incidents import unsubscriptions; "
    "unsubscriptions.attempt(int(sys.argv[1]))"
)


def test_a_worker_killed_mid_try_frees_the_slot_at_once(
    ours: WebhookSubscription, pagerduty, monkeypatch
) -> None:
    monkeypatch.setattr(unsubscriptions, "queue", lambda ids, countdown=0: None)
    [row_id] = unsubscriptions.capture([ours.service])
    pagerduty.fault("rest-us", "hang", seconds=120)  # the try waits on PagerDuty
    holder = subprocess.Popen(
        [sys.executable, "-c", TRY, str(row_id)],
        cwd=REPO,
        env={**worker_env(pagerduty.url), "PAGERDUTY_UNSUBSCRIBE_TIMEOUT": "120"},
    )
    try:
        wait_for(
            lambda: Unsubscription.objects.filter(pk=row_id, attempts=1).exists(),
            timeout=30,
            message="the other process's try under way",
        )
        time.sleep(0.5)  # into its request to PagerDuty
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    pagerduty.clear_faults()

    Unsubscription.objects.update(next_attempt_at=timezone.now())  # the sweep's queuing
    wait_for(
        lambda: unsubscriptions.attempt(row_id) == "done",
        timeout=5,
        message="the slot freed by the killed worker",
    )
    assert pagerduty.webhook_subscriptions() == []
    assert not Unsubscription.objects.exists()


HOLD_FILE_SLOT = (
    "import django, time; django.setup(); "
    "from integrations.pagerduty.incidents import unsubscriptions; "
    "slot = unsubscriptions._file_slot(); assert slot.__enter__(); print('held', flush=True); "
    "time.sleep(120)"
)


def test_on_sqlite_the_slot_is_a_file_lock_that_dies_with_its_process(pagerduty) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_FILE_SLOT],
        cwd=REPO,
        env=worker_env(pagerduty.url),
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        with unsubscriptions._file_slot() as held:
            assert not held
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with unsubscriptions._file_slot() as held:
        assert held
