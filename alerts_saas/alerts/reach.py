"""Whether an alert's page reaches someone: the one rule every page, count and email uses.

An alert reaches someone when one of its services is not refused by PagerDuty (a failing
service, or one whose account needs reconnecting, is still tried with its key), or, when
PagerDuty refuses all of them, when the organization's fallback service is not refused:
a firing's trigger then goes to the fallback (at once, or when the fallback is chosen:
`fallback_now`). An alert with no service reaches nobody: nothing is sent, not even to
the fallback. `reaches_someone` says it in SQL, for the counts and filters, and
`Fallbacks` and `health.alert_health` say it in Python for the rows shown; both read the
same fields. That is a promise about the next page.

A firing is judged by what happened to it first: while an incident PagerDuty opened
for one of its triggers (to one of its services or to a fallback) is open, that is while
Tripwire sent no resolve under the trigger's key after it (`delivery.open_triggers`, for
accepted triggers only), it reaches someone, whatever was changed since (a fallback unset
later). Otherwise (none accepted yet, or Tripwire resolved them: its service taken off the
alert), by its alert's rule now (its triggers may still be on their way, or a fallback
chosen now pages it: `fallback_now`). `accepted_triggers` and `reaches_someone` say it in
SQL (the dashboard ranks its firings with them), `FiringReach` in Python from the
deliveries a page has read.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from django.db.models import (
    Exists,
    OuterRef,
    Q,
    QuerySet,
)

from alerts_saas.alerts.models import Alert
from integrations.pagerduty.incidents.models import Incident
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService, Reason


def usable_fallbacks() -> Q:
    """The fallback services that can page: PagerDuty does not refuse their key."""
    return Q(is_fallback=True, refused_at__isnull=True)


def reaches_someone(alert: str = "pk") -> Q:
    """Per row, whether the alert (its id in the row's field `alert`, its organization's
    in `organization_id`) reaches someone; two index probes and one on the fallback."""
    targets = Alert.targets.through.objects.filter(alert_id=OuterRef(alert))
    usable = targets.filter(pagerdutyservice__refused_at__isnull=True)
    fallback = PagerDutyService.objects.filter(
        usable_fallbacks(), organization_id=OuterRef("organization_id")
    )
    return Q(Exists(usable)) | (Q(Exists(targets)) & Q(Exists(fallback)))


class Fallbacks:
    """The name of each organization's usable fallback service, read once per organization
    when first asked (only for an alert PagerDuty refuses on every service), so a page of
    rows costs one query at most, and none while every path works."""

    def __init__(self) -> None:
        self._names: dict[int, str] = {}

    def name(self, organization_id: int) -> str:
        """The usable fallback's name, or "" if there is none."""
        if organization_id not in self._names:
            found = PagerDutyService.objects.filter(
                usable_fallbacks(), organization_id=organization_id
            ).values_list("name", flat=True)
            self._names[organization_id] = found.first() or ""
        return self._names[organization_id]


def _resolved_later() -> Exists:
    """Per trigger row: Tripwire sent (or is sending) a resolve under its key after it; a
    refused resolve leaves the incident open (as `delivery.open_triggers` reads them)."""
    later = Q(created_at__gt=OuterRef("created_at")) | Q(
        created_at=OuterRef("created_at"), pk__gt=OuterRef("pk")
    )
    return Exists(
        Delivery.objects.filter(
            later,
            organization_id=OuterRef("organization_id"),
            dedup_key=OuterRef("dedup_key"),
            event_action=EventAction.RESOLVE,
        ).exclude(status=Delivery.Status.FAILED)
    )


def accepted_triggers() -> QuerySet[Delivery]:
    """The triggers of the row's firing (a firing row) that PagerDuty accepted and whose
    incident Tripwire has not resolved since (a probe of the firings' index per row, one of
    the keys' per accepted trigger)."""
    return Delivery.objects.filter(
        organization_id=OuterRef("organization_id"),
        firing_id=OuterRef("pk"),
        event_action=EventAction.TRIGGER,
        status=Delivery.Status.DELIVERED,
    ).exclude(_resolved_later())


def unfinished_triggers() -> QuerySet[Delivery]:
    """The triggers of the row's firing (a firing row) still on their way (queued or
    sending): PagerDuty has not answered them yet."""
    return Delivery.objects.filter(
        organization_id=OuterRef("organization_id"),
        firing_id=OuterRef("pk"),
        event_action=EventAction.TRIGGER,
        status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING],
    )


@dataclass(frozen=True, slots=True)
class FiringReach:
    """What a firing's deliveries say of whom it reaches: `paged` whether an incident
    PagerDuty opened for a trigger of it is still open (Tripwire sent no resolve for it
    since), `fallback` the fallback service's name when only a fallback's is (the rule of
    `accepted_triggers`, and of the dashboard's rank of firings)."""

    paged: bool = False
    fallback: str = ""

    @classmethod
    def of(cls, deliveries: Iterable[Delivery]) -> FiringReach:
        """From all of one firing's deliveries (any order)."""
        accepted = _still_open(deliveries)
        if any(d.reason != Reason.FALLBACK for d in accepted):
            return cls(paged=True)
        fallback = min(accepted, key=lambda d: d.pk).service_name if accepted else ""
        return cls(paged=bool(accepted), fallback=fallback)


def incident_open(
    deliveries: Iterable[Delivery],
    incidents: Mapping[tuple[int, str], Incident],
    syncing: Collection[int],
) -> bool:
    """Whether, as far as Tripwire knows, an incident PagerDuty opened for one of a firing's
    triggers is open: an accepted trigger no resolve followed (`_still_open`) to a service
    PagerDuty tells us of (`syncing`: connected through OAuth) whose incident it has not
    reported resolved (`incidents`, by service and dedup key; not reported yet counts as
    open). A pasted key's incident is never known: `unseen_causes`."""
    for d in _still_open(deliveries):
        if d.service_id is None or d.service_id not in syncing:
            continue
        found = incidents.get((d.service_id, d.dedup_key))
        if found is None or found.is_open:
            return True
    return False


def unseen_causes(deliveries: Iterable[Delivery], syncing: Collection[int]) -> tuple[bool, bool]:
    """Whether PagerDuty accepted a trigger of the firing, no resolve followed, for a service
    it tells Tripwire nothing of, and why: (a pasted key's, not among `syncing`; one no
    longer in Tripwire, removed or its account disconnected: its deliveries keep no
    service). That incident may be open or resolved, and only PagerDuty knows."""
    return causes_of(unseen_among(_still_open(deliveries), syncing))


def unseen_among(triggers: Iterable[Delivery], syncing: Collection[int]) -> list[Delivery]:
    """Of accepted triggers, those to a service PagerDuty tells Tripwire nothing of: a pasted
    key's (not among `syncing`), or one no longer in Tripwire (no service)."""
    return [t for t in triggers if t.service_id is None or t.service_id not in syncing]


def causes_of(unseen: Iterable[Delivery]) -> tuple[bool, bool]:
    """(pasted key, no longer in Tripwire) among `unseen_among`'s triggers."""
    pasted = gone = False
    for t in unseen:
        gone = gone or t.service_id is None
        pasted = pasted or t.service_id is not None
    return pasted, gone


def unseen_of(deliveries: Iterable[Delivery], syncing: Collection[int]) -> str:
    """`unseen_why` of one firing's deliveries: "" when Tripwire sees every incident."""
    return unseen_why(*unseen_causes(deliveries, syncing))


PASTED_KEY = "the service was added with a pasted key"
GONE = "the service is no longer in Tripwire"


def unseen_why(pasted: bool, gone: bool, many: bool = False) -> str:
    """Why Tripwire can't see an incident, as a clause: "the service was added with a pasted
    key", "the service is no longer in Tripwire"; "" for neither. The one place these words
    live, so that no page calls a removed or disconnected service a pasted key's."""
    if pasted and gone:
        return "one service was added with a pasted key, another is no longer in Tripwire"
    if pasted:
        return "the services were added with pasted keys" if many else PASTED_KEY
    if gone:
        return "the services are no longer in Tripwire" if many else GONE
    return ""


def resolved_where(unseen: bool) -> str:
    """Where a firing that waits for a person can be resolved: "stays open until resolved
    {here | in PagerDuty or here}". Only here when Tripwire can't see its incident."""
    return "here" if unseen else "in PagerDuty or here"


def _still_open(deliveries: Iterable[Delivery]) -> list[Delivery]:
    """The accepted triggers among one firing's deliveries that no later resolve (not
    refused) under their key follows (`accepted_triggers`)."""
    ordered = sorted(deliveries, key=lambda d: (d.created_at, d.pk))
    resolved: set[str] = set()
    still: list[Delivery] = []
    for d in reversed(ordered):  # newest first: a key's resolve before its triggers
        if d.event_action == EventAction.RESOLVE and d.status != Delivery.Status.FAILED:
            resolved.add(d.dedup_key)
        elif _accepted(d) and d.dedup_key not in resolved:
            still.append(d)
    return still


def _accepted(delivery: Delivery) -> bool:
    return (
        delivery.event_action == EventAction.TRIGGER
        and delivery.status == Delivery.Status.DELIVERED
    )
