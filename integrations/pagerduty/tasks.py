"""PagerDuty's Celery tasks: the top layer, calling the delivery engine and the removal code.

Those modules queue these tasks by name (task_names.py) and never import this one.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone

from integrations.pagerduty import delivery, retention
from integrations.pagerduty.models import Delivery, PagerDutyAccount
from integrations.pagerduty.removal import delete_integration
from integrations.pagerduty.task_names import (
    DELETE_INTEGRATION_WHEN_SETTLED,
    PRUNE_DELIVERIES,
    REFRESH_EXPIRING_TOKENS,
    SEND_DELIVERIES,
    SWEEP_DELIVERIES,
)
from integrations.pagerduty.tokens import TokenRefreshError, refresh_tokens

log = logging.getLogger(__name__)


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
    """Refresh every connected account whose access token expires within the margin."""
    due = PagerDutyAccount.objects.filter(
        status=PagerDutyAccount.Status.ACTIVE,
        expires_at__lte=timezone.now() + settings.PAGERDUTY_REFRESH_MARGIN,
    )
    refreshed = 0
    for account in due:
        try:
            refresh_tokens(account)
            refreshed += 1
        except TokenRefreshError as exc:
            log.warning("Token refresh for PagerDuty account %s failed: %s", account.pk, exc)
    return refreshed


@shared_task(name=DELETE_INTEGRATION_WHEN_SETTLED, bind=True, ignore_result=True, max_retries=None)
def delete_integration_when_settled(
    self: Task[Any, str],
    account_id: int,
    pd_service_id: str,
    integration_id: str,
    delivery_ids: list[int],
) -> str:
    """Delete our integration once the resolves sent through it are final (or 24 h passed)."""
    account = PagerDutyAccount.objects.filter(pk=account_id).first()
    if account is None:
        return "account gone"
    unsettled = Delivery.objects.filter(pk__in=delivery_ids).exclude(
        status__in=[Delivery.Status.DELIVERED, Delivery.Status.FAILED]
    )
    if unsettled.exists():
        raise self.retry(countdown=60)
    return delete_integration(account, pd_service_id, integration_id) or "deleted"
