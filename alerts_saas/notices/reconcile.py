"""An organization's paging problems, reconciled with what is broken now, and the emails.

`reconcile(organization)` compares `alerts.health.problems` (what is broken now) with the
organization's open `PagingProblem` rows:

1. A new problem opens a row: `INSERT ... ON CONFLICT DO NOTHING` on the partial unique key
   (one open row per problem key), so two runs at once open one row between them.
2. An open row whose problem is still there is kept up to date (its alerts, its words).
3. A row whose problem is gone is closed, by compare-and-set on `resolved_at`, saying why.
   It owes an all-clear if anyone was told about it, or, gone before its first email, a
   "broken for 2 minutes, fixed now" if a page may have been lost meanwhile (`LOST_PAGES`);
   nothing if another problem of the same thing took its place (a failing service that
   PagerDuty now refuses).
4. The emails due wait until the oldest has waited PROBLEM_EMAIL_HOLD_SECONDS, then go
   together: a new problem's first email, a reminder PROBLEM_REMINDER_HOURS after the
   last one, an all-clear. Each is claimed by compare-and-set on its row, in one
   transaction with sending them; each recipient gets one email for all that a run
   claimed, less what their own change made or mended (`opened_by`, `closed_by`). If
   sending fails, the transaction rolls back and the next run tries again; a run at the
   same time waits for the claimed rows' locks, then finds nothing left to claim.

A refusal's first email waits for PagerDuty's list of the service's account (services
connected through OAuth whose key PagerDuty refused and nobody was told of yet), so that it
says whether the service was deleted or only Tripwire's integration removed. A run does not
read it itself (a slow PagerDuty would hold up every organization after this one in beat's
loop): it names the services whose account was not read since the refusal (`to_check`,
`service_check.unread_refusals`) and holds the emails; the caller queues the read
(`tasks.check_refusals`), which runs this again when done. The hold ends when the account
was read (or the read could not reach PagerDuty), or `service_check.REFUSAL_READ_WAIT`
after the refusal, whichever comes first: then the email goes with the words known.

Steps 1 to 3 also run in the request of a member whose change can break or mend paging
(`triggers.MemberChanges`): what it opens that only a member makes (`MEMBER_MADE`), or
closes by a member's doing, is marked as theirs if its subject is one the request touched;
the rest is no one's, so everyone is told.

Running it again changes nothing and sends nothing, so it runs whenever something that
can break or mend paging changes (`triggers.py`) and every minute from beat (`tasks.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet
from django.utils import timezone

from alerts_saas.accounts.models import Membership, Organization, Role
from alerts_saas.alerts.health import Problem, ProblemKind
from alerts_saas.alerts.models import Alert
from alerts_saas.alerts.problems import problems
from alerts_saas.ids import as_id
from alerts_saas.notices import emails
from alerts_saas.notices.models import LOST_PAGES, MEMBER_MADE, NO_ALERT, PagingProblem
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.service_check import unread_refusals

log = logging.getLogger(__name__)
# The member a problem (by its key) is the doing of, if any: `update_rows`'s `touched`.
Credit = Callable[[str], int | None]


@dataclass
class Outcome:
    """What one run did: the problem keys it found new (a run at the same time may have
    opened their rows) and those it closed, the emails it claimed and how many it sent, or
    until when the emails due wait for what else breaks or mends."""

    opened: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    claimed: emails.Digest | None = None
    emails_sent: int = 0
    held_until: datetime | None = None
    # Services PagerDuty refuses whose problem nobody was told of yet (`_unchecked`).
    unchecked: list[int] = field(default_factory=list)
    # Of those, the ones whose account's list the emails wait for: the caller queues the read.
    to_check: list[int] = field(default_factory=list)


def reconcile(organization: Organization, now: datetime | None = None) -> Outcome:
    """Bring the organization's rows in line with its problems now, and send what is due."""
    now = now or timezone.now()
    outcome = update_rows(organization, now)
    if outcome.unchecked:
        outcome.to_check, until = unread_refusals(organization.pk, outcome.unchecked, now)
        if outcome.to_check:  # the emails wait for the read, at most until then
            outcome.held_until = until
            return outcome
    outcome.claimed, outcome.emails_sent, outcome.held_until = _notify(organization, now)
    return outcome


def update_rows(
    organization: Organization,
    now: datetime | None = None,
    member_id: int | None = None,
    touched: Collection[str] = (),
) -> Outcome:
    """Steps 1 to 3 without the emails: for a page shown right after a change that mended
    (or broke) paging, whose banner reads the rows; the queued run sends what is due.
    `member_id`: the member whose change this follows, in their request; `touched`: the
    subjects (`subject`) that change touched, the only problems that can be theirs."""
    now = now or timezone.now()
    current = {p.key: p for p in problems(organization)}
    rows = {row.key: row for row in PagingProblem.objects.open().filter(organization=organization)}
    outcome = Outcome()

    def credit(key: str) -> int | None:
        return member_id if subject(key) in touched else None

    new = [p for k, p in current.items() if k not in rows]
    outcome.opened = _open(organization, new, now, credit)
    _refresh([(row, current[key]) for key, row in rows.items() if key in current])
    gone = [row for key, row in rows.items() if key not in current]
    outcome.closed = _close(gone, current, now, credit)
    outcome.unchecked = _unchecked(new, [row for key, row in rows.items() if key in current])
    return outcome


def _unchecked(new: list[Problem], kept: list[PagingProblem]) -> list[int]:
    """The services of refusals nobody was told of yet, new or held (their first email
    waits): `reconcile` reads PagerDuty's list for those connected through OAuth first."""
    keys = [p.key for p in new if p.kind == ProblemKind.REFUSED]
    keys += [r.key for r in kept if r.kind == ProblemKind.REFUSED and r.notified_at is None]
    return [pk for key in keys if (pk := as_id(key.rpartition(":")[2])) is not None]


def shown(problem: Problem) -> dict[str, Any]:
    """A problem's fields as a row shows them."""
    return {
        "kind": problem.kind.value,
        "title": problem.title[:300],
        "words": problem.words,
        "fix_label": problem.fix.label[:100],
        "fix_url": problem.fix.url[:500],
        "alerts": list(problem.alerts),
        "silenced": list(problem.silenced),
        "since": problem.since,
        "impact": problem.impact,
    }


def _open(
    organization: Organization, new: list[Problem], now: datetime, credit: Credit
) -> list[str]:
    if not new:
        return []
    PagingProblem.objects.bulk_create(
        [
            PagingProblem(
                organization=organization,
                key=p.key,
                opened_at=now,
                opened_by_id=credit(p.key) if p.kind in MEMBER_MADE else None,
                **shown(p),
            )
            for p in new
        ],
        ignore_conflicts=True,  # another run opened it first: one open row per key
    )
    return [p.key for p in new]


def _refresh(pairs: list[tuple[PagingProblem, Problem]]) -> None:
    for row, problem in pairs:
        changes = {k: v for k, v in shown(problem).items() if getattr(row, k) != v}
        if changes:
            PagingProblem.objects.filter(pk=row.pk, resolved_at__isnull=True).update(**changes)


def _close(
    gone: list[PagingProblem], current: dict[str, Problem], now: datetime, credit: Credit
) -> list[str]:
    subjects_now = {subject(key) for key in current}
    closed = []
    told = ExpressionWrapper(Q(notified_at__isnull=False), output_field=BooleanField())
    for row in gone:
        replaced = subject(row.key) in subjects_now
        why, mended_by_member = _why_gone(row, replaced)
        if PagingProblem.objects.filter(pk=row.pk, resolved_at__isnull=True).update(
            resolved_at=now,
            resolution=why[:300],
            # Gone before anyone was told: worth an email if a page may have been lost.
            all_clear_due=False
            if replaced
            else (True if row.kind in LOST_PAGES and row.impact < NO_ALERT else told),
            closed_by_id=credit(row.key) if mended_by_member else None,
        ):
            closed.append(row.key)
    return closed


def subject(key: str) -> str:
    """What a problem is about ("service:12"), whatever is wrong with it."""
    return key.partition(":")[2]


def _why_gone(row: PagingProblem, replaced: bool) -> tuple[str, bool]:
    """Why the problem is gone, in words, from what its key names; and whether a member's
    change mended it (not a delivery that got through: PagerDuty's doing)."""
    if replaced:
        return "Another problem of the same thing took its place.", False
    thing, _, pk = subject(row.key).partition(":")
    if as_id(pk) is None:
        return "It is no longer a problem.", False
    if thing == "service":
        if not PagerDutyService.objects.filter(pk=pk).exists():
            return "The service was removed from Tripwire.", True
        return "A delivery to it succeeded: it pages again.", False
    if thing == "account":
        if not PagerDutyAccount.objects.filter(pk=pk).exists():
            return "The PagerDuty account was disconnected from Tripwire.", True
        return "The PagerDuty account was reconnected.", True
    if thing == "alert":
        alert = Alert.objects.filter(pk=pk).only("enabled").first()
        if alert is None:
            return "The alert was deleted.", True
        if not alert.enabled:
            return "The alert was disabled: it pages nobody on purpose.", True
        return "It has a PagerDuty service now.", True
    return "It is no longer a problem.", False


def recipients(organization: Organization) -> list[emails.Recipient]:
    """Owners and admins who want these emails."""
    rows = (
        Membership.objects.filter(
            organization=organization,
            role__in=[Role.OWNER, Role.ADMIN],
            email_paging_problems=True,
            user__is_active=True,
        )
        .exclude(user__email="")
        .order_by("user__email")
        .values_list("user_id", "user__email", "user__time_zone")
    )
    return [emails.Recipient(user_id, address, zone) for user_id, address, zone in rows]


def _due(organization: Organization, cutoff: datetime) -> QuerySet[PagingProblem]:
    """Rows with an email due: new, to remind, or fixed since people were told."""
    rows = PagingProblem.objects.filter(organization=organization)
    return (
        rows.open().filter(Q(notified_at__isnull=True) | Q(last_notified_at__lte=cutoff))
        | rows.all_clear_pending()
    ).order_by("pk")  # one lock order for every run


def _claim(row: PagingProblem, cutoff: datetime, now: datetime) -> str | None:
    """Claim the row's due email by compare-and-set; which one it was, or None if another
    run had it (or the row changed since it was read)."""
    mine = PagingProblem.objects.filter(pk=row.pk)
    if row.resolved_at is not None:
        won = mine.filter(all_clear_due=True, all_clear_sent_at__isnull=True).update(
            all_clear_sent_at=now
        )
        return emails.FIXED if won else None
    if row.notified_at is None:
        won = mine.filter(resolved_at__isnull=True, notified_at__isnull=True).update(
            notified_at=now, last_notified_at=now
        )
        return emails.NEW if won else None
    won = mine.filter(resolved_at__isnull=True, last_notified_at__lte=cutoff).update(
        last_notified_at=now, reminders_sent=F("reminders_sent") + 1
    )
    if won:
        row.reminders_sent += 1
    return emails.REMINDER if won else None


def _waiting_since(row: PagingProblem) -> datetime:
    """When the row's email fell due: a problem never told, from when it was seen (gone
    since or not: its first email is never later than the hold after that), an all-clear
    from the fix, a reminder from its time."""
    if row.notified_at is None:
        return row.opened_at
    if row.resolved_at is not None:
        return row.resolved_at
    assert row.last_notified_at is not None
    return row.last_notified_at + timedelta(hours=settings.PROBLEM_REMINDER_HOURS)


def _notify(
    organization: Organization, now: datetime
) -> tuple[emails.Digest | None, int, datetime | None]:
    """Claim and send the emails due once the oldest has waited the hold; the digest sent
    and how many emails went out, or until when they wait."""
    cutoff = now - timedelta(hours=settings.PROBLEM_REMINDER_HOURS)
    due = list(_due(organization, cutoff))
    if not due:
        return None, 0, None
    hold = timedelta(seconds=settings.PROBLEM_EMAIL_HOLD_SECONDS)
    ready_at = min(_waiting_since(row) for row in due) + hold
    if ready_at > now:
        return None, 0, ready_at
    with transaction.atomic():
        digest = emails.Digest(organization, now)
        for row in due:
            which = _claim(row, cutoff, now)
            if which is not None:
                digest.add(which, row)
        if digest.empty:
            return None, 0, None
        sent = emails.send(digest, recipients(organization))
    log.info(
        "Paging problems of organization %s: %d email(s) sent (%s)",
        organization.pk,
        sent,
        digest.describe(),
    )
    return digest, sent, None
