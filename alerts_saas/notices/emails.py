"""The emails about paging problems: what broke, what it leaves without a page, since when,
and the one link that fixes it, in words a person woken at 3 a.m. can act on.

A run of `reconcile` sends each recipient one email with all it claimed (new problems,
reminders, all-clears), so that ten alerts found paging nobody at once are one email, not
ten, less what the recipient's own change made or mended: that is on their screen already.
Plain text, as the product's other emails.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.timesince import timesince

from alerts_saas.accounts.models import Organization
from alerts_saas.accounts.times import ago, zone_of
from alerts_saas.alerts.health import ProblemKind
from alerts_saas.alerts.models import Firing
from alerts_saas.alerts.paged import Sent, sent_of, unpaged
from alerts_saas.mail_subjects import one_line
from alerts_saas.notices.models import KIND_ORDER, NO_ALERT, PagingProblem
from alerts_saas.words import listed
from integrations.pagerduty.reconnect import SHORT, STOPPED

NEW = "new"
REMINDER = "reminder"
FIXED = "fixed"
LISTED = 20  # alert names an email or page lists before "and N more"
PER_SECTION = 20  # problems an email spells out under each heading; the page has them all
MISSED_SPAN = timedelta(hours=24)  # the missed pages an email lists: of firings open since
UNCONFIRMED_WORDS = "PagerDuty never confirmed it took its trigger; it may not have paged anyone"


def absolute(path: str) -> str:
    """A path on this site as a link that works from a mailbox."""
    return f"{settings.SITE_URL}{path}"


def names(items: list[str]) -> str:
    """ "A, B and C", at most LISTED of them, then how many more."""
    return listed(items, most=LISTED)


def lasted(start: datetime, end: datetime) -> str:
    """ "less than a minute", "5 minutes", "2 days, 3 hours"."""
    return "less than a minute" if (end - start).total_seconds() < 60 else timesince(start, end)


def alert_lines(problem: PagingProblem) -> list[str]:
    """What the problem does to the organization's alerts, in sentences."""
    kind = ProblemKind(problem.kind)
    if kind == ProblemKind.NOBODY:
        return []
    if not problem.alerts:
        return ["No enabled alert pages it."]
    if kind == ProblemKind.REFUSED:
        lines = []
        if problem.silenced:
            lines.append(f"Alerts that now page nobody: {names(problem.silenced)}.")
        if problem.others:
            lines.append(f"Alerts that still page someone: {names(problem.others)}.")
        return lines
    if kind == ProblemKind.FAILING:
        return [f"Alerts whose pages to it may fail: {names(problem.alerts)}."]
    return [f"Alerts on its services, which still page: {names(problem.alerts)}."]


def told_before(problem: PagingProblem) -> bool:
    """Whether its first email went out before it was fixed; if not, the all-clear is the
    only email about it ("broken for 2 minutes, fixed now")."""
    return problem.notified_at is not None


def pages_nothing(problem: PagingProblem) -> bool:
    """Whether nothing pages through it (no enabled alert, not the fallback): broken, but no
    page is lost to it, so its email does not say paging is broken (an account to reconnect
    has its own words)."""
    return problem.impact >= NO_ALERT and problem.kind != ProblemKind.RECONNECT


def only_reconnect(problems: list[PagingProblem]) -> bool:
    """Whether every one of these is an account to reconnect: pages still go out
    (`pagerduty.reconnect`), so the email does not say paging is broken."""
    return bool(problems) and all(p.kind == ProblemKind.RECONNECT for p in problems)


@dataclass(frozen=True, slots=True)
class Unpaged:
    """A firing PagerDuty accepted no trigger of, for good (`missed_firings`)."""

    alert_name: str
    opened_at: datetime
    unconfirmed: bool  # one given up on unanswered (`alerts.paged.UNCONFIRMED`): may be missed
    sent: Sent  # its triggers: the services that refused them, or never confirmed them


def missed_firings(organization: Organization, now: datetime) -> list[Unpaged]:
    """The firings open within MISSED_SPAN PagerDuty accepted no trigger of, for good
    (`alerts.paged.unpaged`: missed, or not confirmed), oldest first: at most LISTED + 1
    (one more says there are more), with what they sent (`sent_of`); three queries,
    read once for all readers."""
    recent = Q(cleared_at__isnull=True) | Q(cleared_at__gte=now - MISSED_SPAN)
    found = list(
        unpaged(Firing.objects.filter(recent, organization=organization))
        .select_related("alert")
        .only("pk", "opened_at", "alert__name")
        .order_by("opened_at", "pk")[: LISTED + 1]
    )
    sent = sent_of(organization.pk, [firing.pk for firing in found])
    return [
        Unpaged(
            firing.alert.name,
            firing.opened_at,
            bool(getattr(firing, "unconfirmed", False)),
            sent.get(firing.pk, Sent()),
        )
        for firing in found
    ]


def missed_lines(found: list[Unpaged], now: datetime) -> list[str]:
    """`missed_firings` in the alert page's words, in the active zone (the reader's: `send`):
    "Checkout errors fired at 08:08 UTC and paged nobody: PagerDuty refused the trigger to
    Checkout API 001." when PagerDuty refused it, "… fired at 08:08 UTC: PagerDuty never
    confirmed it took the trigger to Checkout API 001; it may not have paged anyone." when
    that is all it knows. At most LISTED, then that there are more."""
    today = timezone.localdate(now)
    lines = []
    for firing in found[:LISTED]:
        when = timezone.localtime(firing.opened_at)
        day = "" if when.date() == today else f" on {date_format(when, 'j F')}"
        fired = f"{firing.alert_name} fired at {date_format(when, 'H:i e')}{day}"
        named = firing.sent.named  # none read when its triggers went meanwhile
        if firing.unconfirmed:
            why = firing.sent.unconfirmed_reason if named else UNCONFIRMED_WORDS
            lines.append(f"{fired}: {why}.")
        else:
            why = f": {firing.sent.missed_reason}" if named else ""
            lines.append(f"{fired} and paged nobody{why}.")
    if len(found) > LISTED:
        lines.append("And more: see each alert's firings.")
    return lines


class Recipient(NamedTuple):
    user_id: int
    email: str
    time_zone: str = ""  # their profile's zone (`accounts.times.zone_of`): the email's times


@dataclass
class Digest:
    """The emails one run claimed for one organization."""

    organization: Organization
    now: datetime
    new: list[PagingProblem] = field(default_factory=list)
    reminders: list[PagingProblem] = field(default_factory=list)
    fixed: list[PagingProblem] = field(default_factory=list)
    still_open: int | None = None  # counted once for all its recipients (`send`)
    missed: list[Unpaged] | None = None  # read once for all its recipients (`send`)

    def add(self, which: str, problem: PagingProblem) -> None:
        {NEW: self.new, REMINDER: self.reminders, FIXED: self.fixed}[which].append(problem)

    def for_reader(self, user_id: int) -> Digest:
        """What this recipient is told: not a problem their own change made, nor the fix
        they made, nor the fix of one they made and were never told of (reminders go to
        everyone: a day on, nobody has just chosen it)."""
        return replace(
            self,
            new=[p for p in self.new if p.opened_by_id != user_id],
            reminders=list(self.reminders),
            fixed=[
                p
                for p in self.fixed
                if p.closed_by_id != user_id
                and not (p.opened_by_id == user_id and p.reminders_sent == 0)
            ],
        )

    def key(self) -> tuple[tuple[int, ...], ...]:
        return tuple(tuple(p.pk for p in ps) for ps in (self.new, self.reminders, self.fixed))

    @property
    def empty(self) -> bool:
        return not (self.new or self.reminders or self.fixed)

    def describe(self) -> str:
        return f"{len(self.new)} new, {len(self.reminders)} reminders, {len(self.fixed)} fixed"

    def subject(self) -> str:
        org = self.organization.name
        prefix = f"[{settings.PRODUCT_NAME}] "
        single = [*self.new, *self.reminders, *self.fixed]
        if len(single) == 1:
            title = single[0].title
            if only_reconnect(self.new):
                return f"{prefix}Reconnect PagerDuty in {org}: {SHORT}"
            if only_reconnect(self.reminders):
                return f"{prefix}Still to reconnect PagerDuty in {org}: {SHORT}"
            if only_reconnect(self.fixed):
                return f"{prefix}Reconnected in {org}: {title.removesuffix(' needs reconnecting')}"
            if pages_nothing(single[0]):
                still = "Still: " if self.reminders else "Fixed: " if self.fixed else ""
                return f"{prefix}{still}{title} in {org} (no alert pages it)"
            if self.fixed and not told_before(self.fixed[0]):
                took = lasted(self.fixed[0].began, self.fixed[0].resolved_at or self.now)
                return f"{prefix}Paging was broken for {took} in {org}, fixed now: {title}"
            if self.new:
                return f"{prefix}Paging broken in {org}: {title}"
            if self.reminders:
                return f"{prefix}Still broken in {org}: {title}"
            return f"{prefix}Fixed in {org}: {title}"
        parts = []
        broken = [p for p in self.new if p.kind != ProblemKind.RECONNECT and not pages_nothing(p)]
        unused = sum(pages_nothing(p) for p in self.new)
        if broken:
            parts.append(f"{len(broken)} new paging problem{'s' if len(broken) > 1 else ''}")
        if unused:
            parts.append(f"{unused} new problem{'s' if unused > 1 else ''} no alert pages through")
        if len(broken) + unused < len(self.new):
            accounts = len(self.new) - len(broken) - unused
            parts.append(
                f"{accounts} PagerDuty account{'s' if accounts > 1 else ''} to reconnect "
                "(pages still go out)"
            )
        if self.reminders:
            parts.append(f"{len(self.reminders)} still broken")
        if self.fixed:
            parts.append(f"{len(self.fixed)} fixed")
        return f"{prefix}{org}: {', '.join(parts)}"

    def body(self) -> str:
        slug = self.organization.slug
        context = {
            "organization": self.organization,
            "product": settings.PRODUCT_NAME,
            "new_reconnect_only": only_reconnect(self.new),
            "new_unused_only": bool(self.new) and all(pages_nothing(p) for p in self.new),
            "reminders_reconnect_only": only_reconnect(self.reminders),
            "reconnect_stopped": STOPPED,
            **self._section("new", self.new),
            **self._section("reminders", self.reminders),
            **self._section("fixed", self.fixed),
            "still_open": self.open_count(),
            "missed": missed_lines(self.missed_pages(), self.now),
            "missed_unconfirmed": any(f.unconfirmed for f in self.missed_pages()[:LISTED]),
            "problems_link": absolute(reverse("notices:problems", args=[slug])),
            "settings_link": absolute(reverse("notices:settings")),
            "reminder_hours": settings.PROBLEM_REMINDER_HOURS,
        }
        return render_to_string("notices/email/problems.txt", context)

    def open_count(self) -> int:
        if self.still_open is None:
            self.still_open = (
                PagingProblem.objects.open().filter(organization=self.organization).count()
            )
        return self.still_open

    def missed_pages(self) -> list[Unpaged]:
        if self.missed is None:
            self.missed = missed_firings(self.organization, self.now)
        return self.missed

    def _section(self, name: str, problems: list[PagingProblem]) -> dict[str, object]:
        """The section's first PER_SECTION problems, worst first, and how many more."""
        ordered = sorted(
            problems,
            key=lambda p: (p.impact, KIND_ORDER.index(ProblemKind(p.kind)), p.opened_at, p.pk),
        )
        return {
            name: [self._item(p) for p in ordered[:PER_SECTION]],
            f"{name}_more": max(0, len(ordered) - PER_SECTION),
        }

    def _item(self, problem: PagingProblem) -> dict[str, object]:
        return {
            "title": problem.title,
            "reconnect": problem.kind == ProblemKind.RECONNECT,
            "words": problem.words,
            "began": problem.began,
            "ago": ago(problem.began, self.now),
            "lasted": lasted(problem.began, problem.resolved_at or self.now),
            "alert_lines": alert_lines(problem),
            "fix_label": problem.fix_label,
            "fix_link": absolute(problem.fix_url),
            "resolution": problem.resolution,
            "told_before": told_before(problem),
            "resolved_at": problem.resolved_at,
            "reminders_sent": problem.reminders_sent,
        }


def send(digest: Digest, to: list[Recipient]) -> int:
    """One email to each recipient with something to be told, each written once for all who
    are told the same, in the same time zone (their profile's; UTC while none is chosen);
    raises if the mail server refuses, so the caller's claims roll back and the next run
    tries again."""
    readers: dict[tuple[object, ...], tuple[Digest, str, list[str]]] = {}
    for recipient in to:
        theirs = digest.for_reader(recipient.user_id)
        if not theirs.empty:
            key = (theirs.key(), recipient.time_zone)
            readers.setdefault(key, (theirs, recipient.time_zone, []))[2].append(recipient.email)
    messages = []
    for theirs, zone, addresses in readers.values():
        theirs.still_open = digest.open_count()
        theirs.missed = digest.missed_pages()
        with timezone.override(zone_of(zone)):
            subject, body = one_line(theirs.subject()), theirs.body()
        sender = settings.DEFAULT_FROM_EMAIL
        messages += [EmailMessage(subject, body, sender, [a]) for a in addresses]
    if not messages:
        return 0
    return get_connection(fail_silently=False).send_messages(messages) or 0
