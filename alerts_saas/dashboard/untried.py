"""Services an enabled alert pages whose current key PagerDuty has not taken an event on.

A service is marked refused only when PagerDuty refuses an event (`paths.record`), so an
unmarked one whose key was never sent to (just connected, chosen again or reconnected, a new
integration each time) is not known to work: the dashboard says so rather than "PagerDuty
takes every key". Keys are encrypted (compared in Python), so the query reads, with the
services, the key of the last event PagerDuty took for each, and that of the last trigger or
change event it took: those carry the key the service had when they were made, whereas an
acknowledge or resolve carries its trigger's, a key replaced since for an incident opened
before (`outgoing.follow_up`), so a resolve taken on an old key proves nothing of the new
one. One query.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from alerts_saas.accounts.models import Organization
from alerts_saas.crypto import EncryptedTextField
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService


def _last_key(taken: QuerySet[Delivery]) -> Subquery:
    return Subquery(taken.values("routing_key")[:1], output_field=EncryptedTextField())


def untried(organization: Organization) -> list[str]:
    """The names of the organization's services that an enabled alert pages and whose
    current integration key PagerDuty has not taken an event on, by name."""
    taken = Delivery.objects.filter(
        organization=organization, service=OuterRef("pk"), status=Delivery.Status.DELIVERED
    ).order_by("-pk")
    made_on_current = taken.filter(event_action__in=[EventAction.TRIGGER, EventAction.CHANGE])
    paged = PagerDutyService.alerts.through.objects.filter(
        pagerdutyservice_id=OuterRef("pk"), alert__enabled=True
    )
    rows = (
        PagerDutyService.objects.filter(organization=organization, refused_at__isnull=True)
        .filter(Exists(paged))
        .annotate(last_key=_last_key(taken), made_key=_last_key(made_on_current))
        .order_by("name", "pk")
        .values_list("name", "integration_key", "last_key", "made_key")
    )
    return [name for name, key, last, made in rows if key not in (last, made)]
