"""A fallback chosen while a firing reaches nobody pages for that firing at once.

When a service becomes the organization's fallback, every open firing that reaches
nobody (no incident PagerDuty opened for its triggers is still open: `reach`), none of
whose triggers is still on its way, and whose alert PagerDuty refuses on every service it
pages, sends its trigger to the fallback now, as it would have had the fallback been chosen
when it opened: the same `paging.Pager.fallback` (under the key of this firing and
fallback; nothing if this fallback got one already, so a fallback whose trigger PagerDuty
refused does not stop the next one chosen; held if a window mutes the fallback). A trigger
still on its way is left to its answer: refused, `outgoing.fallbacks` copies it to the
fallback then; paging the fallback now too would page twice. A few queries however many
firings.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from alerts_saas.alerts.firings import lock_and_reread
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.paging import Pager
from alerts_saas.alerts.reach import accepted_triggers, unfinished_triggers
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService, Reason
from integrations.pagerduty.paths import fallback_service, lock_fallback_choice


def reaching_nobody(firings: QuerySet[Firing]) -> QuerySet[Firing]:
    """Those of `firings` open, of enabled alerts whose every service PagerDuty refuses, with
    no incident open through a trigger of theirs (an earlier fallback's may be) and no
    trigger still on its way (`fallback_owed` asks it of every organization at once)."""
    targets = Alert.targets.through.objects.filter(alert_id=OuterRef("alert_id"))
    usable = targets.filter(pagerdutyservice__refused_at__isnull=True)
    return (
        firings.filter(cleared_at__isnull=True, alert__enabled=True)
        .filter(Exists(targets))
        .exclude(Exists(usable))
        .exclude(Exists(accepted_triggers()))
        .exclude(Exists(unfinished_triggers()))
    )


def _reaching_nobody(organization_id: int, among: list[int] | None = None) -> list[Firing]:
    """The organization's open firings (of `among`, if given) reaching nobody."""
    firings = Firing.objects.filter(organization_id=organization_id)
    if among is not None:
        firings = firings.filter(pk__in=among)
    return list(reaching_nobody(firings).select_related("alert").order_by("opened_at", "pk"))


def _triggers(organization_id: int, firings: list[Firing]) -> dict[int, list[Delivery]]:
    """Each firing's latest trigger to each of its own services (with the service and its
    account, as `Pager.fallback` reads them), in one query."""
    rows = (
        Delivery.objects.filter(
            organization_id=organization_id,
            firing_id__in=[f.pk for f in firings],
            event_action=EventAction.TRIGGER,
            service__isnull=False,
        )
        .exclude(reason=Reason.FALLBACK)
        .select_related("service__account")
        .order_by("firing_id", "service_id", "-created_at", "-pk")
    )
    found: dict[int, list[Delivery]] = defaultdict(list)
    for trigger in rows:
        if trigger.firing_id is None:
            continue
        latest = found[trigger.firing_id]
        if not latest or latest[-1].service_id != trigger.service_id:
            latest.append(trigger)
    return found


def _locked(organization_id: int, firings: list[Firing]) -> list[Firing]:
    """`firings` locked as clearing locks them, then read again: those still open and
    reaching nobody (`firings.lock_and_reread`)."""
    return lock_and_reread(firings, lambda among: _reaching_nobody(organization_id, among))


def _failed_there(fallback: PagerDutyService, firings: list[Firing]) -> list[int]:
    """The firings whose latest trigger to `fallback` failed for good (one query)."""
    latest: dict[int, str] = {}
    rows = (
        Delivery.objects.filter(
            organization_id=fallback.organization_id,
            firing_id__in=[f.pk for f in firings],
            service_id=fallback.pk,
            event_action=EventAction.TRIGGER,
            reason=Reason.FALLBACK,
        )
        .order_by("created_at", "pk")
        .values_list("firing_id", "status")
    )
    for firing_id, status in rows:
        if firing_id is not None:
            latest[firing_id] = status
    return [pk for pk, status in latest.items() if status == Delivery.Status.FAILED]


def page_healed_fallback(organization_id: int) -> list[str]:
    """The organization's fallback pages again (healed or mended): `page_fallback_now`,
    its failed triggers sent again. Run after the heal or mend commits, in a transaction of
    its own that takes the choice's lock alone, as a choice does: a refusal settled
    meanwhile is read here, or reads the fallback usable and copies itself to it (the
    engine's settle that heals may hold the lock shared: it can't wait for it alone)."""
    with transaction.atomic():
        lock_fallback_choice([organization_id], choosing=True)
        fallback = fallback_service(organization_id)
        return page_fallback_now(fallback, again=True) if fallback is not None else []


def page_fallback_now(fallback: PagerDutyService, *, again: bool = False) -> list[str]:
    """Queue `fallback`'s trigger for each open firing of its organization that reaches
    nobody (call inside the transaction that makes it the fallback); the names of the alerts
    paged now. Nothing if PagerDuty refuses the fallback's key too. `again`: it pages again,
    so a firing whose latest trigger to it failed for good is sent one again."""
    if not fallback.is_fallback or fallback.refused_at is not None:
        return []
    firings = _locked(fallback.organization_id, _reaching_nobody(fallback.organization_id))
    if not firings:
        return []
    triggers = _triggers(fallback.organization_id, firings)
    services = [t.service for found in triggers.values() for t in found if t.service]
    pager = Pager(firings, timezone.now(), services)
    if again:
        pager.fallback_due_again(_failed_there(fallback, firings), fallback.pk)
    copies: list[Delivery] = []
    for firing in firings:
        sent = triggers.get(firing.pk, [])
        if sent:
            own = [t.service for t in sent if t.service is not None]
            copies += pager.fallback(firing.alert, firing, own, sent)
    pager.save_holds()
    engine.queue(copies)
    by_firing = {f.pk: f.alert.name for f in firings}
    return sorted({by_firing[c.firing_id] for c in copies if c.firing_id is not None})
