from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from integrations.pagerduty import delivery
from integrations.pagerduty.models import PagerDutyAccount
from integrations.pagerduty.tokens import TokenRefreshError, refresh_tokens

log = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_deliveries(delivery_ids: list[int]) -> dict[int, str]:
    return delivery.attempt_many(delivery_ids)


@shared_task(ignore_result=True)
def sweep_deliveries() -> int:
    return delivery.sweep()


@shared_task(ignore_result=True)
def refresh_expiring_tokens() -> int:
    """Refresh every connected account whose access token expires within the margin."""
    from django.conf import settings

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


@shared_task(bind=True, ignore_result=True, max_retries=None)
def delete_integration_when_settled(
    self, account_id: int, pd_service_id: str, integration_id: str, delivery_ids: list[int]
) -> str:
    """Delete our integration once the resolves sent through it are final (or 24 h passed)."""
    from integrations.pagerduty.models import Delivery
    from integrations.pagerduty.removal import delete_integration

    account = PagerDutyAccount.objects.filter(pk=account_id).first()
    if account is None:
        return "account gone"
    unsettled = Delivery.objects.filter(pk__in=delivery_ids).exclude(
        status__in=[Delivery.Status.DELIVERED, Delivery.Status.FAILED]
    )
    if unsettled.exists():
        raise self.retry(countdown=60)
    return delete_integration(account, pd_service_id, integration_id) or "deleted"
