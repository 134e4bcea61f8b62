"""Whether a firing paged anyone: one rule, in the same words on every page, the email and
the API.

A firing was paged when PagerDuty accepted one of its triggers (to one of its services, or
only to the organization's fallback: "paged via the fallback"). While a trigger of it is
still on its way (queued, being retried after failed attempts, or being sent) it is "not
paged yet". A firing a mute held is held, not missed. Otherwise, when it sent triggers and
PagerDuty accepted none, it says no more than PagerDuty told: when PagerDuty refused every
one of them outright (a 4xx answer other than 429: `REJECTED`, as `EventResult.rejected`),
nobody was paged: a missed page, said as "nobody was paged: PagerDuty refused the trigger
to Checkout API 001". When one of them was given up on otherwise (timeouts, 5xx, 429: it
may have reached PagerDuty unanswered), PagerDuty never confirmed it: "not confirmed", said
as "PagerDuty never confirmed it took the trigger to Checkout API 001; it may not have
paged anyone". A firing that sent nothing (its alert had no service) says so on its own
("Nothing sent").

This is about what happened, not whom an open incident reaches now (`reach`): a firing
paged and since resolved was paged. `sent_of` reads it for a page of firings in two
queries, `paging_annotations` says it in SQL per firing row (Exists probes on the
deliveries' firing index), `Sent.of` from deliveries a page already holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.template.defaultfilters import pluralize

from alerts_saas.alerts.models import Firing
from alerts_saas.words import listed
from integrations.pagerduty.models import Delivery, EventAction, Reason

TRIGGER = Q(event_action=EventAction.TRIGGER)
DELIVERED = Q(status=Delivery.Status.DELIVERED)
FAILED = Q(status=Delivery.Status.FAILED)
PENDING = Q(status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING])
# Refused outright: PagerDuty answered 4xx but 429 (too many requests: not a refusal).
REJECTED = FAILED & Q(response_status__gte=400, response_status__lt=500) & ~Q(response_status=429)
# Failed for good without such an answer (timeouts, 5xx, 429 until retries gave up).
UNCONFIRMED = FAILED & (
    Q(response_status__isnull=True)
    | Q(response_status__lt=400)
    | Q(response_status__gte=500)
    | Q(response_status=429)
)
FALLBACK = Q(reason=Reason.FALLBACK)


class Paging(StrEnum):
    """What became of a firing's page (the API's `paging`)."""

    PAGED = "paged"
    FALLBACK = "paged_via_fallback"
    NOT_YET = "not_paged_yet"
    HELD = "held"
    MISSED = "missed"  # nobody was paged: PagerDuty refused every one of its triggers
    NOT_CONFIRMED = "not_confirmed"  # none accepted, one given up on unanswered: may be missed
    NOTHING_SENT = "nothing_sent"  # no trigger: its alert had no service


def paging(
    *, own: bool, fallback: bool, pending: bool, triggered: bool, held: bool, unconfirmed: bool
) -> Paging:
    """The rule, from what its triggers did (`own`/`fallback`: one was accepted;
    `unconfirmed`: one failed for good without PagerDuty refusing it)."""
    if own:
        return Paging.PAGED
    if fallback:
        return Paging.FALLBACK
    if pending:
        return Paging.NOT_YET
    if held:
        return Paging.HELD
    if not triggered:
        return Paging.NOTHING_SENT
    return Paging.NOT_CONFIRMED if unconfirmed else Paging.MISSED


def _triggers(firing: str = "pk") -> QuerySet[Delivery]:
    """The triggers of the outer row's firing (`firing`: its field naming the firing)."""
    return Delivery.objects.filter(
        TRIGGER, organization_id=OuterRef("organization_id"), firing_id=OuterRef(firing)
    )


def paging_annotations(firing: str = "pk") -> dict[str, Exists]:
    """Per row, what `paging` needs: five probes of the deliveries' firing index, inside
    the query that reads the rows (no query per row). Rows are firings, or deliveries with
    `firing="firing_id"` (the dashboard's failed triggers); `held` is the caller's."""
    return {
        "paged_own": Exists(_triggers(firing).filter(DELIVERED).exclude(FALLBACK)),
        "paged_fallback": Exists(_triggers(firing).filter(DELIVERED, FALLBACK)),
        "triggers_pending": Exists(_triggers(firing).filter(PENDING)),
        "triggered": Exists(_triggers(firing)),
        "unconfirmed": Exists(_triggers(firing).filter(UNCONFIRMED)),
    }


def paging_of_row(firing: object) -> Paging:
    """`paging` of a firing read with `paging_annotations`."""
    return paging(
        own=bool(getattr(firing, "paged_own", False)),
        fallback=bool(getattr(firing, "paged_fallback", False)),
        pending=bool(getattr(firing, "triggers_pending", False)),
        triggered=bool(getattr(firing, "triggered", False)),
        held=bool(getattr(firing, "held", False)),
        unconfirmed=bool(getattr(firing, "unconfirmed", False)),
    )


def unpaged(firings: QuerySet[Firing]) -> QuerySet[Firing]:
    """Those of `firings` (a Firing queryset) PagerDuty accepted no trigger of, for good:
    `Paging.MISSED` or `Paging.NOT_CONFIRMED`, each with `unconfirmed` (True: the latter)."""
    return (
        firings.filter(held=False)
        .filter(Exists(_triggers()))
        .exclude(Exists(_triggers().filter(DELIVERED)))
        .exclude(Exists(_triggers().filter(PENDING)))
        .annotate(unconfirmed=Exists(_triggers().filter(UNCONFIRMED)))
    )


def missed(firings: QuerySet[Firing]) -> QuerySet[Firing]:
    """Those of `firings` (a Firing queryset) that paged nobody (`Paging.MISSED`)."""
    return unpaged(firings).exclude(Exists(_triggers().filter(UNCONFIRMED)))


def rejected(status: int | None) -> bool:
    """A failed trigger's answer refused it outright (`REJECTED`, `EventResult.rejected`)."""
    return status is not None and 400 <= status < 500 and status != 429


@dataclass(frozen=True, slots=True)
class Sent:
    """What one firing sent to PagerDuty, counted: its triggers by outcome, its resolves."""

    triggers: int = 0
    accepted: int = 0
    accepted_own: int = 0
    refused: int = 0  # refused outright (`REJECTED`)
    failed: int = 0  # triggers failed for good otherwise (timeouts, 5xx, 429: unconfirmed)
    pending: int = 0
    resolves: int = 0
    resolves_failed: int = 0
    refused_to: tuple[str, ...] = ()  # the services of its triggers refused outright
    unconfirmed_to: tuple[str, ...] = ()  # of those failed otherwise (never confirmed)
    fallback_names: tuple[str, ...] = ()  # the fallbacks that accepted one

    @classmethod
    def of(cls, deliveries: Iterable[Delivery]) -> Sent:
        """From one firing's deliveries, already read."""
        triggers = [d for d in deliveries if d.event_action == EventAction.TRIGGER]
        resolves = [d for d in deliveries if d.event_action == EventAction.RESOLVE]
        ok = [d for d in triggers if d.status == Delivery.Status.DELIVERED]
        bad = [d for d in triggers if d.status == Delivery.Status.FAILED]
        refused = [d for d in bad if rejected(d.response_status)]
        fallbacks = {d.service_name for d in ok if d.reason == Reason.FALLBACK}
        return cls(
            triggers=len(triggers),
            accepted=len(ok),
            accepted_own=sum(1 for d in ok if d.reason != Reason.FALLBACK),
            refused=len(refused),
            failed=len(bad) - len(refused),
            pending=sum(
                1 for d in triggers if d.status in (Delivery.Status.QUEUED, Delivery.Status.SENDING)
            ),
            resolves=len(resolves),
            resolves_failed=sum(1 for d in resolves if d.status == Delivery.Status.FAILED),
            refused_to=tuple(sorted({d.service_name for d in refused})),
            unconfirmed_to=tuple(
                sorted({d.service_name for d in bad if not rejected(d.response_status)})
            ),
            fallback_names=tuple(sorted(fallbacks)),
        )

    @property
    def total(self) -> int:
        return self.triggers + self.resolves

    @property
    def failed_deliveries(self) -> int:
        return self.refused + self.failed + self.resolves_failed

    def paging(self, held: bool) -> Paging:
        return paging(
            own=self.accepted_own > 0,
            fallback=self.accepted > 0,
            pending=self.pending > 0,
            triggered=self.triggers > 0,
            held=held,
            unconfirmed=self.failed > 0,
        )

    @property
    def words(self) -> str:
        """ "1 trigger, refused", "2 triggers: 1 accepted, 1 refused · 2 resolves"."""
        parts = [
            (self.accepted, "accepted"),
            (self.refused, "refused"),
            (self.failed, "failed"),
            (self.pending, "on its way" if self.pending == 1 else "on their way"),
        ]
        outcomes = [(n, w) for n, w in parts if n]
        said = f"{self.triggers} trigger{pluralize(self.triggers)}"
        if len(outcomes) == 1:
            said += f", {outcomes[0][1]}"
        elif outcomes:
            said += ": " + ", ".join(f"{n} {w}" for n, w in outcomes)
        if self.resolves:
            said += f" · {self.resolves} resolve{pluralize(self.resolves)}"
            if self.resolves_failed:
                failed = self.resolves_failed
                said += ", failed" if failed == self.resolves else f", {failed} failed"
        return said if self.total else "Nothing sent"

    @property
    def named(self) -> bool:
        """Whether the services of its failed triggers were read, for `missed_reason` and
        `unconfirmed_reason` to name: none when its triggers were read after they went
        through meanwhile (then a page says so without names)."""
        return bool(self.refused_to or self.unconfirmed_to)

    @property
    def missed_reason(self) -> str:
        """Why nobody was paged: "PagerDuty refused the trigger to Checkout API 001"."""
        the = "the trigger" if self.refused <= 1 else "the triggers"
        return f"PagerDuty refused {the} to {listed(list(self.refused_to))}"

    @property
    def unconfirmed_reason(self) -> str:
        """Why it may have paged nobody: "PagerDuty never confirmed it took the trigger to
        Checkout API 001; it may not have paged anyone", or with one refused too "PagerDuty
        refused the trigger to Checkout API; it never confirmed it took the one to Search
        API; it may not have paged anyone": each service as PagerDuty answered for it."""
        to = listed(list(self.unconfirmed_to))
        if self.refused_to:
            the = "the one" if self.failed <= 1 else "the ones"
            said = f"{self.missed_reason}; it never confirmed it took {the} to {to}"
        else:
            the = "the trigger" if self.failed <= 1 else "the triggers"
            said = f"PagerDuty never confirmed it took {the} to {to}"
        return f"{said}; it may not have paged anyone"

    @property
    def fallback_name(self) -> str:
        return listed(list(self.fallback_names))


def sent_of(organization_id: int, firing_ids: list[int]) -> dict[int, Sent]:
    """`Sent` of each of the firings: its counts in one aggregate query, and the services
    its failed triggers and its fallback's accepted ones went to in one more (plain SQL on
    every engine: `make run` runs on SQLite)."""
    if not firing_ids:
        return {}
    resolve = Q(event_action=EventAction.RESOLVE)
    theirs = Delivery.objects.filter(organization_id=organization_id, firing_id__in=firing_ids)
    rows = theirs.values("firing_id").annotate(
        triggers=Count("pk", filter=TRIGGER),
        accepted=Count("pk", filter=TRIGGER & DELIVERED),
        accepted_own=Count("pk", filter=TRIGGER & DELIVERED & ~FALLBACK),
        refused=Count("pk", filter=TRIGGER & REJECTED),
        failed_all=Count("pk", filter=TRIGGER & FAILED),
        pending=Count("pk", filter=TRIGGER & PENDING),
        resolves=Count("pk", filter=resolve),
        resolves_failed=Count("pk", filter=resolve & FAILED),
    )
    refused_to: dict[int, set[str]] = {}
    unconfirmed_to: dict[int, set[str]] = {}
    fallback_names: dict[int, set[str]] = {}
    named = (
        theirs.filter(TRIGGER & (FAILED | (DELIVERED & FALLBACK)))
        .values("firing_id", "service_name", "status", "response_status")
        .annotate(n=Count("pk"))  # grouped: one row per firing, service and answer
    )
    for row in named:
        if row["status"] != Delivery.Status.FAILED:
            names = fallback_names
        else:
            names = refused_to if rejected(row["response_status"]) else unconfirmed_to
        names.setdefault(row["firing_id"], set()).add(row["service_name"])
    return {
        row["firing_id"]: Sent(
            triggers=row["triggers"],
            accepted=row["accepted"],
            accepted_own=row["accepted_own"],
            refused=row["refused"],
            failed=row["failed_all"] - row["refused"],
            pending=row["pending"],
            resolves=row["resolves"],
            resolves_failed=row["resolves_failed"],
            refused_to=tuple(sorted(refused_to.get(row["firing_id"], ()))),
            unconfirmed_to=tuple(sorted(unconfirmed_to.get(row["firing_id"], ()))),
            fallback_names=tuple(sorted(fallback_names.get(row["firing_id"], ()))),
        )
        for row in rows
    }
