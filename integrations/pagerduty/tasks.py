"""PagerDuty's Celery tasks: the top layer, calling the delivery engine.

The engine queues these tasks by name (task_names.py) and never imports this one.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from integrations.pagerduty import access_check, delivery, retention, service_check
from integrations.pagerduty.models import PagerDutyAccount
from integrations.pagerduty.task_names import (
    CHECK_ACCESS,
    CHECK_SERVICES,
    PRUNE_DELIVERIES,
    REFRESH_EXPIRING_TOKENS,
    SEND_DELIVERIES,
    SWEEP_DELIVERIES,
)
from integrations.pagerduty.tokens import TokenRefreshError, refresh_tokens


@shared_task(name=SEND_DELIVERIES, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_deliveries(delivery_ids: list[int]) -> dict[int, str]:
    return delivery.attempt_many(delivery_ids)


@shared_task(name=SWEEP_DELIVERIES, ignore_result=True)
def sweep_deliveries() -> int:
    return delivery.sweep()


@shared_task(name=PRUNE_DELIVERIES, ignore_result=True)
def prune_deliveries() -> int:
    """Delete final deliveries past retention, in capped batches: see `retention`."""
    return retention.prune_deliveries().deleted


@shared_task(name=REFRESH_EXPIRING_TOKENS, ignore_result=True)
def refresh_expiring_tokens() -> int:
    """Refresh every connected account whose access token expires within the margin. A
    failure is told once, by the refresh: INFO if just then (the next beat tries again),
    WARNING if the grant was refused."""
    due = PagerDutyAccount.objects.filter(
        status=PagerDutyAccount.Status.ACTIVE,
        expires_at__lte=timezone.now() + settings.PAGERDUTY_REFRESH_MARGIN,
    )
    refreshed = 0
    for account in due:
        try:
            refresh_tokens(account)
            refreshed += 1
        except TokenRefreshError:
            pass  # the refresh said so
    return refreshed


@shared_task(name=CHECK_SERVICES, ignore_result=True)
def check_services() -> int:
    """Beat, every minute: this minute's slice of the connected accounts, each read once per
    interval for services deleted in PagerDuty or without our integration (`service_check`)."""
    return service_check.check_due()


@shared_task(name=CHECK_ACCESS, ignore_result=True)
def check_access() -> dict[str, int]:
    """Beat, every minute: this minute's slice of the connected accounts that the services'
    check does not read, each read once per interval to find access PagerDuty withdrew
    (`access_check`); the outcomes counted."""
    return {str(outcome): n for outcome, n in access_check.check_due().items()}
