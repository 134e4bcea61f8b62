"""Deleting our webhook subscriptions in PagerDuty once their services are gone, in a worker.

Removing services, disconnecting an account or deleting an organization writes, in its own
transaction, one `Unsubscription` per account: the subscription ids left to delete. No
tokens: while the account is there, its own are used (PagerDuty rotates the refresh token
on every refresh, so a copy would go stale). When the account's row is deleted, its current
tokens are copied onto all its pending rows in that transaction (`keep_tokens`, encrypted as
on the account). The task is queued once the removal commits, so the request never waits
on PagerDuty; task arguments carry the row's id only, never a token.

Cleanup must never hold up pages, which share the workers: one try runs at a time, holding
the one cleanup slot (`_slot`: a session advisory lock on PostgreSQL, a file lock on SQLite,
either freed by the database or the kernel as soon as its holder's connection or process
dies, so a killed worker frees it at once; a connection the soft time limit broke
mid-command is closed with its query cancelled, so PostgreSQL ends that session now), makes
one request per call with a short timeout and none of the client's retries, starts no
delete after `TRY_BUDGET` (the rest is queued again at once) and is stopped by the task's
time limits. A try that ends frees the slot and hands over to the next row due. Then:
- deleted, or 404 (already gone): done; the row goes, its tokens with it;
- 429, 5xx, PagerDuty (or its sign-in host) unreachable or failing, or anything unexpected:
  tried again after as long as the deleting has gone on (1 min doubling to 1 h), for a day
  (`DELIVERY_GIVE_UP_AFTER`);
- anything else (401 or a refused grant: access revoked), or past the day: a warning in
  words (the ids, the account, the reason; never a token) and the row goes.
Beat's `sweep`, holding the slot for a moment, gives up the rows past their day that no try
finished, and queues a row due whose task was lost (the broker down at the commit, a worker
killed mid-try).
"""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from oauthlib.oauth2 import OAuth2Error
from requests import RequestException

from integrations.pagerduty import oauth
from integrations.pagerduty.incidents.models import Unsubscription, WebhookSubscription
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.rest import AccountApi, PagerDutyApiError
from integrations.pagerduty.task_names import DELETE_SUBSCRIPTIONS, task
from integrations.pagerduty.tokens import PERMANENT_ERRORS, TokenRefreshError

log = logging.getLogger(__name__)

TRY_BUDGET = 60.0  # seconds into a try after which no delete starts; the rest is queued
SOFT_TIME_LIMIT = 120  # the task's limits (seconds): a call is at most two refreshes and
TIME_LIMIT = 150  # two requests, each bounded by its timeout
SWEEP_GRACE = timedelta(minutes=1)  # a queued task is due within this
QUEUE_AHEAD = timedelta(minutes=15)  # a longer wait is left to the sweep, not the broker
TRANSIENT = {429, 500, 502, 503, 504}
_SLOT = 7_372_911  # the PostgreSQL advisory lock that is the one cleanup slot


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
        account_ref=account.pk,
        organization_ref=account.organization_id,
        subdomain=account.subdomain,
        region=account.region,
        subscription_ids=[s.pd_subscription_id for s in found],
        expires_at=timezone.now(),  # no tokens until the account goes (`keep_tokens`)
    )


def keep_tokens(account: PagerDutyAccount) -> None:
    """The account's row is being deleted (in this transaction): its current tokens, read
    locked, onto each of its pending rows, which use them from now on (two queries)."""
    current = (
        PagerDutyAccount.objects.select_for_update()
        .filter(pk=account.pk)
        .values("access_token", "refresh_token", "expires_at")
        .first()
    )
    if current is not None:
        Unsubscription.objects.filter(account_id=account.pk).update(**current)


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
    """One try at the row's deletions: "done", "retry", "more" (queued again for the rest),
    "failed", "busy" (another try holds the slot; it hands over when it ends, or the sweep
    queues the row) or "not ours" (not due, or done already)."""
    with _slot() as held:
        if not held:
            return "busy"
        outcome = _claimed_try(row_id, timezone.now())
    if outcome != "not ours":
        _hand_over()  # the slot is free now, for the task it queues
    return outcome


def _claimed_try(row_id: int, now: datetime) -> str:
    """The try, by the slot's holder (which alone touches rows being tried)."""
    due = Unsubscription.objects.filter(pk=row_id, next_attempt_at__lte=now)
    if not due.update(attempts=F("attempts") + 1):
        return "not ours"
    return _try(Unsubscription.objects.select_related("account").get(pk=row_id))


@contextmanager
def _slot() -> Iterator[bool]:
    """The one cleanup slot, taken without waiting: whether it was free. Every other worker
    slot stays free for pages. It is a session advisory lock on PostgreSQL and a file lock
    on SQLite (one machine), so it goes with its holder's connection or process: a worker
    killed mid-try frees it at once, where a lease would hold it until it ran out."""
    if connection.vendor != "postgresql":
        with _file_slot() as held:
            yield held
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_SLOT])
        held = bool(cursor.fetchone()[0])
    session = connection.connection  # the session holding the slot, if held
    try:
        yield held
    finally:
        if held:
            _unlock(session)


def _unlock(session: object) -> None:
    if connection.connection is not session:
        return  # `_drop_broken` closed that session: PostgreSQL ends it, freeing the slot
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_SLOT])
    except DatabaseError:  # broken mid-command (the soft time limit inside a query)
        _drop_broken()
        log.info(
            "The cleanup slot's database connection broke; Tripwire closed it, and the slot "
            "is freed when PostgreSQL ends that session."
        )


def _drop_broken() -> None:
    """A connection left mid-command can't be used again, and its session (with the slot)
    would last until the server's query ended: cancel that query and close the connection,
    so PostgreSQL ends the session now. The next query opens a fresh connection."""
    raw = connection.connection
    if connection.vendor == "postgresql" and raw is not None:
        try:
            raw.cancel_safe(timeout=5)  # only if a query is under way
        except Exception as exc:  # closing still ends the session, once the query ends
            log.info("Cancelling the cleanup's query failed (%s).", exc.__class__.__name__)
    connection.close()


@contextmanager
def _file_slot() -> Iterator[bool]:
    with open(settings.VAR_DIR / "unsubscriptions.lock", "a") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True  # closing the file, or the process ending, unlocks it


def _try(row: Unsubscription) -> str:
    timeout = settings.PAGERDUTY_UNSUBSCRIBE_TIMEOUT
    left = list(row.subscription_ids)
    stop_at = time.monotonic() + TRY_BUDGET
    try:
        api = AccountApi(row.account, timeout) if row.account else CapturedApi(row, timeout)
        while left:
            _delete_one(api, left[0])
            left.pop(0)
            if time.monotonic() >= stop_at:
                break
    except PagerDutyApiError as exc:
        return _failed(row, left, _reason(exc), exc.status is None or exc.status in TRANSIENT)
    except Exception as exc:  # a bug or the soft time limit: this try failed, not the row
        reason = f"The try stopped on an unexpected error ({exc.__class__.__name__})."
        return _failed(row, left, reason, True)
    if left:  # the budget ran out with PagerDuty answering: the rest in a new try, now
        _save(row, left, row.last_error, timezone.now())
        return "more"
    row.delete()
    log.info("Webhook subscriptions %s deleted in PagerDuty", ", ".join(row.subscription_ids))
    return "done"


def _delete_one(api: AccountApi, subscription_id: str) -> None:
    try:
        api.delete_webhook_subscription(subscription_id)
    except PagerDutyApiError as exc:
        if exc.status != 404:  # already gone: what was asked is done
            raise


def retry_delay(row: Unsubscription, now: datetime) -> timedelta:
    """As long as the deleting has gone on, from the first wait to the longest: 1 min, 1 min,
    2, 4, ... 1 h (a few dozen tries in a day, whatever the number of tries so far)."""
    first = timedelta(seconds=settings.PAGERDUTY_UNSUBSCRIBE_RETRY_FIRST)
    cap = timedelta(seconds=settings.PAGERDUTY_UNSUBSCRIBE_RETRY_CAP)
    return min(max(now - row.created_at, first), cap)


def _failed(row: Unsubscription, left: list[str], reason: str, retryable: bool) -> str:
    """Try `left` again later, or give up, saying so in the log."""
    now = timezone.now()
    delay = retry_delay(row, now)
    if not retryable or now + delay > row.created_at + settings.DELIVERY_GIVE_UP_AFTER:
        _give_up(row, left, reason)
        row.delete()
        return "failed"
    _save(row, left, reason, now + delay)
    if delay <= QUEUE_AHEAD:
        queue([row.pk], countdown=delay.total_seconds())
    log.info(
        "Deleting webhook subscription(s) %s in PagerDuty account %s (%s) failed: %s Tripwire "
        "tries again at %s UTC (in %.0f s).",
        ", ".join(left),
        row.subdomain,
        row.region.upper(),
        row.last_error,
        f"{now + delay:%Y-%m-%d %H:%M:%S}",
        delay.total_seconds(),
    )
    return "retry"


def _save(row: Unsubscription, left: list[str], reason: str, due: datetime) -> None:
    """What is left and when it is tried next; on a fresh connection if the try's broke
    (the soft time limit inside a query), so the row keeps its next try."""
    row.subscription_ids, row.last_error = left, reason[:500]
    row.next_attempt_at = due
    values = {"subscription_ids": left, "last_error": row.last_error, "next_attempt_at": due}
    rows = Unsubscription.objects.filter(pk=row.pk)
    try:
        rows.update(**values)
    except DatabaseError:
        _drop_broken()
        rows.update(**values)  # a row another try finished meanwhile is simply gone


def _give_up(row: Unsubscription, left: list[str], reason: str) -> None:
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
        reason,
    )


def _reason(exc: PagerDutyApiError) -> str:
    """What went wrong, in words, ending with a full stop (never a token)."""
    if isinstance(exc.__cause__, TokenRefreshError):
        return exc.__cause__.what  # without "will be tried again": the caller says that
    said = exc.message.rstrip(".") + "."
    return f"PagerDuty answered {exc.status}: {said}" if exc.status else said


def _hand_over() -> None:
    """A try ended: the row due longest, if any, is queued."""
    ids = _due(timezone.now())
    if ids:
        queue(ids)


def _due(before: datetime) -> list[int]:
    rows = Unsubscription.objects.filter(next_attempt_at__lte=before).order_by("next_attempt_at")
    return list(rows.values_list("pk", flat=True)[:1])


def sweep() -> int:
    """Give up the rows past their day that no try finished (every one crashed, say), and
    queue again the rows whose task was lost; how many were queued. It holds the slot while
    it looks, so no try is under way on what it gives up."""
    now = timezone.now()
    with _slot() as held:
        if not held:
            return 0  # the try under way hands over when it ends
        expired = list(
            Unsubscription.objects.filter(
                created_at__lte=now - settings.DELIVERY_GIVE_UP_AFTER
            ).order_by("pk")[:500]
        )
        for row in expired:
            _give_up(row, row.subscription_ids, row.last_error or "No try got an answer.")
        Unsubscription.objects.filter(pk__in=[row.pk for row in expired]).delete()
        ids = _due(now - SWEEP_GRACE)
    if ids:
        queue(ids)
    return len(ids)


class CapturedApi(AccountApi):
    """REST calls with the tokens kept on an `Unsubscription`, once its account is gone.
    They are refreshed as the account's would be, and the new ones kept on the row (which
    only the slot's holder touches)."""

    def __init__(self, row: Unsubscription, once_within: int | None = None) -> None:
        account = PagerDutyAccount(
            region=row.region, access_token=row.access_token, expires_at=row.expires_at
        )
        super().__init__(account, once_within)
        self.row = row

    def _fresh(self) -> None:
        if self.account.expires_soon(margin=timedelta(minutes=1)):
            self._refresh()

    def _refresh(self) -> None:
        try:
            token = oauth.refresh(self.row.refresh_token)
        except OAuth2Error as exc:
            permanent = exc.error in PERMANENT_ERRORS
            what = (
                f"PagerDuty refused to refresh Tripwire's access ({exc.error})."
                if permanent
                else f"PagerDuty could not refresh Tripwire's access just now ({exc.error})."
            )
            raise TokenRefreshError(what, what=what, permanent=permanent) from exc
        except (RequestException, ValueError) as exc:
            what = "PagerDuty could not be reached to refresh access."
            raise TokenRefreshError(what, what=what) from exc
        row = self.row
        row.access_token = self.account.access_token = token["access_token"]
        row.refresh_token = token.get("refresh_token") or row.refresh_token
        row.expires_at = timezone.now() + timedelta(seconds=int(token.get("expires_in") or 0))
        self.account.expires_at = row.expires_at
        # Every row of the gone account shares the rotated tokens (tries run one at a time).
        same = Q(pk=row.pk)
        if row.account_ref is not None:
            same |= Q(account__isnull=True, account_ref=row.account_ref)
        Unsubscription.objects.filter(same).update(
            access_token=row.access_token,
            refresh_token=row.refresh_token,
            expires_at=row.expires_at,
        )
