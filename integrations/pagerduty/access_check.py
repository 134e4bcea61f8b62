"""Beat's check of OAuth access, so that a grant revoked in PagerDuty (or a refresh token
that stopped working) is found within minutes at any hour, not when someone next loads a
page, syncs incidents or sends a test.

One reader per account: an account with connected services is read by `service_check`
(its list of services proves the token as well as any read), the others here, each once
per `PAGERDUTY_ACCESS_CHECK_INTERVAL` (15 minutes by default). Should the services' check
come less often than that, this check reads every account, so none waits longer. Beat runs
`check_due` every minute, and each run reads the accounts of one slice (the account's id
modulo the minutes in the interval), one request at a time, so they are spread over the
interval and never burst against PagerDuty's REST rate limit. The read is the cheapest the
published API has that every token of ours may make: GET /services?limit=1
(`rest.AccountApi.first_service`), one request bounded by the HTTP timeout, an expired
token refreshed first by the usual code.

What either reader learns is judged here (`attempt`) and written by `Checks.record`:

- It works: the account is stamped `access_checked_at`.
- PagerDuty refuses (a refused refresh, or 401 or 403 after one): the account is marked to
  reconnect by the product's one path (`tokens.mark_to_reconnect`, announced: the banner,
  the dashboard and the emails follow as for a refusal met anywhere else).
- PagerDuty could not be read (5xx, 429, timeout, unreachable): nothing is marked; the
  attempt and its reason in words are stamped `access_failed_at` / `access_failure`, which
  Integrations shows beside the access last confirmed, and the account is read again in
  the next interval.

An account already marked to reconnect is not read: reconnecting is what mends it, as
everywhere else (a success of this check never clears the mark). One account failing does
not stop the others. Accounts are read from the database `BATCH` at a time, and their
stamps written `STAMP` reads at a time, as the reads go: one query a batch for the accounts,
one update per `STAMP` reads for the stamps (plus one if a read among them failed), plus
what a refresh or a refusal writes. A worker dying mid-batch loses the stamps of at most
the last `STAMP` reads (read again in the next interval, as every account is), not the
batch's.
"""

from __future__ import annotations

import enum
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, NamedTuple, TypeVar

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Mod
from django.utils import timezone
from httpx2 import TimeoutException
from requests import Timeout

from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.rest import AccountApi, PagerDutyApiError
from integrations.pagerduty.tokens import TokenRefreshError, mark_to_reconnect

log = logging.getLogger(__name__)
TICK = 60  # seconds between beat's runs: one slice of the accounts a run
BATCH = 100  # accounts read from the database at a time
STAMP = 10  # reads noted before their stamps are written: the most a worker's death loses
REFUSALS = (401, 403)
T = TypeVar("T")


class Outcome(enum.StrEnum):
    WORKS = "works"
    REFUSED = "refused"
    FAILED = "failed"  # just then: retried in the next interval


def minutes(interval: int) -> int:
    """How many runs an interval (seconds) spreads its accounts over (at least 1)."""
    return max(1, int(interval) // TICK)


def slices() -> int:
    """How many runs the accounts are spread over: the interval's minutes."""
    return minutes(settings.PAGERDUTY_ACCESS_CHECK_INTERVAL)


def with_services() -> Exists:
    """An account has connected services: `service_check` reads it."""
    return Exists(PagerDutyService.objects.filter(account=OuterRef("pk")))


def due(now: datetime) -> QuerySet[PagerDutyAccount]:
    """The connected accounts (not to reconnect) in the slice of the run at `now`, but for
    those the services' check reads at least as often."""
    count = slices()
    accounts = PagerDutyAccount.objects.filter(status=PagerDutyAccount.Status.ACTIVE)
    if minutes(settings.PAGERDUTY_SERVICE_CHECK_INTERVAL) <= count:
        accounts = accounts.filter(~with_services())
    minute = int(now.timestamp()) // TICK
    return accounts.alias(access_slice=Mod("pk", count)).filter(access_slice=minute % count)


@dataclass
class Read(Generic[T]):
    """What one read of an account said of our access, and what it read if it worked."""

    outcome: Outcome
    value: T | None = None
    error: PagerDutyApiError | None = None
    failure: str = ""  # why PagerDuty could not be read, in words (`failure_words`)


def attempt(api: AccountApi, operation: Callable[[AccountApi], T]) -> Read[T]:
    """Read the account once and judge the answer: the one place a check's refusal (401
    or 403, a refused refresh) marks the account to reconnect, for both readers."""
    try:
        return Read(Outcome.WORKS, operation(api))
    except PagerDutyApiError as exc:
        if exc.status in REFUSALS:
            _refused(api.account, exc)
            return Read(Outcome.REFUSED, error=exc)
        return Read(Outcome.FAILED, error=exc, failure=failure_words(exc))


def failure_words(exc: PagerDutyApiError) -> str:
    """What a read that failed met, as Integrations says it after 'Last check at 03:10'."""
    causes: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(causes) < 10:
        causes.append(cause)
        cause = cause.__cause__
    renewing = any(isinstance(c, TokenRefreshError) for c in causes)
    status = exc.status or next((s for c in causes if (s := _status(c))), None)
    if status and status < 500 and status != 429:
        return f"failed: PagerDuty answered {status} ({exc.message.rstrip('.')})"[:200]
    if status == 429:
        why = "answered 429: too many requests"
    elif status:
        why = f"answered {status}"
    elif any(isinstance(c, (Timeout, TimeoutException)) for c in causes):
        why = f"no answer within {settings.PAGERDUTY_HTTP_TIMEOUT} s"
    elif error := next((e for c in causes if isinstance(e := getattr(c, "error", None), str)), ""):
        return f"could not renew the token with PagerDuty ({error})"[:200]
    else:
        why = "no connection"
    return f"could not reach PagerDuty{' to renew the token' if renewing else ''} ({why})"


def _status(exc: BaseException) -> int | None:
    """The HTTP status an error below ours carries: the REST client's, or the sign-in's."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


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


@dataclass
class Checks:
    """What reads said of access, written by `record`: by `note` itself once `STAMP`
    reads wait, and by whoever noted them for the rest."""

    outcomes: Counter[Outcome] = field(default_factory=Counter)
    works: dict[int, datetime] = field(default_factory=dict)
    failed: dict[int, tuple[datetime, str]] = field(default_factory=dict)

    def note(self, account: PagerDutyAccount, read: Read[T] | Outcome) -> None:
        outcome = read if isinstance(read, Outcome) else read.outcome
        self.outcomes[outcome] += 1
        if outcome is Outcome.WORKS:
            self.works[account.pk] = timezone.now()
        elif isinstance(read, Read) and read.failure:  # not a bug of ours: that says nothing
            self.failed[account.pk] = (timezone.now(), read.failure)
        if len(self.works) + len(self.failed) >= STAMP:
            self.record()

    def record(self) -> None:
        """One compare-and-set update for the reads that worked, one for those that could
        not reach PagerDuty: only accounts still connected, and never back in time. What
        it wrote is no longer waiting (the outcomes are still counted)."""
        _stamp(
            "access_checked_at", {pk: {"access_checked_at": at} for pk, at in self.works.items()}
        )
        _stamp(
            "access_failed_at",
            {
                pk: {"access_failed_at": at, "access_failure": words}
                for pk, (at, words) in self.failed.items()
            },
        )
        self.works.clear()
        self.failed.clear()


def _stamp(moment: str, rows: dict[int, dict[str, datetime | str]]) -> int:
    """Write each account's `rows[pk]` in one update, where its `moment` would move on."""
    if not rows:
        return 0
    values = {
        name: Case(
            *(When(pk=pk, then=Value(fields[name])) for pk, fields in rows.items()),
            output_field=DateTimeField() if name == moment else CharField(),
        )
        for name in next(iter(rows.values()))
    }
    return (
        PagerDutyAccount.objects.filter(pk__in=rows, status=PagerDutyAccount.Status.ACTIVE)
        .filter(Q(**{f"{moment}__isnull": True}) | Q(**{f"{moment}__lt": values[moment]}))
        .update(**values)
    )


def batches(
    accounts: QuerySet[PagerDutyAccount],
) -> Iterator[tuple[list[PagerDutyAccount], Checks]]:
    """`accounts` in order of id, `BATCH` at a time, each with the `Checks` its reads note
    (stamped `STAMP` at a time), the rest recorded once the caller is done with the batch."""
    after = 0
    while batch := list(accounts.filter(pk__gt=after).order_by("pk")[:BATCH]):
        checks = Checks()
        yield batch, checks
        checks.record()
        if len(batch) < BATCH:
            return
        after = batch[-1].pk


def check_account(account: PagerDutyAccount, checks: Checks | None = None) -> Outcome:
    """Read the account once as the person who connected it (`attempt`); what it says is
    noted in `checks` (recorded at once without)."""
    api = AccountApi(account, once_within=settings.PAGERDUTY_HTTP_TIMEOUT)
    read = attempt(api, lambda api: api.first_service())
    if read.outcome is Outcome.FAILED and read.error is not None:
        exc = read.error
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
    noted = checks or Checks()
    noted.note(account, read)
    if checks is None:
        noted.record()
    return read.outcome


def check_due(now: datetime | None = None) -> Counter[Outcome]:
    """Beat: read the accounts due now, a batch at a time; returns the outcomes counted."""
    outcomes: Counter[Outcome] = Counter()
    for batch, checks in batches(due(now or timezone.now())):
        for account in batch:
            try:
                check_account(account, checks)
            except Exception:  # one account's fault must not cost the others their check
                log.exception("Checking access to PagerDuty account %s failed", account.pk)
                checks.note(account, Outcome.FAILED)
        outcomes.update(checks.outcomes)
    return outcomes


class FailedCheck(NamedTuple):
    at: datetime
    what: str  # `failure_words`
    next_by: datetime  # the next read comes by then (its slice's run, an interval on)
    overdue: bool  # that time is past and no read has been recorded since


def failed_check(account: PagerDutyAccount, now: datetime | None = None) -> FailedCheck | None:
    """The account's last check, if it could not reach PagerDuty after the access was
    last confirmed (the confirmation still stands: nothing later is known)."""
    failed, confirmed = account.access_failed_at, account.confirmed[0]
    if failed is None or account.needs_reconnect or (confirmed and failed <= confirmed):
        return None
    next_by = failed.replace(second=0, microsecond=0) + timedelta(minutes=slices())
    overdue = (now or timezone.now()) >= next_by + timedelta(seconds=TICK)
    return FailedCheck(failed, account.access_failure, next_by, overdue)
