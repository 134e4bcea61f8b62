"""Removing a connected service, or a whole account, without leaving anything open.

Open incidents we raised on the service are resolved through the Events API first (the
resolves are ordinary deliveries, retried if PagerDuty is busy). Our integration on the
PagerDuty service is then deleted through the REST API when we created it: best effort,
after the resolves are through, with any failure reported. The local rows go at once;
the delivery history stays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import (
    Delivery,
    EventAction,
    PagerDutyAccount,
    PagerDutyService,
)
from integrations.pagerduty.provisioning import integration_name
from integrations.pagerduty.rest import AccountApi, PagerDutyApiError
from integrations.pagerduty.task_names import DELETE_INTEGRATION_WHEN_SETTLED, task

log = logging.getLogger(__name__)
INLINE_RESOLVES = 3  # tried during the request (bounded time); the rest go to the workers


@dataclass
class RemovalReport:
    service_name: str
    resolved: int = 0
    resolves_pending: int = 0
    integration_deleted: bool = False
    integration_deferred: bool = False
    integration_error: str = ""
    notes: list[str] = field(default_factory=list)


def remove_service(
    service: PagerDutyService, actor: Any, *, can_defer: bool = True
) -> RemovalReport:
    """Resolve what is open on `service`, delete our integration, and drop the row.

    With `can_defer`, an integration whose resolves are still being retried is deleted
    later by a task; without (the account is going too), it is left on PagerDuty.
    """
    report = RemovalReport(service_name=service.name)
    with transaction.atomic():
        resolves = engine.queue(
            [
                engine.build_event(service, EventAction.RESOLVE, key, created_by=actor)
                for key in engine.open_dedup_keys(service)
            ]
        )
    engine.attempt_many([r.pk for r in resolves[:INLINE_RESOLVES]])
    pending = list(
        Delivery.objects.filter(pk__in=[r.pk for r in resolves])
        .exclude(status=Delivery.Status.DELIVERED)
        .values_list("pk", flat=True)
    )
    report.resolved = len(resolves) - len(pending)
    report.resolves_pending = len(pending)
    account = service.account
    if service.created_integration and account and service.integration_id:
        if pending and can_defer:
            report.integration_deferred = _defer_deletion(account, service, pending)
            if not report.integration_deferred:
                report.integration_error = (
                    "the task queue is not answering, so it was left on PagerDuty; remove it "
                    "there once the queued resolves are through"
                )
        elif pending:
            report.integration_error = (
                "it was left on PagerDuty so that the resolves still being retried get "
                "through; remove it in PagerDuty later"
            )
        else:
            report.integration_error = delete_integration(
                account, service.pd_service_id, service.integration_id
            )
            report.integration_deleted = not report.integration_error
    service.delete()
    return report


def _defer_deletion(
    account: PagerDutyAccount, service: PagerDutyService, pending: list[int]
) -> bool:
    try:
        task(DELETE_INTEGRATION_WHEN_SETTLED).delay(
            account.pk, service.pd_service_id, service.integration_id, pending
        )
    except Exception as exc:  # broker unreachable
        log.warning("Could not queue the integration deletion (%s)", exc.__class__.__name__)
        return False
    return True


def delete_integration(account: PagerDutyAccount, pd_service_id: str, integration_id: str) -> str:
    """Delete our integration on PagerDuty; return '' or why it could not be done."""
    if account.needs_reconnect:
        return "the PagerDuty account needs reconnecting, so the integration was left in place"
    try:
        AccountApi(account).delete_integration(pd_service_id, integration_id)
    except PagerDutyApiError as exc:
        log.warning("Deleting integration on service %s failed: %s", pd_service_id, exc.message)
        if exc.status == 405:
            # PagerDuty's published REST API has no DELETE for service integrations.
            return (
                f"PagerDuty's API does not allow deleting integrations. Remove "
                f"“{integration_name(account.organization)}” from the service's Integrations "
                "tab in PagerDuty; it can no longer page anyone from here"
            )
        return exc.message
    return ""


def disconnect_account(account: PagerDutyAccount, actor: Any) -> list[RemovalReport]:
    """Remove every service of the account, then the account and its tokens."""
    reports = [
        remove_service(service, actor, can_defer=False) for service in account.services.all()
    ]
    account.delete()
    return reports
