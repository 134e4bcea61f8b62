"""Running `reconcile`: soon after a change that can break or mend paging, and from beat.

`reconcile_soon` queues one run per organization at a time: a run already queued but not
started reads the organization after it starts, so it sees every change committed before
then, and a second one would find nothing more. The mark of a queued run lives in Redis (the
cache) or, without Redis (`make run`: each process has a cache of its own), in a database row
(`QueuedCheck`) that the web processes and the worker share; either way for at most
`QUEUED_MARK_SECONDS`, so a run lost with its broker message is queued again by the next
change. (Deliveries share the worker's queue, so a queue of checks would hold them up.)
Beat's `check_paging_problems` runs it every PROBLEM_CHECK_INTERVAL seconds for every
organization with a problem now, an open row, or an all-clear owed: it sends reminders,
and notices what no signal announces (a delivery that succeeds heals a service inside the
engine's settle statement). Emails held for what else breaks (`send_when_due`) are sent by
a run queued for the end of the hold; should it be lost, the row still owes the email and
beat's next check sends it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from alerts_saas.notices.models import PagingProblem, QueuedCheck
from alerts_saas.notices.reconcile import reconcile
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.service_check import check_refused

log = logging.getLogger(__name__)
QUEUED_MARK_SECONDS = 60
READ_MARK_SECONDS = 180  # a read of refused services in flight (`check_refusals_soon`)


def _mark(organization_id: int) -> str:
    return f"notices:reconcile-queued:{organization_id}"


def reconcile_soon(organization_id: int) -> None:
    """Queue a run for the organization unless one is queued and not started yet. Call it
    after the change is committed."""
    try:
        if not _claim(organization_id):
            return
    except Exception as exc:  # the mark's store unreachable: queue it anyway
        log.warning("Could not mark a paging check as queued (%s)", exc.__class__.__name__)
    try:
        reconcile_organization.apply_async((organization_id,))
    except Exception as exc:  # broker unreachable: beat's check comes within a minute
        log.warning(
            "Could not queue a paging check for organization %s (%s); beat runs it.",
            organization_id,
            exc.__class__.__name__,
        )
        _unmark(organization_id)


def _claim(organization_id: int) -> bool:
    """Mark a run as queued; False if one already is (marked less than
    QUEUED_MARK_SECONDS ago)."""
    if settings.REDIS_URL:
        return bool(cache.add(_mark(organization_id), 1, QUEUED_MARK_SECONDS))
    now = timezone.now()
    stale = now - timedelta(seconds=QUEUED_MARK_SECONDS)
    if QueuedCheck.objects.filter(organization_id=organization_id, queued_at__lt=stale).update(
        queued_at=now
    ):
        return True
    try:
        with transaction.atomic():
            QueuedCheck.objects.create(organization_id=organization_id, queued_at=now)
    except IntegrityError:  # marked already, just now or less than the time ago
        return False
    return True


def send_when_due(organization_id: int, held_until: datetime | None) -> None:
    """Queue a run for the end of the hold on the organization's emails, once per
    organization and time (a second after, so it never starts a moment early)."""
    if held_until is None:
        return
    delay = max(0.0, (held_until - timezone.now()).total_seconds()) + 1
    mark = f"notices:held:{organization_id}:{held_until.timestamp()}"
    try:
        if cache.add(mark, 1, int(delay) + QUEUED_MARK_SECONDS):
            reconcile_organization.apply_async((organization_id,), countdown=delay)
    except Exception as exc:  # beat's check sends them a minute later at most
        log.warning(
            "Could not queue the held paging emails of organization %s (%s)",
            organization_id,
            exc.__class__.__name__,
        )


def _unmark(organization_id: int) -> None:
    try:
        if settings.REDIS_URL:
            cache.delete(_mark(organization_id))
        else:
            QueuedCheck.objects.filter(organization_id=organization_id).delete()
    except Exception as exc:
        log.warning("Could not clear a paging check's mark (%s)", exc.__class__.__name__)


@shared_task(ignore_result=True)
def reconcile_organization(organization_id: int) -> str:
    """One organization's problems and emails: see `reconcile`."""
    _unmark(organization_id)  # changes from now on queue another run
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return "organization gone"
    outcome = reconcile(organization)
    check_refusals_soon(organization_id, outcome.to_check)
    send_when_due(organization_id, outcome.held_until)
    return (
        f"opened {len(outcome.opened)}, closed {len(outcome.closed)}, {outcome.emails_sent} emails"
    )


def _reading(organization_id: int) -> str:
    return f"notices:refusals-read:{organization_id}"


def check_refusals_soon(organization_id: int, service_ids: list[int]) -> None:
    """Queue the read of these refused services' accounts (`check_refusals`) unless one for
    the organization is queued or running (marked for at most READ_MARK_SECONDS)."""
    if not service_ids:
        return
    try:
        if cache.add(_reading(organization_id), 1, READ_MARK_SECONDS):
            check_refusals.apply_async((organization_id, service_ids))
    except Exception as exc:  # beat's next check queues it; the emails wait a bounded time
        log.warning(
            "Could not queue the PagerDuty read of organization %s's refused services (%s)",
            organization_id,
            exc.__class__.__name__,
        )


@shared_task(ignore_result=True)
def check_refusals(organization_id: int, service_ids: list[int]) -> str:
    """Read the accounts of services PagerDuty just refused (`service_check.check_refused`:
    their REST calls, out of beat's loop over the organizations), then run the
    organization's reconcile, whose emails waited for it."""
    try:
        changed = check_refused(organization_id, service_ids)
    finally:
        cache.delete(_reading(organization_id))
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return "organization gone"
    # Not queued again from here: a read that left no stamp is queued by beat's next check
    # until the emails stop waiting for it (`service_check.REFUSAL_READ_WAIT`).
    outcome = reconcile(organization)
    send_when_due(organization_id, outcome.held_until)
    return f"{changed} services' marks changed, {outcome.emails_sent} emails"


def organizations_to_check() -> set[int]:
    """Organizations with a broken path now, an open problem or an all-clear owed."""
    ids: set[int] = set()
    for rows in (
        PagerDutyService.objects.filter(
            Q(refused_at__isnull=False) | Q(failing_since__isnull=False)
        ),
        PagerDutyAccount.objects.filter(status=PagerDutyAccount.Status.NEEDS_RECONNECT),
        Alert.objects.filter(enabled=True, targets__isnull=True),
        PagingProblem.objects.open(),
        PagingProblem.objects.all_clear_pending(),
    ):
        ids.update(rows.order_by().values_list("organization_id", flat=True).distinct())
    return ids


@shared_task(ignore_result=True)
def check_paging_problems() -> int:
    """Beat: reconcile every organization that may need it (one failing does not stop the
    others), then forget problems fixed longer ago than the delivery history is kept."""
    checked = 0
    for organization in Organization.objects.filter(pk__in=organizations_to_check()):
        try:
            outcome = reconcile(organization)  # reads nothing from PagerDuty
            check_refusals_soon(organization.pk, outcome.to_check)
            send_when_due(organization.pk, outcome.held_until)
            checked += 1
        except Exception:
            log.exception("Checking the paging problems of organization %s failed", organization.pk)
    cutoff = timezone.now() - timedelta(days=settings.DELIVERY_RETENTION_DAYS)
    PagingProblem.objects.filter(resolved_at__lt=cutoff).exclude(
        all_clear_due=True, all_clear_sent_at__isnull=True
    ).delete()
    return checked
