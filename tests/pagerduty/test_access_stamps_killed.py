"""A worker killed in the middle of beat's access check (SIGKILL: nothing of its own runs
after) loses the stamps of its last few reads only: the reads are stamped as they go, ten at
a time (`access_check.STAMP`), not once the whole batch of 100 is read. A real second
process and database connection, the sandbox over real HTTP."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from alerts_saas.accounts.models import Organization
from integrations.pagerduty import access_check
from integrations.pagerduty.models import PagerDutyAccount
from tests.conftest import REPO, wait_for, worker_env
from tests.pagerduty.beat_reads import oauth_account, rest_calls
from tests.pagerduty_fixtures import EU_USER

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHECK = (
    "import django; django.setup(); "
    "from integrations.pagerduty import access_check; access_check.check_due()"
)


def test_a_worker_killed_mid_batch_keeps_the_stamps_of_the_reads_before_its_last_ten(
    org: Organization, pagerduty: Any
) -> None:
    assert access_check.BATCH > 13  # all in one batch: what the old code stamped at once
    us = [oauth_account(org, pagerduty, n=n) for n in range(1, 13)]
    # Read last (the highest id): PagerDuty's EU host does not answer it.
    eu = oauth_account(org, pagerduty, EU_USER, n=13)
    pagerduty.fault("rest-eu", "hang", seconds=120)
    checker = subprocess.Popen(
        [sys.executable, "-c", CHECK],
        cwd=REPO,
        env={
            **worker_env(pagerduty.url),
            "PAGERDUTY_ACCESS_CHECK_INTERVAL": "60",  # every account due in this run
            "PAGERDUTY_HTTP_TIMEOUT": "120",
        },
    )
    try:
        wait_for(
            lambda: len(rest_calls(pagerduty)) == 12,
            timeout=30,
            message="the twelve US accounts read",
        )
        time.sleep(1)  # into the EU account's read
    finally:
        checker.send_signal(signal.SIGKILL)
        checker.wait()
    pagerduty.clear_faults()

    checked = PagerDutyAccount.objects.filter(access_checked_at__isnull=False)
    # The first ten reads were stamped before the next began; the two after them and the
    # one under way died with the worker (the next interval reads them again).
    assert sorted(checked.values_list("pk", flat=True)) == [a.pk for a in us[:10]]
    assert not PagerDutyAccount.objects.filter(access_failed_at__isnull=False).exists()
    assert eu.pk not in checked.values_list("pk", flat=True)
