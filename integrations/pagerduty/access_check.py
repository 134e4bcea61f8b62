"""Beat's check of OAuth access, so that a grant revoked in PagerDuty (or a refresh token
that stopped working) is found within minutes at any hour, not when someone next loads a
page, syncs incidents or sends a test.

Each connected account (every organization's, with services or not) is read once per
`PAGERDUTY_ACCESS_CHECK_INTERVAL` (15 minutes by default): beat runs `check_due` every
minute, and each run reads the accounts of one slice (the account's id modulo the minutes in
the interval), one request at a time, so they are spread over the interval and never burst
against PagerDuty's REST rate limit. The read is the cheapest the published API has that
every token of ours may make: GET /services?limit=1 (`rest.AccountApi.first_service`), one
request bounded by the HTTP timeout, an expired token refreshed first by the usual code.

- It works: the account is stamped `access_checked_at` (one compare-and-set update for a
  batch: still connected, never moved back), which Integrations shows.
- PagerDuty refuses (a refused refresh, or 401 or 403 after one): the account is marked to
  reconnect by the product's one path (`tokens.mark_to_reconnect`, announced: the banner,
  the dashboard and the emails follow as for a refusal met anywhere else).
- Anything else (5xx, 429, timeout, unreachable): nothing is marked; one log line, and the
  account is read again in the next interval.

An account already marked to reconnect is not read: reconnecting is what mends it, as
everywhere else (a success of this check never clears the mark). One account failing does
not stop the others. Accounts are read in batches of `BATCH`: two queries a batch, whatever
the outcomes, plus what a refresh or a refusal writes.
"""

from __future__ import annotations

import enum
import logging
from collections import Counter
from datetime import datetime

from django.conf import settings
from django.db.models import Case, DateTimeField, Q, QuerySet, Value, When
from django.db.models.functions import Mod
from django.utils import timezone

from integrations.pagerduty.models import PagerDutyAccount
from integrations.pagerduty.rest import AccountApi, PagerDutyApiError
from integrations.pagerduty.tokens import mark_to_reconnect

log = logging.getLogger(__name__)
TICK = 60  # seconds between beat's runs: one slice of the accounts a run
BATCH = 100  # accounts read from the database at a time, and stamped together
REFUSALS = (401, 403)


class Outcome(enum.StrEnum):
    WORKS = "works"
    REFUSED = "refused"
    FAILED = "failed"  # just then: retried in the next interval


def slices() -> int:
    """How many runs the accounts are spread over: the interval's minutes (at least 1)."""
    return max(1, int(settings.PAGERDUTY_ACCESS_CHECK_INTERVAL) // TICK)


def due(now: datetime) -> QuerySet[PagerDutyAccount]:
    """The connected accounts (not to reconnect) in the slice of the run at `now`."""
    count = slices()
    minute = int(now.timestamp()) // TICK
    return (
        PagerDutyAccount.objects.filter(status=PagerDutyAccount.Status.ACTIVE)
        .alias(access_slice=Mod("pk", count))
        .filter(access_slice=minute % count)
        .order_by("pk")
    )


def check_account(account: PagerDutyAccount) -> Outcome:
    """Read the account once as the person who connected it, and mark it to reconnect if
    PagerDuty refuses; nothing is written for a read that works (`check_due` stamps)."""
    api = AccountApi(account, once_within=settings.PAGERDUTY_HTTP_TIMEOUT)
    try:
        api.first_service()
    except PagerDutyApiError as exc:
        if exc.status in REFUSALS:
            _refused(api.account, exc)
            return Outcome.REFUSED
        log.log(
            logging.WARNING
            if exc.status and exc.status < 500 and exc.status != 429
            else logging.INFO,
            "Checking access to PagerDuty account %s failed just now (%s: %s); it stays "
            "connected and is checked again in the next interval.",
            account.pk,
            exc.status or "no answer",
            exc.message,
        )
        return Outcome.FAILED
    return Outcome.WORKS


def _refused(account: PagerDutyAccount, exc: PagerDutyApiError) -> None:
    """Mark the account to reconnect, unless a refused refresh just did (it said so)."""
    detail = (
        f"PagerDuty refused access when {settings.PRODUCT_NAME} checked it ({exc.status}: "
        f"{exc.message.rstrip('.')})"
    )[:440] + ". Reconnect the account to keep managing its services."
    if mark_to_reconnect(account, detail, token_version=account.token_version, only_if_active=True):
        log.warning(
            "PagerDuty refused access to account %s when checked (%s: %s): marked to reconnect",
            account.pk,
            exc.status,
            exc.message,
        )


def check_due(now: datetime | None = None) -> Counter[Outcome]:
    """Beat: read the accounts due now, a batch at a time; returns the outcomes counted."""
    now = now or timezone.now()
    outcomes: Counter[Outcome] = Counter()
    after = 0
    while batch := list(due(now).filter(pk__gt=after)[:BATCH]):
        works: dict[int, datetime] = {}
        for account in batch:
            try:
                outcome = check_account(account)
            except Exception:  # one account's fault must not cost the others their check
                log.exception("Checking access to PagerDuty account %s failed", account.pk)
                outcome = Outcome.FAILED
            outcomes[outcome] += 1
            if outcome is Outcome.WORKS:
                works[account.pk] = timezone.now()
        _stamp(works)
        if len(batch) < BATCH:
            break
        after = batch[-1].pk
    return outcomes


def _stamp(works: dict[int, datetime]) -> int:
    """Stamp when each account's read worked: one update, compare-and-set (only accounts
    still connected, and never back in time)."""
    if not works:
        return 0
    when = Case(
        *(When(pk=pk, then=Value(at)) for pk, at in works.items()),
        output_field=DateTimeField(),
    )
    return (
        PagerDutyAccount.objects.filter(pk__in=works, status=PagerDutyAccount.Status.ACTIVE)
        .filter(Q(access_checked_at__isnull=True) | Q(access_checked_at__lt=when))
        .update(access_checked_at=when)
    )
