"""Services an enabled alert pages whose current key PagerDuty has not taken an event on.

A service is marked refused only when PagerDuty refuses an event (`paths.record`), so an
unmarked one whose key was never sent to (just connected, chosen again or reconnected, a new
integration each time) is not known to work: the dashboard says so rather than "PagerDuty
takes every key". The last event PagerDuty took for each service is read with the services,
its key compared with the service's own (keys are encrypted: compared in Python). One query.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Subquery

from alerts_saas.accounts.models import Organization
from alerts_saas.crypto import EncryptedTextField
from integrations.pagerduty.models import Delivery, PagerDutyService


def untried(organization: Organization) -> list[str]:
    """The names of the organization's services that an enabled alert pages and whose
    current integration key PagerDuty has not taken an event on, by name."""
    taken = Delivery.objects.filter(
        organization=organization, service=OuterRef("pk"), status=Delivery.Status.DELIVERED
    ).order_by("-pk")
    paged = PagerDutyService.alerts.through.objects.filter(
        pagerdutyservice_id=OuterRef("pk"), alert__enabled=True
    )
    rows = (
        PagerDutyService.objects.filter(organization=organization, refused_at__isnull=True)
        .filter(Exists(paged))
        .annotate(
            taken_key=Subquery(taken.values("routing_key")[:1], output_field=EncryptedTextField())
        )
        .order_by("name", "pk")
        .values_list("name", "integration_key", "taken_key")
    )
    return [name for name, key, taken_key in rows if taken_key != key]
