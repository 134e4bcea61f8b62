"""Applying what PagerDuty's webhooks tell to our incidents.

Webhooks come at least once and may come out of order (a retry can pass a later event).
Each is applied once (its row is locked and marked applied), to incidents we opened only:
an incident whose incident_key is none of our dedup keys on that service is not ours and
is dropped. The status follows the newest event by `occurred_at`, so an acknowledgement
that arrives after the resolve is recorded in the timeline without reopening anything.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations.pagerduty.incidents.models import (
    Incident,
    IncidentActivity,
    IncidentStatus,
    WebhookSubscription,
)
from integrations.pagerduty.incidents.words import SAME_CHANGE, USER, same_change
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService, Reason
from integrations.pagerduty.rest import AccountApi, PagerDutyApiError

log = logging.getLogger(__name__)
Kind = IncidentActivity.Kind
# An event about an incident we cannot place yet is tried again by beat for this long.
PLACE_FOR = timedelta(minutes=15)


def apply(activity_id: int) -> None:
    row = (
        IncidentActivity.objects.select_related("subscription__service__account")
        .filter(pk=activity_id, applied_at__isnull=True)
        .first()
    )
    if row is None or row.data is None:
        return
    event: dict[str, Any] = row.data
    data = event.get("data") or {}
    subscription = row.subscription
    incident_data = data if data.get("type") == "incident" else None
    if subscription is None:
        row.delete()
        return
    if incident_data is None and not _known(row):
        incident_data = _fetch(subscription, row.pd_incident_id)
    with transaction.atomic():
        incident = _incident(row, subscription.service, incident_data)
        if incident is None:
            _unplaced(row)
            return
        locked = IncidentActivity.objects.select_for_update().filter(pk=row.pk, applied_at=None)
        if not locked.exists():
            return  # applied meanwhile by another worker
        _update(incident, row, event, incident_data)
        row.incident = incident
        row.agent = _agent(event)
        row.text = _text(row.kind, data)
        row.data = None
        row.applied_at = timezone.now()
        row.save(update_fields=["incident", "agent", "text", "data", "applied_at"])


def _known(row: IncidentActivity) -> bool:
    return Incident.objects.filter(
        organization_id=row.organization_id, pd_incident_id=row.pd_incident_id
    ).exists()


def _fetch(subscription: WebhookSubscription, incident_id: str) -> dict[str, Any] | None:
    """The incident itself, for an event that only names it (a note) and that came first."""
    try:
        return AccountApi(subscription.service.account).get_incident(incident_id)  # type: ignore[arg-type]
    except PagerDutyApiError as exc:
        log.info("Incident %s could not be read: %s", incident_id, exc.message)
        return None


def _incident(
    row: IncidentActivity, service: PagerDutyService, data: dict[str, Any] | None
) -> Incident | None:
    """Our incident for this event, locked; made from `data` the first time we hear of it."""
    found = (
        Incident.objects.select_for_update()
        .filter(organization_id=row.organization_id, pd_incident_id=row.pd_incident_id)
        .first()
    )
    if found is not None or data is None:
        return found
    key = str(data.get("incident_key") or "")
    ours = Delivery.objects.filter(
        organization_id=row.organization_id,
        service=service,
        dedup_key=key,
        event_action=EventAction.TRIGGER,
    ).exists()
    if not key or not ours:
        return None
    Incident.objects.bulk_create(
        [
            Incident(
                organization_id=row.organization_id,
                service=service,
                pd_incident_id=row.pd_incident_id,
                dedup_key=key,
                status=str(data.get("status") or IncidentStatus.TRIGGERED),
                status_changed_at=_when(data.get("created_at")) or row.occurred_at,
                created_at=_when(data.get("created_at")) or row.occurred_at,
            )
        ],
        ignore_conflicts=True,
    )
    return Incident.objects.select_for_update().get(
        organization_id=row.organization_id, pd_incident_id=row.pd_incident_id
    )


def _unplaced(row: IncidentActivity) -> None:
    """Not (yet) an incident of ours: dropped, unless it may still be placed (the event
    that names its incident_key may be on its way)."""
    if row.data and (row.data.get("data") or {}).get("type") == "incident":
        row.delete()  # it carries the key, and the key is not ours
    elif timezone.now() - row.received_at > PLACE_FOR:
        row.delete()


def _update(
    incident: Incident, row: IncidentActivity, event: dict[str, Any], data: dict[str, Any] | None
) -> None:
    agent = _agent(event)
    when = row.occurred_at
    if data is not None:
        incident.number = data.get("number") or data.get("incident_number") or incident.number
        incident.title = str(data.get("title") or incident.title)[:1024]
        incident.html_url = str(data.get("html_url") or incident.html_url)[:500]
        incident.urgency = str(data.get("urgency") or incident.urgency)[:10]
        if when >= incident.status_changed_at and data.get("status") in IncidentStatus.values:
            if data["status"] != incident.status:
                incident.status_changed_by = agent
            incident.status = data["status"]
            incident.status_changed_at = when
        if "assignees" in data and (incident.assigned_at is None or when >= incident.assigned_at):
            incident.assignees = _names(data.get("assignees"))
            incident.assigned_at = when
    if row.kind == Kind.ACKNOWLEDGED and (
        incident.acknowledged_at is None or when >= incident.acknowledged_at
    ):
        if not same_change(incident.acknowledged_at, when):  # not ours from Tripwire, told again
            incident.acknowledged_in_tripwire_by = ""
        incident.acknowledged_by, incident.acknowledged_at = agent, when
    if row.kind == Kind.RESOLVED and (incident.resolved_at is None or when >= incident.resolved_at):
        _resolved(incident, event, when)
    incident.save()


def _resolved(incident: Incident, event: dict[str, Any], when: datetime) -> None:
    """Who resolved it, as PagerDuty names them, and as Tripwire knows: the person who
    pressed a button here (recorded by `actions`, maybe before this webhook came), or the
    reason our own event, which PagerDuty attributes to the service, was sent."""
    if not same_change(incident.resolved_at, when):
        incident.resolved_in_tripwire_by, incident.resolved_for = "", ""
    incident.resolved_by, incident.resolved_at = _agent(event), when
    incident.resolved_by_type = _agent_type(event)
    if incident.resolved_by_type != USER and not incident.resolved_in_tripwire_by:
        reason, by = _our_resolve(incident, when)
        incident.resolved_for, incident.resolved_in_tripwire_by = reason, by


def _our_resolve(incident: Incident, when: datetime) -> tuple[str, str]:
    """Why we sent the latest resolve for the incident's key that PagerDuty took before it
    resolved it `when`, in this trigger cycle (a resolve before a reopen closed the earlier
    one), and who resolved it here if it was by hand: the person who pressed Resolve, or the
    API token (`Delivery.created_by_token`), "" if neither is known any more; nothing if
    none went out (PagerDuty's own auto-resolve names the service too)."""
    cycle = IncidentActivity.objects.filter(
        organization_id=incident.organization_id,
        incident=incident,
        kind__in=[Kind.TRIGGERED, Kind.REOPENED],
        occurred_at__lte=when,
    ).aggregate(start=Max("occurred_at"))["start"]
    delivered = Coalesce("delivered_at", "created_at")  # a row without the time: its creation
    sent = Delivery.objects.annotate(sent=delivered).filter(
        organization_id=incident.organization_id,
        service_id=incident.service_id,
        dedup_key=incident.dedup_key,
        event_action=EventAction.RESOLVE,
        status=Delivery.Status.DELIVERED,
        sent__lte=when + SAME_CHANGE,
    )
    if cycle is not None:
        sent = sent.filter(created_at__gt=cycle)
    found = (
        sent.order_by("-created_at", "-pk")
        .values_list("reason", "created_by__email", "created_by_token__name")
        .first()
    )
    if found is None:
        return "", ""
    reason, email, token = found
    if reason != Reason.BY_HAND:
        return reason or "", ""
    if email:
        return reason, email
    return reason, f"API token “{token}”"[:255] if token else ""


def _agent(event: dict[str, Any]) -> str:
    """Who did it: a person's name, else the service or integration PagerDuty names."""
    agent = event.get("agent")
    if isinstance(agent, dict) and agent.get("summary"):
        return str(agent["summary"])[:255]
    return "PagerDuty"


def _agent_type(event: dict[str, Any]) -> str:
    """What kind of agent PagerDuty names: "user_reference", "service_reference", ..."""
    agent = event.get("agent")
    return str(agent.get("type") or "")[:40] if isinstance(agent, dict) else ""


def _names(references: Any) -> list[str]:
    if not isinstance(references, list):
        return []
    return [str(r.get("summary") or r.get("id")) for r in references if isinstance(r, dict)]


def _text(kind: str, data: dict[str, Any]) -> str:
    if kind == Kind.ANNOTATED:
        return str(data.get("content") or "")[:2000]
    if kind in (Kind.REASSIGNED, Kind.ESCALATED, Kind.TRIGGERED):
        return ", ".join(_names(data.get("assignees")))[:2000]
    return ""


def _when(value: Any) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) else None


def apply_pending() -> int:
    """Apply every kept webhook not applied yet, oldest first; returns how many were tried."""
    ids = list(
        IncidentActivity.objects.filter(
            applied_at__isnull=True, received_at__lte=timezone.now() - timedelta(seconds=30)
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:500]
    )
    for pk in ids:
        apply(pk)
    return len(ids)
