"""Our webhooks v3 subscription on each service connected through OAuth.

One subscription a service, filtered to that service (the narrowest filter PagerDuty
offers) and to the incident events we show. Connecting makes it (or finds ours again),
removing the service deletes it (in a worker: `unsubscriptions`), and beat checks them: one
PagerDuty disabled after failed deliveries is enabled again, one that is gone is made anew,
and what cannot be done is kept in `problem`, in words, for the integrations page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from integrations.pagerduty.incidents import unsubscriptions
from integrations.pagerduty.incidents.models import WebhookSubscription, new_token
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.rest import AccountApi, PagerDutyApiError

log = logging.getLogger(__name__)

EVENTS = [
    "incident.triggered",
    "incident.acknowledged",
    "incident.unacknowledged",
    "incident.reassigned",
    "incident.escalated",
    "incident.delegated",
    "incident.resolved",
    "incident.reopened",
    "incident.annotated",
]


def _description(service: PagerDutyService) -> str:
    return f"{settings.PRODUCT_NAME}: incident updates for {service.organization.name}"


def subscribe(service: PagerDutyService) -> WebhookSubscription | None:
    """Make sure `service` (connected through OAuth) has our working subscription. Never
    raises for PagerDuty's sake: a failure is kept on the row and tried again by beat."""
    if service.account_id is None:
        return None  # a pasted key: no token to subscribe with
    row, _ = WebhookSubscription.objects.get_or_create(
        service=service,
        defaults={
            "organization_id": service.organization_id,
            "account_id": service.account_id,
            "token": new_token(),
            "url": "",
        },
    )
    _ensure(row, service)
    return row


def _ensure(row: WebhookSubscription, service: PagerDutyService) -> None:
    api = AccountApi(service.account)  # type: ignore[arg-type]  # OAuth services have one
    try:
        if row.pd_subscription_id and row.secret:
            found = _existing(api, row)
            if found is not None:
                if not found.get("active", True):
                    api.enable_webhook_subscription(row.pd_subscription_id)
                _mark(row, active=True, problem="")
                return
        elif row.pd_subscription_id:  # kept without its secret: what it sends can't be checked
            _delete_remote(api, row.pd_subscription_id)
        url = settings.SITE_URL + reverse("pagerduty_incidents:receive", args=[row.token])
        created = api.create_webhook_subscription(
            service.pd_service_id, url, EVENTS, _description(service)
        )
        secret = str((created.get("delivery_method") or {}).get("secret") or "")
        if not secret:
            _delete_remote(api, str(created["id"]))
    except PagerDutyApiError as exc:
        log.warning("Webhook subscription for service %s failed: %s", service.pk, exc.message)
        _mark(row, active=False, problem=f"PagerDuty did not take our subscription: {exc.message}")
        return
    row.pd_subscription_id = str(created["id"]) if secret else ""
    row.secret, row.url = secret, url
    row.save(update_fields=["pd_subscription_id", "secret", "url"])
    if not secret:
        log.warning("Webhook subscription for service %s came without a secret", service.pk)
        _mark(row, active=False, problem=UNSIGNED_PROBLEM)
        return
    _mark(row, active=True, problem="")


# A subscription whose signing secret PagerDuty did not send is deleted again: webhooks
# that can't be checked are refused, and beat tries anew.
UNSIGNED_PROBLEM = (
    "PagerDuty did not send our subscription's signing secret, so incident updates "
    "could not be trusted. It is tried again within the hour."
)


def _delete_remote(api: AccountApi, subscription_id: str) -> None:
    """Delete a subscription of ours in PagerDuty; one already gone is fine."""
    try:
        api.delete_webhook_subscription(subscription_id)
    except PagerDutyApiError as exc:
        if exc.status != 404:
            raise


def _existing(api: AccountApi, row: WebhookSubscription) -> dict[str, object] | None:
    """Our subscription as PagerDuty has it, or None if it is gone (made again then)."""
    try:
        return api.get_webhook_subscription(row.pd_subscription_id)
    except PagerDutyApiError as exc:
        if exc.status == 404:
            return None
        raise


def _mark(row: WebhookSubscription, *, active: bool, problem: str) -> None:
    row.active, row.problem, row.checked_at = active, problem[:500], timezone.now()
    row.save(update_fields=["active", "problem", "checked_at"])


def check_all() -> int:
    """Beat: every subscription checked (and mended); returns how many have a problem."""
    rows = WebhookSubscription.objects.select_related(
        "service__account", "service__organization"
    ).filter(service__account__status=PagerDutyAccount.Status.ACTIVE)
    for row in rows:
        _ensure(row, row.service)
    return WebhookSubscription.objects.exclude(problem="").count()


def unsubscribe_on_commit(services: Iterable[PagerDutyService]) -> None:
    """The subscriptions of services about to be removed, deleted in PagerDuty by a worker
    once the removal commits (`unsubscriptions`: with the account's own tokens, or, if the
    account goes too, its tokens as they were then). Nothing here waits on PagerDuty."""
    unsubscriptions.queue_on_commit(unsubscriptions.capture(services))
