"""Change events (deploys, configuration changes) to PagerDuty's /v2/change/enqueue,
through the same delivery engine as alerts: one Delivery per change and service, queued with
its cause, sent within the key's limit, retried, and kept in the delivery history.

Which services: every service that one of the organization's enabled alerts pages. A
change pages nobody; PagerDuty shows it beside the service's incidents.
"""

from __future__ import annotations

from typing import Any

from integrations.pagerduty import events
from integrations.pagerduty.delivery import queue
from integrations.pagerduty.keys import takes_change_events
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService

WHICH_SERVICES = "every PagerDuty service that one of your enabled alerts pages"


def services_for(organization_id: int) -> list[PagerDutyService]:
    """The services an organization's changes go to (WHICH_SERVICES), in one query; not
    those added by an Event Orchestration routing key, which PagerDuty takes no change
    events on (`keys.takes_change_events`)."""
    services = PagerDutyService.objects.filter(
        organization_id=organization_id, alerts__enabled=True
    ).distinct()
    return [service for service in services if takes_change_events(service.integration_key)]


def change_dedup_key(organization_id: int, change_id: int, service_id: int) -> str:
    """The delivery's own key (not sent: change events have none); unique, so that no
    change waits behind another."""
    return f"tripwire-{organization_id}-change-{change_id}-{service_id}"


def build_change(service: PagerDutyService, change_id: int, event: dict[str, Any]) -> Delivery:
    """An unsaved Delivery of one change event (PagerDuty's shape: `payload`, `links`) to
    `service`, cut to PagerDuty's limits."""
    fitted, note = events.fit_event(event, len(service.integration_key))
    return Delivery(
        organization_id=service.organization_id,
        service=service,
        service_name=service.name,
        region=service.region,
        routing_key=service.integration_key,
        event_action=EventAction.CHANGE,
        dedup_key=change_dedup_key(service.organization_id, change_id, service.pk),
        body=fitted,
        trim_note=note,
    )


def forward(
    changes: list[tuple[int, dict[str, Any]]], services: list[PagerDutyService]
) -> list[Delivery]:
    """Queue each (change id, event) to each service; call inside the transaction that
    saves the changes."""
    return queue(
        [
            build_change(service, change_id, event)
            for change_id, event in changes
            for service in services
        ]
    )
