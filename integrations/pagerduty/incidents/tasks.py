"""Incident sync's Celery tasks."""

from __future__ import annotations

from celery import shared_task

from integrations.pagerduty.incidents import (
    activity,
    oncall,
    retention,
    subscriptions,
    unsubscriptions,
)
from integrations.pagerduty.models import PagerDutyService
from integrations.pagerduty.task_names import DELETE_SUBSCRIPTIONS


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def apply_activity(activity_id: int) -> None:
    activity.apply(activity_id)


@shared_task(ignore_result=True)
def apply_pending() -> int:
    """Beat: webhooks kept but not applied (a worker died, the broker was down)."""
    return activity.apply_pending()


@shared_task(ignore_result=True)
def subscribe_services(service_ids: list[int]) -> None:
    for service in PagerDutyService.objects.select_related("account", "organization").filter(
        pk__in=service_ids, account__isnull=False
    ):
        subscriptions.subscribe(service)


@shared_task(ignore_result=True)
def check_subscriptions() -> int:
    return subscriptions.check_all()


@shared_task(
    name=DELETE_SUBSCRIPTIONS,
    ignore_result=True,
    soft_time_limit=unsubscriptions.SOFT_TIME_LIMIT,
    time_limit=unsubscriptions.TIME_LIMIT,
)
def delete_subscriptions(unsubscription_id: int) -> str:
    """Our subscriptions on removed services, deleted in PagerDuty (retries queue anew); one
    try at a time across the workers (`unsubscriptions._slot`), so pages always find one."""
    return unsubscriptions.attempt(unsubscription_id)


@shared_task(ignore_result=True)
def sweep_unsubscriptions() -> int:
    """Beat: rows whose deleting task was lost, queued again."""
    return unsubscriptions.sweep()


@shared_task(ignore_result=True)
def refresh_on_call(service_ids: list[int]) -> None:
    oncall.refresh(service_ids)


@shared_task(ignore_result=True)
def prune_incidents() -> int:
    return retention.prune_incidents().deleted
