""" "Mute 1 h" beside an open firing's Resolve, and what it says it does.

A mute holds only the triggers not queued yet (`paging.Pager` marks the firing held instead
of queuing one; `mute_release` pages it at the end). A trigger already queued, or being
retried after PagerDuty failed, is sent by the delivery engine whatever the mutes: it goes
out when PagerDuty answers, mute or not. So the words follow the firing's deliveries, read
as the alert page reads them (`FiringReach` for an incident open, `failed_attempts` for
"not paged yet"): paged, first page still being retried, on its way, or none of these.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, QuerySet
from django.utils.html import format_html
from django.utils.safestring import SafeString

from alerts_saas.alerts import mutes
from alerts_saas.alerts.models import Alert
from alerts_saas.alerts.reach import FiringReach, incident_open, unseen_causes, unseen_why
from integrations.pagerduty.incidents.lookup import Key, incidents_of
from integrations.pagerduty.incidents.models import Incident
from integrations.pagerduty.models import Delivery, EventAction

# A second "Mute 1 h" this close to the first's end is the same click (a double click, a
# resent form): it mutes nothing more, and no second window is made.
SAME_CLICK = timedelta(minutes=1)


@dataclass(frozen=True)
class OpenPages:
    """What the alert's open firings' deliveries say, for the words of a mute."""

    paged: bool = False  # an incident PagerDuty opened for one is open (`FiringReach.paged`)
    retried: bool = False  # a trigger with a failed attempt is being retried: not paged yet
    queued: bool = False  # a trigger queued or being sent, no attempt failed yet
    # Of the incidents it opened, one PagerDuty has not reported resolved (`incident_open`):
    # once someone resolved it there, the words no longer say it stays open.
    incident_open: bool = False
    # One it opened for a service Tripwire can't see (`reach.unseen_why`: a pasted key's, or
    # one no longer in Tripwire): whether it is open only PagerDuty knows. "" if none.
    unseen_why: str = ""

    @classmethod
    def of(
        cls,
        per_firing: Iterable[Sequence[Delivery]],
        incidents: Mapping[Key, Incident] | None = None,
        syncing: Collection[int] = frozenset(),
    ) -> OpenPages:
        """From each open firing's deliveries (all of them, any order), PagerDuty's
        incidents for their triggers (by service and dedup key), and which of their services
        PagerDuty tells us of (`syncing`: connected through OAuth)."""
        paged = retried = queued = still_open = pasted = gone = False
        for deliveries in per_firing:
            paged = paged or FiringReach.of(deliveries).paged
            still_open = still_open or incident_open(deliveries, incidents or {}, syncing)
            one_pasted, one_gone = unseen_causes(deliveries, syncing)
            pasted, gone = pasted or one_pasted, gone or one_gone
            for d in deliveries:
                if d.event_action == EventAction.TRIGGER and not d.is_final:
                    retried = retried or d.failed_attempts > 0
                    queued = queued or d.failed_attempts == 0
        why = unseen_why(pasted, gone) if paged else ""
        return cls(paged, retried, queued, paged and still_open, why)

    @classmethod
    def load(cls, alert: Alert) -> OpenPages:
        """From the database: the alert's open firings' deliveries (one query, through the
        firing: the delivery's and the firing's organization both the alert's; newest first,
        `Delivery.Meta.ordering`, though `of` takes any order)."""
        org = alert.organization_id
        rows: QuerySet[Delivery] = Delivery.objects.filter(
            organization_id=org,
            firing__organization_id=org,
            firing__alert=alert,
            firing__cleared_at__isnull=True,
        ).defer("routing_key", "body")
        # Whether each one's service is connected through OAuth (PagerDuty tells us of its
        # incidents), in the same query.
        rows = rows.annotate(service_account=F("service__account_id"))
        found: dict[int, list[Delivery]] = {}
        for d in rows:
            found.setdefault(d.firing_id or 0, []).append(d)
        # PagerDuty's word on the incidents its accepted triggers opened, and which of their
        # services it tells us of: one query, none while no trigger was accepted.
        taken = [d for ds in found.values() for d in ds if d.status == Delivery.Status.DELIVERED]
        syncing = frozenset(
            d.service_id
            for d in taken
            if d.service_id is not None and getattr(d, "service_account", None) is not None
        )
        return cls.of(found.values(), incidents_of(org, taken) if taken else {}, syncing)

    @property
    def pending(self) -> bool:
        """A page is already queued for it: it goes out, mute or not."""
        return self.retried or self.queued

    @property
    def words(self) -> str:
        """What stays as it is when the alert is muted, in sentences ("" if nothing)."""
        said = []
        first = "A page of it" if self.paged else "Its first page"
        if self.retried:
            said.append(
                f"{first} is still being retried: it will go out when PagerDuty answers; "
                "the mute holds only pages not yet queued."
            )
        elif self.queued:
            said.append(
                f"{first} is already on its way to PagerDuty and still goes out; the mute "
                "holds only pages not yet queued."
            )
        if self.incident_open:
            said.append(
                "The incident already open in PagerDuty stays open: acknowledge or resolve "
                "it there."
            )
        elif self.unseen_why:
            said.append(
                "Its incident in PagerDuty, if still open, stays open. Tripwire can't see it "
                f"({self.unseen_why}): check PagerDuty."
            )
        return " ".join(said)

    def lead(self, subject: str) -> str:
        """ "no new pages for …": no page queued from now on, one already queued still goes."""
        return (
            f"no new pages are queued for {subject}"
            if self.pending
            else (f"no new pages for {subject}")
        )


def rows_pages(rows: Iterable[object]) -> OpenPages:
    """`OpenPages` of the open firing rows the alert page shows (their deliveries and
    incidents read)."""
    shown = [row for row in rows if row is not None]
    incidents: dict[Key, Incident] = {}
    syncing: set[int] = set()
    for row in shown:
        incidents.update(getattr(row, "incidents", {}))
        syncing.update(getattr(row, "syncing", ()))
    return OpenPages.of((getattr(row, "deliveries", []) for row in shown), incidents, syncing)


def services_mute_until(alert: Alert, now: datetime) -> datetime | None:
    """When service mutes covering every target of the alert stop holding the first of
    them, if they cover all (one query, the targets already read by the page); None if a
    target is not muted, or the alert pages no service."""
    targets = [t.pk for t in alert.targets.all()]
    if not targets:
        return None
    loaded = mutes.Mutes.load([alert.organization_id], now)
    ends = [loaded.service_until(pk) for pk in targets]
    known = [end for end in ends if end is not None]
    return min(known) if len(known) == len(ends) else None


def already_muted_until(alert: Alert, ends: datetime, now: datetime) -> datetime | None:
    """When the alert's own mute ends, if it already mutes it to `ends` (the same click
    again: `SAME_CLICK`) or later; None if a new window is needed."""
    until = mutes.Mutes.load([alert.organization_id], now).alert_until(alert.pk)
    return until if until is not None and until >= ends - SAME_CLICK else None


def confirmation(
    alert: Alert, until: datetime, now: datetime, made: bool, pages_nobody: bool = False
) -> SafeString:
    """What the person reads once muted (or already muted: `made` False); `pages_nobody`:
    the alert has no PagerDuty service, so nothing pages at the end either."""
    pages = OpenPages.load(alert)
    subject = f"“{alert.name}”"
    if made:
        head = format_html(
            "Muted until {}: {} until then.",
            mutes.until_html(until, now),
            pages.lead(subject),
        )
    else:
        head = format_html(
            "{} is already muted until {}: no second mute was made.",
            subject,
            mutes.until_html(until, now),
        )
    after = (
        "A firing that opens meanwhile pages at the end if still open."
        if not pages_nobody
        else "Even after it, it pages nobody, as it has no PagerDuty service."
    )
    rest = " ".join(s for s in (pages.words, after) if s)
    return format_html("{} {}", head, rest)
