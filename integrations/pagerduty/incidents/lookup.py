"""Finding the incidents of deliveries, for the pages that show them."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Prefetch

from integrations.pagerduty.incidents.models import Incident, IncidentActivity
from integrations.pagerduty.models import Delivery, EventAction

Key = tuple[int, str]  # (service id, dedup key)


def incidents_of(
    organization_id: int, deliveries: Iterable[Delivery], *, timeline: bool = False
) -> dict[Key, Incident]:
    """The incidents PagerDuty opened for these deliveries' triggers, by (service, dedup
    key): one query, whatever the number of deliveries (and one more for each incident's
    `timeline`, oldest first, when asked)."""
    keys = {
        (d.service_id, d.dedup_key)
        for d in deliveries
        if d.event_action == EventAction.TRIGGER and d.service_id is not None
    }
    if not keys:
        return {}
    # By (organization, dedup key), its own index: the keys are few and nearly unique,
    # while an organization's services hold all of its incidents. The service is checked
    # below, on the few rows found.
    rows = Incident.objects.filter(
        organization_id=organization_id, dedup_key__in={key for _, key in keys}
    ).select_related("service__account__connected_by")  # as whom acting acts (departures)
    if timeline:
        applied = IncidentActivity.objects.exclude(applied_at=None).order_by("occurred_at", "pk")
        rows = rows.prefetch_related(Prefetch("activity", queryset=applied, to_attr="timeline"))
    return {(i.service_id, i.dedup_key): i for i in rows if (i.service_id, i.dedup_key) in keys}
