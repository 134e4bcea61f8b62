"""The Delivery rows the engine sends, built but not saved: an event to a service cut to
PagerDuty's limits, the acknowledge or resolve that follows a trigger, and the copy of a
firing's trigger to the organization's fallback service when a target can't page."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from integrations.pagerduty import events, paths
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService, Reason


def build_event(
    service: PagerDutyService,
    action: str,
    dedup_key: str,
    payload: dict[str, Any] | None = None,
    *,
    is_test: bool = False,
    extra: dict[str, Any] | None = None,
    created_by: Any = None,
    alert: Any = None,
    firing: Any = None,
) -> Delivery:
    """An unsaved Delivery of one event to `service`, cut to PagerDuty's limits."""
    event: dict[str, Any] = {"event_action": action, "dedup_key": dedup_key}
    if action == EventAction.TRIGGER:
        event["payload"] = payload or {}
        event.update(extra or {})
    event, note = events.fit_event(event, len(service.integration_key))
    return Delivery(
        organization_id=service.organization_id,
        service=service,
        service_name=service.name,
        alert=alert,
        firing=firing,
        region=service.region,
        routing_key=service.integration_key,
        event_action=action,
        dedup_key=event["dedup_key"],
        body=event,
        is_test=is_test,
        trim_note=note,
        created_by=created_by,
    )


def follow_up(
    trigger: Delivery,
    action: str,
    created_by: Any = None,
    reason: str = "",
    created_by_token: Any = None,
) -> Delivery:
    """An unsaved acknowledge or resolve for `trigger`: same key, region and dedup key;
    `reason` says why (a `Reason`); `created_by` the person who asked, or
    `created_by_token` the API token (an `ingest.ApiToken`)."""
    return Delivery(
        organization_id=trigger.organization_id,
        service_id=trigger.service_id,
        service_name=trigger.service_name,
        alert_id=trigger.alert_id,
        firing_id=trigger.firing_id,
        region=trigger.region,
        routing_key=trigger.routing_key,
        event_action=action,
        dedup_key=trigger.dedup_key,
        body={"event_action": action, "dedup_key": trigger.dedup_key},
        is_test=trigger.is_test,
        reason=reason,
        created_by=created_by,
        created_by_token=created_by_token,
    )


def fallback_dedup_key(organization_id: int, firing_id: int, service_id: int) -> str:
    """One incident on a fallback service per firing, however many targets fell back. Per
    service too: a fallback chosen later pages under its own key, so its trigger never
    waits behind the old one's (`statements.claim` orders by dedup key), and the firing's
    resolve goes to each (`delivery.open_triggers` reads the latest event per key)."""
    return f"tripwire-{organization_id}-firing-{firing_id}-fallback-{service_id}"


@dataclass(frozen=True, slots=True)
class FallenBack:
    """What fallback triggers some firings sent already: `to`, the (firing, service) pairs a
    fallback trigger went to, whatever became of it (by firing and service, not by key: a
    trigger sent under the key of one fallback per firing counts too); `open`, the firings
    with a fallback trigger still on its way or whose incident no resolve has followed. A
    fallback chosen since is paged only once the last one's trigger failed (`pages`)."""

    to: set[tuple[int, int]] = field(default_factory=set)
    open: set[int] = field(default_factory=set)

    def pages(self, firing_id: int | None, service_id: int | None) -> bool:
        """Whether a fallback trigger from the firing to the service is due."""
        return (firing_id, service_id) not in self.to and firing_id not in self.open

    def add(self, firing_id: int, service_id: int) -> None:
        self.to.add((firing_id, service_id))
        self.open.add(firing_id)


def fallen_back(organization_ids: Iterable[int], firing_ids: Iterable[int]) -> FallenBack:
    """The fallback triggers among these firings' deliveries (one query: the firings' index;
    an incident is open while the latest event under its key not refused is no resolve, as
    `delivery.open_triggers` reads it)."""
    rows = (
        Delivery.objects.filter(
            Q(event_action=EventAction.TRIGGER, reason=Reason.FALLBACK)
            | Q(event_action=EventAction.RESOLVE),
            organization_id__in=set(organization_ids),
            firing_id__in=set(firing_ids),
        )
        .order_by("created_at", "pk")
        .values_list("firing_id", "service_id", "dedup_key", "event_action", "status")
    )
    found, latest = FallenBack(), {}
    for firing_id, service_id, key, action, status in rows:
        if action == EventAction.TRIGGER and service_id is not None:
            found.to.add((firing_id, service_id))
        if status != Delivery.Status.FAILED:
            latest[(firing_id, key)] = action
    found.open.update(f for (f, _), action in latest.items() if action != EventAction.RESOLVE)
    return found


def fallback_for(trigger: Delivery, fallback: PagerDutyService | None, why: str) -> Delivery | None:
    """An unsaved copy of a firing's trigger to the organization's fallback service, saying
    why in its custom details; None if there is no fallback to use (none set, the trigger's
    own service, a test, or no firing)."""
    if fallback is None or trigger.firing_id is None or trigger.is_test:
        return None
    if fallback.pk == trigger.service_id or trigger.event_action != EventAction.TRIGGER:
        return None
    event = dict(trigger.body)
    payload = dict(event.pop("payload", {}) or {})
    details = payload.get("custom_details")
    payload["custom_details"] = {
        **(details if isinstance(details, dict) else {}),
        "fallback_reason": why,
    }
    extra = {k: v for k, v in event.items() if k not in ("event_action", "dedup_key")}
    copy = build_event(
        fallback,
        EventAction.TRIGGER,
        fallback_dedup_key(trigger.organization_id, trigger.firing_id, fallback.pk),
        payload,
        extra=extra,
    )
    copy.alert_id, copy.firing_id = trigger.alert_id, trigger.firing_id
    copy.reason = Reason.FALLBACK
    return copy


def fallbacks(refused: QuerySet[Delivery]) -> list[Delivery]:
    """Fallback triggers for firings' triggers PagerDuty just refused, one per firing, none
    where the firing already fell back to that service, nor while another fallback's
    trigger of it is on its way or its incident open (`FallenBack.pages`): a fallback
    chosen meanwhile is paged only if the last one refused it too."""
    copies: dict[str, Delivery] = {}
    fallbacks: dict[int, PagerDutyService | None] = {}
    for trigger in refused.filter(firing__isnull=False, is_test=False):
        org = trigger.organization_id
        if org not in fallbacks:
            fallbacks[org] = paths.fallback_service(org)
        why = (
            f"{trigger.service_name} could not be paged: PagerDuty refused its integration key "
            f"({trigger.last_error or 'HTTP 400'})."
        )
        copy = fallback_for(trigger, fallbacks[org], why)
        if copy is not None:
            copies.setdefault(copy.dedup_key, copy)
    if not copies:
        return []
    sent = fallen_back(
        (c.organization_id for c in copies.values()),
        (c.firing_id for c in copies.values() if c.firing_id is not None),
    )
    return [c for c in copies.values() if sent.pages(c.firing_id, c.service_id)]
