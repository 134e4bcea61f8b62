"""Deleting our webhook subscriptions in PagerDuty once their services are gone, in a worker.

Removing services, disconnecting an account or deleting an organization writes, in its own
transaction, one `Unsubscription` per account: the subscription ids left to delete and the
account's tokens as they are then (encrypted, as on the account, since the account's row may
go in the same transaction). Its task is queued once that commits, so the request never
waits on PagerDuty; task arguments carry the row's id only, never a token.

The task claims its row with a lease (a compare-and-set on `next_attempt_at`), so two tasks
never work on one row, then deletes what is left:
- deleted, or 404 (already gone): done; the row goes, its tokens with it;
- 429, 5xx, PagerDuty unreachable: tried again with the deliveries' backoff, for as long as
  deliveries are (`DELIVERY_GIVE_UP_AFTER`, a day);
- anything else (401: access revoked), or the last try: a warning in words (the ids, the
  account, the reason; never a token) and the row goes.
Beat's `sweep` queues again a row whose task was lost (the broker down at the commit, a
worker killed mid-try, its lease run out).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from oauthlib.oauth2 import OAuth2Error
from requests import RequestException

from integrations.pagerduty import oauth
from integrations.pagerduty.delivery import backoff
from integrations.pagerduty.incidents.models import Unsubscription, WebhookSubscription
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.rest import AccountApi, PagerDutyApiError
from integrations.pagerduty.task_names import DELETE_SUBSCRIPTIONS, task
from integrations.pagerduty.tokens import PERMANENT_ERRORS

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)  # longer than one try: a few calls, each bounded by the client
SWEEP_GRACE = timedelta(minutes=1)  # a queued task is due within the cap of the backoff
TRANSIENT = {429, 500, 502, 503, 504}


def capture(services: Iterable[PagerDutyService]) -> list[int]:
    """Write the rows for the subscriptions of `services`, in the caller's transaction (two
    queries); their ids. Call it before the services' (and accounts') rows are deleted."""
    subscriptions = (
        WebhookSubscription.objects.select_related("account")
        .filter(service__in=list(services))
        .exclude(pd_subscription_id="")
        .order_by("pk")
    )
    by_account: dict[int, list[WebhookSubscription]] = {}
    for subscription in subscriptions:
        by_account.setdefault(subscription.account_id, []).append(subscription)
    rows = [_row(found[0].account, found) for found in by_account.values()]
    return [row.pk for row in Unsubscription.objects.bulk_create(rows)]


def _row(account: PagerDutyAccount, found: list[WebhookSubscription]) -> Unsubscription:
    return Unsubscription(
        account=account,
        organization_ref=account.organization_id,
        subdomain=account.subdomain,
        region=account.region,
        subscription_ids=[s.pd_subscription_id for s in found],
        access_token=account.access_token,
        refresh_token=account.refresh_token,
        expires_at=account.expires_at,
    )


def queue_on_commit(row_ids: list[int]) -> None:
    if row_ids:
        transaction.on_commit(lambda: queue(row_ids))


def queue(row_ids: list[int], countdown: float = 0) -> None:
    """Hand rows to the workers; if the broker is down, they wait for the sweep."""
    for row_id in row_ids:
        try:
            task(DELETE_SUBSCRIPTIONS).apply_async((row_id,), countdown=countdown)
        except Exception as exc:  # the row is safe in the database
            log.warning(
                "Could not queue deleting webhook subscriptions (%s); the sweep will.",
                exc.__class__.__name__,
            )


def attempt(row_id: int) -> str:
    """One try at the row's deletions: "done", "retry", "failed", or "not ours" (another
    task holds it, or it is done already)."""
    now = timezone.now()
    claimed = Unsubscription.objects.filter(pk=row_id, next_attempt_at__lte=now).update(
        next_attempt_at=now + LEASE, attempts=F("attempts") + 1
    )
    if not claimed:
        return "not ours"
    row = Unsubscription.objects.select_related("account").get(pk=row_id)
    api = AccountApi(row.account) if row.account is not None else CapturedApi(row)
    left = list(row.subscription_ids)
    try:
        while left:
            _delete_one(api, left[0])
            left.pop(0)
    except PagerDutyApiError as exc:
        return _failed(row, left, exc)
    row.delete()
    log.info("Webhook subscriptions %s deleted in PagerDuty", ", ".join(row.subscription_ids))
    return "done"


def _delete_one(api: AccountApi, subscription_id: str) -> None:
    try:
        api.delete_webhook_subscription(subscription_id)
    except PagerDutyApiError as exc:
        if exc.status != 404:  # already gone: what was asked is done
            raise


def _failed(row: Unsubscription, left: list[str], exc: PagerDutyApiError) -> str:
    """Try `left` again later, or give up, saying so in the log."""
    now = timezone.now()
    delay = backoff(row.attempts)
    if (exc.status is None or exc.status in TRANSIENT) and (
        now + timedelta(seconds=delay) <= row.created_at + settings.DELIVERY_GIVE_UP_AFTER
    ):
        row.subscription_ids, row.last_error = left, _reason(exc)[:500]
        row.next_attempt_at = now + timedelta(seconds=delay)
        row.save(update_fields=["subscription_ids", "last_error", "next_attempt_at"])
        queue([row.pk], countdown=delay)
        log.info(
            "Deleting webhook subscription(s) %s in PagerDuty is tried again in %.0f s: %s",
            ", ".join(left),
            delay,
            row.last_error,
        )
        return "retry"
    log.warning(
        "Tripwire gave up deleting its webhook subscription(s) %s in PagerDuty account %s "
        "(%s, organization %s) after %d attempt(s). Last error: %s PagerDuty keeps sending "
        "their incident updates, which Tripwire refuses, until it turns them off or someone "
        "deletes them in PagerDuty (Integrations, Generic Webhooks (v3)).",
        ", ".join(left),
        row.subdomain,
        row.region.upper(),
        row.organization_ref,
        row.attempts,
        _reason(exc),
    )
    row.delete()
    return "failed"


def _reason(exc: PagerDutyApiError) -> str:
    """What went wrong, in words, ending with a full stop (never a token)."""
    said = exc.message.rstrip(".") + "."
    return f"PagerDuty answered {exc.status}: {said}" if exc.status else said


def sweep() -> int:
    """Queue again the rows whose task was lost; how many."""
    due = timezone.now() - SWEEP_GRACE
    ids = list(
        Unsubscription.objects.filter(next_attempt_at__lte=due)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )
    if ids:
        queue(ids)
    return len(ids)


class CapturedApi(AccountApi):
    """REST calls with the tokens kept on an `Unsubscription`, once its account is gone.
    They are refreshed as the account's would be, and the new ones kept on the row (which
    only its lease holder touches)."""

    def __init__(self, row: Unsubscription) -> None:
        super().__init__(
            PagerDutyAccount(
                region=row.region, access_token=row.access_token, expires_at=row.expires_at
            )
        )
        self.row = row

    def _fresh(self) -> None:
        if self.account.expires_soon(margin=timedelta(minutes=1)):
            self._refresh()

    def _refresh(self) -> None:
        try:
            token = oauth.refresh(self.row.refresh_token)
        except OAuth2Error as exc:
            status = 401 if exc.error in PERMANENT_ERRORS else None
            raise PagerDutyApiError(
                f"PagerDuty refused to refresh Tripwire's access ({exc.error}).", status
            ) from exc
        except (RequestException, ValueError) as exc:
            raise PagerDutyApiError("PagerDuty could not be reached to refresh access.") from exc
        row = self.row
        row.access_token = self.account.access_token = token["access_token"]
        row.refresh_token = token.get("refresh_token") or row.refresh_token
        row.expires_at = timezone.now() + timedelta(seconds=int(token.get("expires_in") or 0))
        self.account.expires_at = row.expires_at
        row.save(update_fields=["access_token", "refresh_token", "expires_at"])
