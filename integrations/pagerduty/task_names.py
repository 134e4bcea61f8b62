"""The PagerDuty tasks by name, for the modules below tasks.py that queue them.

tasks.py is the top layer: its tasks call the delivery engine, which queues tasks in turn
(deliveries to send), by name, so it never imports tasks.py. The names are the ones the
tasks always had: the beat schedule and messages already in the queue use them.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from celery.canvas import Signature

SEND_DELIVERIES = "integrations.pagerduty.tasks.send_deliveries"
SWEEP_DELIVERIES = "integrations.pagerduty.tasks.sweep_deliveries"
REFRESH_EXPIRING_TOKENS = "integrations.pagerduty.tasks.refresh_expiring_tokens"
PRUNE_DELIVERIES = "integrations.pagerduty.tasks.prune_deliveries"
CHECK_SERVICES = "integrations.pagerduty.tasks.check_services"
CHECK_ACCESS = "integrations.pagerduty.tasks.check_access"
DELETE_SUBSCRIPTIONS = "integrations.pagerduty.incidents.tasks.delete_subscriptions"


def task(name: str) -> Signature[Any]:
    """The task called `name`, to queue with `.apply_async()` or `.delay()`.

    The app registers the tasks on start (see apps.py), so this queues through the task
    itself, with its options, exactly as calling it from tasks.py would.
    """
    return current_app.signature(name)
