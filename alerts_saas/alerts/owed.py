"""The one rule for sending an open firing's trigger again to a target it targets still:
its latest trigger there failed for good (refused, or given up on), and the service works
now (neither refused nor failing: mended in Tripwire, or healed by a later delivery that got
through). A later trigger under the firing's key to that service (a mend's, a release's),
whatever became of it, means it was sent again already: never twice. A fallback's copy is
not the firing's trigger to its target, and does not count either way.

`mended.page_mended` sends them when a path is mended or heals by itself; a window that
mutes the target then holds the firing (`Firing.held`), and `firings.release_held_of`
sends them, with the targets never tried, when the mute is over.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from django.db.models import Exists, OuterRef, Q, QuerySet

from alerts_saas.alerts.models import Alert
from integrations.pagerduty.models import Delivery, EventAction, Reason


def failed_last(
    organization_ids: Collection[int],
    service_ids: Collection[int] | None = None,
    among: Collection[int] | None = None,
) -> QuerySet[Delivery]:
    """Per open firing (of `among`, if given) of an enabled alert, and service it still
    targets, of `service_ids` (mended or healed: they work now, their marks being cleared in
    this transaction) or, if not given, any that works now: its trigger there, if the latest
    one failed for good. Ordered by firing and service."""
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
        organization_id__in=list(organization_ids),
        event_action=EventAction.TRIGGER,
        status=Delivery.Status.FAILED,
        firing__cleared_at__isnull=True,
        firing__alert__enabled=True,
    )
    if service_ids is not None:
        rows = rows.filter(service_id__in=list(service_ids))
    else:
        rows = rows.filter(service__refused_at__isnull=True, service__failing_since__isnull=True)
    if among is not None:
        rows = rows.filter(firing_id__in=list(among))
    return (
        rows.exclude(reason=Reason.FALLBACK)
        .filter(Exists(targeted))
        .exclude(Exists(later))
        .order_by("firing_id", "service_id")
    )


def failed_services(
    organization_ids: Collection[int], among: Collection[int]
) -> dict[int, set[int]]:
    """`failed_last` of the firings `among`: by firing, the services owed a trigger again."""
    found: dict[int, set[int]] = defaultdict(set)
    if not among:
        return found
    rows = failed_last(organization_ids, among=among).values_list("firing_id", "service_id")
    for firing_id, service_id in rows:
        if firing_id is not None and service_id is not None:
            found[firing_id].add(service_id)
    return found
