"""A mended path pages the firings it could not: when a service PagerDuty refused can page
again (a new integration from "Add services", a pasted key's region corrected), each open
firing of an enabled alert whose latest trigger to that service failed sends its trigger
there again, now, under the same dedup key (so PagerDuty dedups whatever did get through).

Called in the transaction that clears the service's mark: the trigger and the mend are
written together, or neither. The firings are locked as clearing locks them (their alerts'
rows first, then theirs in pk order, without the key), so a firing cleared meanwhile gets no
trigger, and one cleared later finds the new trigger open and resolves it after it. A
service a window mutes now for the alert is left alone: the mute said not to page it. A
fallback already paged for the firing keeps its incident; the firing's resolve reaches both.
A few queries however many firings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from django.db.models import Exists, OuterRef, Q, QuerySet, prefetch_related_objects
from django.utils import timezone

from alerts_saas.alerts.firings import lock_alerts, totals_now
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.mutes import Mutes
from alerts_saas.alerts.paging import Pager
from alerts_saas.locks import lock_rows_without_key
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService, Reason


def _failed_last(
    organization_id: int, service_ids: Collection[int], among: list[int] | None = None
) -> QuerySet[Delivery]:
    """Per open firing (of `among`, if given) of an enabled alert and service of
    `service_ids` it still targets: its trigger there, if the latest one failed."""
    later = Delivery.objects.filter(
        Q(created_at__gt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk")),
        organization_id=OuterRef("organization_id"),
        dedup_key=OuterRef("dedup_key"),
        event_action=EventAction.TRIGGER,
    )
    targeted = Alert.targets.through.objects.filter(
        alert_id=OuterRef("firing__alert_id"), pagerdutyservice_id=OuterRef("service_id")
    )
    rows = Delivery.objects.filter(
        organization_id=organization_id,
        service_id__in=list(service_ids),
        event_action=EventAction.TRIGGER,
        status=Delivery.Status.FAILED,
        firing__cleared_at__isnull=True,
        firing__alert__enabled=True,
    )
    if among is not None:
        rows = rows.filter(firing_id__in=among)
    return (
        rows.exclude(reason=Reason.FALLBACK)
        .filter(Exists(targeted))
        .exclude(Exists(later))
        .select_related("firing__alert__organization", "service__account")
        .order_by("firing_id", "service_id")
    )


def _locked(organization_id: int, service_ids: Collection[int]) -> list[Delivery]:
    """`_failed_last`, read again once its firings are locked as every writer locks them."""
    found = list(_failed_last(organization_id, service_ids))
    if not found:
        return []
    firing_ids = sorted({d.firing_id for d in found if d.firing_id is not None})
    lock_alerts({organization_id}, {d.firing.alert_id for d in found if d.firing})
    lock_rows_without_key(Firing, {organization_id}, firing_ids)
    return list(_failed_last(organization_id, service_ids, among=firing_ids))


def page_mended(organization_id: int, service_ids: Collection[int]) -> dict[int, int]:
    """Queue the trigger, to each of `service_ids` (mended: call inside the transaction
    that clears their marks), of every open firing whose latest trigger there failed,
    unless a window mutes the service for its alert. Returns, per service, how many
    alerts were paged there now."""
    failed = _locked(organization_id, service_ids) if service_ids else []
    if not failed:
        return {}
    now = timezone.now()
    mutes = Mutes.load([organization_id], now)
    firings: dict[int, Firing] = {}
    services: dict[int, list[PagerDutyService]] = defaultdict(list)
    for trigger in failed:
        firing, service = trigger.firing, trigger.service
        if firing is None or service is None:
            continue
        if mutes.muted_targets(firing.alert_id, [service.pk]):
            continue
        firing = firings.setdefault(firing.pk, firing)
        services[firing.pk].append(service)
    if not firings:
        return {}
    found = list(firings.values())
    prefetch_related_objects(list({f.alert_id: f.alert for f in found}.values()), "details")
    totals = totals_now(found)
    pager = Pager(found, now, (s for its in services.values() for s in its))
    pages = [
        page
        for firing in found
        for page in pager.triggers(firing.alert, firing, services[firing.pk], totals[firing.pk])
    ]
    pager.save_holds()
    engine.queue(pages)
    return _alerts_paged(pages)


def _alerts_paged(pages: list[Delivery]) -> dict[int, int]:
    """How many alerts each service got a trigger of (a fallback's copy is not counted)."""
    alerts: dict[int, set[int]] = defaultdict(set)
    for page in pages:
        if page.reason != Reason.FALLBACK and page.service_id and page.alert_id:
            alerts[page.service_id].add(page.alert_id)
    return {service_id: len(its) for service_id, its in alerts.items()}


def mended_words(name: str, alerts: int) -> str:
    """What the person who mended `name` reads: it pages again, and what was sent."""
    if not alerts:
        return ""
    if alerts == 1:
        return f"{name} pages again: the 1 firing alert that couldn't page it was sent now."
    return f"{name} pages again: the {alerts} firing alerts that couldn't page it were sent now."
