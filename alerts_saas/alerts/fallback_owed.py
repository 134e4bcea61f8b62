"""Beat's safety net for a fallback that pages again: the firings it owes a page get it.

A fallback that heals or is mended pages the firings that reach nobody once the heal
commits (`fallback_now.page_healed_fallback`, an on-commit callback of `mended`). A process
that dies between that commit and the callback leaves those firings paging nobody until
the fallback's next heal. Each run of `page_owed` finds, in one query for all
organizations, those whose fallback can page now (not refused, not failing, its account not
to reconnect: `paths.service_health` is ok) and that have an open firing reaching nobody
that the fallback owes a trigger (none to it yet, or its latest failed; not held by a mute,
whose end pages it), and runs `page_healed_fallback` for each: the same locked core, so a
firing is paged once, never when cleared, and held if a window mutes the fallback. Nothing
is locked or paged for an organization with nothing to do.
"""

from __future__ import annotations

import logging

from django.db.models import Exists, OuterRef, Q, Subquery

from alerts_saas.alerts.fallback_now import page_healed_fallback, reaching_nobody
from alerts_saas.alerts.models import Firing
from alerts_saas.alerts.reach import usable_fallbacks
from integrations.pagerduty.models import (
    Delivery,
    EventAction,
    PagerDutyAccount,
    PagerDutyService,
    Reason,
)

log = logging.getLogger(__name__)


def _owed_firings() -> Exists:
    """Per fallback service row: an open firing of its organization that reaches nobody
    (`fallback_now.reaching_nobody`), not held, with a trigger to one of its own services,
    and whose latest trigger to this fallback, if any, failed."""
    firing = OuterRef("pk")
    own_trigger = Delivery.objects.filter(
        organization_id=OuterRef("organization_id"),
        firing_id=firing,
        event_action=EventAction.TRIGGER,
        service__isnull=False,
    ).exclude(reason=Reason.FALLBACK)
    latest_there = Delivery.objects.filter(
        organization_id=OuterRef("organization_id"),
        firing_id=firing,
        service_id=OuterRef(OuterRef("pk")),
        event_action=EventAction.TRIGGER,
        reason=Reason.FALLBACK,
    ).order_by("-created_at", "-pk")
    firings = (
        reaching_nobody(Firing.objects.filter(organization_id=OuterRef("organization_id")))
        .filter(held=False)
        .annotate(latest_there=Subquery(latest_there.values("status")[:1]))
        .filter(Q(latest_there__isnull=True) | Q(latest_there=Delivery.Status.FAILED))
        .filter(Exists(own_trigger))
    )
    return Exists(firings)


def organizations_owed() -> list[int]:
    """The organizations whose fallback can page now and owes a firing its trigger (one
    query for all organizations)."""
    reconnect = PagerDutyAccount.Status.NEEDS_RECONNECT
    rows = (
        PagerDutyService.objects.filter(usable_fallbacks(), failing_since__isnull=True)
        .exclude(account__status=reconnect)
        .filter(_owed_firings())
        .order_by("organization_id")
        .values_list("organization_id", flat=True)
    )
    return list(rows)


def page_owed() -> dict[str, int]:
    """Page through its fallback what each organization's owes (`page_healed_fallback`);
    an organization that fails is logged, and tried again next run."""
    paged = failed = 0
    organizations = organizations_owed()
    for organization_id in organizations:
        try:
            paged += len(page_healed_fallback(organization_id))
        except Exception:
            log.exception(
                "Paging organization %s's firings through its fallback failed; retrying next beat",
                organization_id,
            )
            failed += 1
    return {"organizations": len(organizations), "alerts_paged": paged, "failed": failed}
