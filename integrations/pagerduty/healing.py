"""The locks a heal takes before its services' (`paths.heal`), in the order every writer
takes them: an alert's row before its firings (`alerts.firings.lock_alerts`), and the
alerts before the services, as a removal does (`removal.carry_out`). Locking the services
first, a heal paging the firings its path's failure kept from paging, and a removal of
that service, each waited for the other, and PostgreSQL aborted one."""

from __future__ import annotations

from collections.abc import Collection

from django.db import models
from django.db.models import Q

from alerts_saas.locks import lock_rows_without_key
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService

# A service marked refused or failing, or changed and not confirmed yet: what a delivery
# that gets through clears.
MARKED = (
    Q(refused_at__isnull=False) | Q(failing_since__isnull=False) | Q(unconfirmed_at__isnull=False)
)


def lock_alerts_to_page(service_ids: Collection[int]) -> None:
    """Lock the alerts `signals.paths_healed` pages again if these services heal: those of
    the open firings whose trigger to one of them (marked) failed, read unlocked (a superset
    of what `owed.failed_last` pages), in pk order, without their key. A trigger failing
    after this read has its alert locked after the services, as a removal's late alerts."""
    rows = Delivery.objects.filter(
        service_id__in=PagerDutyService.objects.filter(MARKED, pk__in=list(service_ids)).values(
            "pk"
        ),
        event_action=EventAction.TRIGGER,
        status=Delivery.Status.FAILED,
        firing__cleared_at__isnull=True,
        alert_id__isnull=False,
    ).values_list("organization_id", "alert_id")
    found = list(rows.order_by().distinct())
    # The alert model is reached from the services' side: the integration never imports
    # the alerts app (DESIGN.md, "Imports run one way").
    alert: type[models.Model] = PagerDutyService._meta.get_field("alerts").related_model
    lock_rows_without_key(alert, {org for org, _ in found}, {pk for _, pk in found})
