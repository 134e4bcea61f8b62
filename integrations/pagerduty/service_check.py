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
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.functions import Mod
from django.utils import timezone

from integrations.pagerduty import picker
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.rest import AccountApi, PagerDutyApiError

log = logging.getLogger(__name__)
TICK = 60  # seconds between beat's runs: one slice of the accounts a run


def slices() -> int:
    """How many runs the accounts are spread over: the interval's minutes (at least 1)."""
    return max(1, int(settings.PAGERDUTY_SERVICE_CHECK_INTERVAL) // TICK)


def due(now: datetime) -> QuerySet[PagerDutyAccount]:
    """The accounts to read in the run at `now`: connected (not to reconnect), with
    connected services, in this minute's slice. Each is due once per interval."""
    count = slices()
    minute = int(now.timestamp()) // TICK
    return (
        PagerDutyAccount.objects.filter(status=PagerDutyAccount.Status.ACTIVE)
        .filter(Exists(PagerDutyService.objects.filter(account=OuterRef("pk"))))
        .alias(check_slice=Mod("pk", count))
        .filter(check_slice=minute % count)
        .order_by("pk")
    )


def check_account(account: PagerDutyAccount) -> int:
    """Read the account's services once and mark what PagerDuty no longer has; returns how
    many services' marks changed (newly marked, or a deletion mark cleared). A failed read
    (PagerDuty down, access refused) marks nothing: a refused refresh marks the account to
    reconnect, as any call to PagerDuty does."""
    try:
        listed = AccountApi(account).service_list()
    except PagerDutyApiError as exc:
        log.warning(
            "Checking the services of PagerDuty account %s failed: %s", account.pk, exc.message
        )
        return 0
    if not listed.complete:
        log.info("PagerDuty account %s: its list of services was not complete", account.pk)
    return picker.mark_removed(account, listed.services, listed.complete)


def check_due(now: datetime | None = None) -> int:
    """Beat: read the accounts due now; returns how many services' marks changed."""
    marked = 0
    for account in due(now or timezone.now()):
        try:
            marked += check_account(account)
        except Exception:  # one account's fault must not cost the others their check
            log.exception("Checking the services of PagerDuty account %s failed", account.pk)
    return marked
