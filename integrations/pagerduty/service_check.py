"""Beat's check of connected services against PagerDuty, so that a service deleted there (or
stripped of our integration) is found before a page to it is refused, with nobody opening
the service picker.

Each OAuth-connected account with connected services is read once per
`PAGERDUTY_SERVICE_CHECK_INTERVAL` (15 minutes by default): beat runs `check_due` every
minute, and each run reads the accounts of one slice (the account's id modulo the minutes
in the interval), so accounts are spread over the interval rather than all listed at once.
An account's read is the picker's own: its complete list of services (`rest.ServiceList`,
100 a call), judged by `picker.mark_removed` (one compare-and-set update, announced, so the
banner, the dashboard and the paging-problem emails follow): a service the list leaves out
is marked deleted only once PagerDuty answers 404 for it (`GET /services/{id}`), and one
marked deleted that the list shows again is unmarked. A list that is not complete marks
nothing deleted; an account that needs reconnecting is not read; one account failing does
not stop the others.

The listing is also the account's access check (`access_check` reads only the accounts
without connected services): what it says of access is judged and recorded by the same
code (`access_check.attempt`, `Checks`), the stamps written in one update per
`access_check.STAMP` reads.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.db.models.functions import Mod
from django.utils import timezone

from integrations.pagerduty import access_check, picker
from integrations.pagerduty.access_check import Checks
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.paths import INTEGRATION_REMOVED, SERVICE_DELETED
from integrations.pagerduty.rest import AccountApi

log = logging.getLogger(__name__)
TICK = 60  # seconds between beat's runs: one slice of the accounts a run
# How long a refusal's first email waits for its account's read at most (`unread_refusals`):
# PagerDuty's REST API slow or down, the email goes with the words it has.
REFUSAL_READ_WAIT = timedelta(seconds=120)


def slices() -> int:
    """How many runs the accounts are spread over: the interval's minutes (at least 1)."""
    return access_check.minutes(settings.PAGERDUTY_SERVICE_CHECK_INTERVAL)


def due(now: datetime) -> QuerySet[PagerDutyAccount]:
    """The accounts to read in the run at `now`: connected (not to reconnect), with
    connected services, in this minute's slice. Each is due once per interval."""
    count = slices()
    minute = int(now.timestamp()) // TICK
    return (
        PagerDutyAccount.objects.filter(status=PagerDutyAccount.Status.ACTIVE)
        .filter(access_check.with_services())
        .alias(check_slice=Mod("pk", count))
        .filter(check_slice=minute % count)
        .order_by("pk")
    )


def check_account(account: PagerDutyAccount, checks: Checks | None = None) -> int:
    """Read the account's services once and mark what PagerDuty no longer has; returns how
    many services' marks changed (newly marked, or a deletion mark cleared). A failed read
    (PagerDuty down, access refused) marks no service; what it says of access is noted in
    `checks` (recorded at once without), a refusal marking the account to reconnect."""
    read = access_check.attempt(AccountApi(account), lambda api: api.service_list())
    noted = checks or Checks()
    noted.note(account, read)
    if checks is None:
        noted.record()
    if read.value is None:
        log.warning(
            "Checking the services of PagerDuty account %s failed: %s",
            account.pk,
            read.error.message if read.error else read.outcome,
        )
        return 0
    listed = read.value
    if not listed.complete:
        log.info("PagerDuty account %s: its list of services was not complete", account.pk)
    return picker.mark_removed(account, listed.services, listed.complete)


def check_due(now: datetime | None = None) -> int:
    """Beat: read the accounts due now, a batch at a time; returns how many services' marks
    changed."""
    marked = 0
    for batch, checks in access_check.batches(due(now or timezone.now())):
        for account in batch:
            try:
                marked += check_account(account, checks)
            except Exception:  # one account's fault must not cost the others their check
                log.exception("Checking the services of PagerDuty account %s failed", account.pk)
    return marked


def _to_read(organization_id: int, service_ids: Collection[int]) -> QuerySet[PagerDutyService]:
    """Of these services, those whose refusal PagerDuty's list may say more of: refused,
    connected through OAuth (an account still connected), not judged from the list yet."""
    return PagerDutyService.objects.filter(
        organization_id=organization_id,
        pk__in=list(service_ids),
        refused_at__isnull=False,
        account__status=PagerDutyAccount.Status.ACTIVE,
    ).exclude(refused_detail__in=[SERVICE_DELETED, INTEGRATION_REMOVED])


def unread_refusals(
    organization_id: int, service_ids: Collection[int], now: datetime
) -> tuple[list[int], datetime | None]:
    """Which of these refused services' accounts were not read since the refusal (neither
    a read that worked nor one that could not reach PagerDuty), less those refused more
    than REFUSAL_READ_WAIT ago; and until when the first of those waits. Their problem's
    first email waits for the read (`notices.reconcile`), never longer. One query."""
    unread: list[int] = []
    until: datetime | None = None
    rows = _to_read(organization_id, service_ids).values_list(
        "pk", "refused_at", "account__access_checked_at", "account__access_failed_at"
    )
    for pk, refused_at, worked_at, failed_at in rows:
        if refused_at is None:  # not refused (the query keeps only refused ones)
            continue
        read = [at for at in (worked_at, failed_at) if at is not None and at >= refused_at]
        gives_up = refused_at + REFUSAL_READ_WAIT
        if not read and gives_up > now:
            unread.append(pk)
            until = gives_up if until is None else min(until, gives_up)
    return unread, until


def check_refused(organization_id: int, service_ids: Collection[int]) -> int:
    """PagerDuty just refused these services' keys: read the accounts of those connected
    through OAuth now, as beat's check does (`check_account`), so that what is said of them
    (deleted in PagerDuty, or only Tripwire's integration removed: two different mends) is
    known before anyone is told (`notices.reconcile`). Pasted keys, refusals already judged
    from PagerDuty's list, and accounts to reconnect are not read. Returns how many
    services' marks changed; an account whose read fails is logged and left as it was."""
    accounts = set(_to_read(organization_id, service_ids).values_list("account_id", flat=True))
    changed = 0
    for account in PagerDutyAccount.objects.filter(pk__in=accounts).order_by("pk"):
        try:
            changed += check_account(account)
        except Exception:  # the email still goes, with what is known
            log.exception("Checking refused services of PagerDuty account %s failed", account.pk)
    return changed
