"""A mended path pages the firings it could not: when a service PagerDuty refused, or whose
deliveries failed for good, can page again (a new integration from "Add services", a pasted
key's region corrected, or a delivery to it that got through: the path healed by itself),
each open firing of an enabled alert whose latest trigger to that service failed sends its
trigger there again, now, under the same dedup key (so PagerDuty dedups whatever did get
through): the rule of `owed`.

Called in the transaction that clears the service's mark: the trigger and the mend are
written together, or neither. The firings are locked as clearing locks them
(`firings.lock_and_reread`), so a firing cleared meanwhile gets no trigger, and one cleared
later finds the new trigger open and resolves it after it; a second mend finds the first's
trigger, later than the failed one, and sends nothing. A service a window mutes now for the
alert gets nothing and the firing is held (`Firing.held`): the mute's end sends it
(`firings.release_held_of`). A fallback already paged for the firing keeps its incident;
the firing's resolve reaches both. A few queries however many firings.

A fallback's copy is not the firing's trigger to it: when the organization's fallback is
mended or heals, the firings that reach nobody (their own services refused, the copy to the
fallback refused too) are paged through it as a fallback chosen now pages them, once this
commits (`fallback_now.page_healed_fallback`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from typing import Any

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from alerts_saas.alerts.fallback_now import page_healed_fallback
from alerts_saas.alerts.firings import lock_and_reread, totals_now
from alerts_saas.alerts.models import Firing
from alerts_saas.alerts.owed import failed_last
from alerts_saas.alerts.paging import Pager
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, PagerDutyService, Reason


def _locked(organization_id: int, service_ids: Collection[int]) -> list[Delivery]:
    """`failed_last` of these services, read again once its firings are locked."""
    found = list(failed_last([organization_id], service_ids).select_related("firing"))
    return lock_and_reread(
        [d.firing for d in found if d.firing is not None],
        lambda among: list(
            failed_last([organization_id], service_ids, among).select_related(
                "firing__alert__organization", "service__account"
            )
        ),
    )


def page_mended(organization_id: int, service_ids: Collection[int]) -> dict[int, int]:
    """Queue the trigger, to each of `service_ids` (mended: call inside the transaction
    that clears their marks), of every open firing whose latest trigger there failed; held
    if a window mutes the service for its alert. Returns, per service, how many alerts were
    paged there now. If one is the organization's fallback, the firings that reach nobody
    are paged through it once this commits (`fallback_now.page_healed_fallback`)."""
    _fallback_on_commit(organization_id, service_ids)
    failed = _locked(organization_id, service_ids) if service_ids else []
    firings: dict[int, Firing] = {}
    services: dict[int, list[PagerDutyService]] = defaultdict(list)
    for trigger in failed:
        if trigger.firing is not None and trigger.service is not None:
            firing = firings.setdefault(trigger.firing.pk, trigger.firing)
            services[firing.pk].append(trigger.service)
    if not firings:
        return {}
    found = list(firings.values())
    prefetch_related_objects(list({f.alert_id: f.alert for f in found}.values()), "details")
    totals = totals_now(found)
    pager = Pager(found, timezone.now(), (s for its in services.values() for s in its))
    pages = [
        page
        for firing in found
        for page in pager.triggers(firing.alert, firing, services[firing.pk], totals[firing.pk])
    ]
    pager.save_holds()
    engine.queue(pages)
    return _alerts_paged(pages)


def _fallback_on_commit(organization_id: int, service_ids: Collection[int]) -> None:
    """If one of these (mended or healed) services is the organization's fallback, page
    through it the firings that reach nobody once this commits (logged if that fails)."""
    if (
        service_ids
        and PagerDutyService.objects.filter(
            organization_id=organization_id, pk__in=list(service_ids), is_fallback=True
        ).exists()
    ):

        def page_fallback() -> None:
            page_healed_fallback(organization_id)

        transaction.on_commit(page_fallback, robust=True)


def page_healed(sender: type, services: dict[int, list[int]], **kwargs: Any) -> None:
    """`signals.paths_healed`: deliveries got through to these services (by organization)
    that were marked refused or failing, in the transaction that clears their marks."""
    for organization_id, service_ids in services.items():
        page_mended(organization_id, service_ids)


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
