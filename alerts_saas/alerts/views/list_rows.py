"""The alert list's rows: what only the rows shown read beside each alert's own fields (the
open firing's start, the last delivery, the services it pages, PagerDuty's word on its
incident), put in words before the template renders them.

Two queries for a page of rows, whatever their history, and one more for the incidents of
those firing (none on a page with nothing firing).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import JSONObject
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from alerts_saas.accounts.times import time_html
from alerts_saas.alerts.conditions import describe
from alerts_saas.alerts.groups import values_words
from alerts_saas.alerts.health import alert_health
from alerts_saas.alerts.incident_notes import incident_notes
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.payload import group_label
from alerts_saas.alerts.reach import Fallbacks, resolved_where, unseen_why
from alerts_saas.alerts.state import AlertState, State, duration_label, state_of
from alerts_saas.alerts.views.mutes import mute_notes
from alerts_saas.alerts.views.rows import AlertLinks, AlertRow, LastDelivery
from alerts_saas.json_values import moment
from integrations.pagerduty.history import WAITING_AUTOMATIC_RESOLVE
from integrations.pagerduty.models import (
    Delivery,
    EventAction,
    PagerDutyAccount,
    PagerDutyService,
)


@dataclass(frozen=True)
class RowFacts:
    """What only the rows shown read, beside the alert's own fields."""

    firing_since: datetime | None = None  # the oldest open firing's (an alert may group)
    firing_count: int = 0  # open firings: more than one for an alert that groups
    condition_cleared_at: datetime | None = None  # the open firing waits for a person
    last_delivery_status: str = ""
    last_delivery_at: datetime | None = None
    # Where it went: a fallback's, or a service no longer paged, is not the row's own.
    last_delivery_service: str = ""
    last_delivery_service_id: int | None = None
    last_delivery_fallback: bool = False
    last_delivery_action: str = ""  # a trigger, or a resolve (say) that pages nobody
    last_delivery_test: bool = False  # a test alert (sent from the form, say)
    # Why Tripwire can't see an incident an open firing opened (`reach.unseen_why`), or "".
    unseen_why: str = ""


def _row_facts(alerts: QuerySet[Alert], ids: list[int]) -> dict[int, RowFacts]:
    """Per alert of `ids`: its open firing's start and its last delivery (one query; each an
    index probe, the last delivery by the deliveries' (alert, created_at) index)."""
    if not ids:
        return {}
    last = (
        Delivery.objects.filter(alert=OuterRef("pk"))
        .exclude(WAITING_AUTOMATIC_RESOLVE)
        .order_by("-created_at", "-pk")
    )
    open_firing = Firing.objects.filter(alert=OuterRef("pk"), cleared_at__isnull=True).order_by(
        "opened_at", "pk"
    )
    open_count = open_firing.order_by().values("alert").annotate(n=Count("pk")).values("n")
    unseen = _unseen_triggers()
    found = (
        alerts.filter(pk__in=ids)
        .order_by()
        .annotate(
            firing_since=Subquery(open_firing.values("opened_at")[:1]),
            condition_cleared_at=Subquery(open_firing.values("condition_cleared_at")[:1]),
            firing_count=Subquery(open_count[:1]),
            # Of every open firing (an alert that fires per value has many), not the oldest.
            unseen_pasted=Exists(unseen.filter(service__isnull=False)),
            unseen_gone=Exists(unseen.filter(service__isnull=True)),
            # The last delivery's facts in one probe of its index, not one per column.
            last=Subquery(
                last.values(
                    found=JSONObject(
                        status="status",
                        at="created_at",
                        name="service_name",
                        service="service_id",
                        fallback="service__is_fallback",
                        action="event_action",
                        test="is_test",
                    )
                )[:1]
            ),
        )
        .values_list(
            "pk",
            "firing_since",
            "firing_count",
            "condition_cleared_at",
            "last",
            "unseen_pasted",
            "unseen_gone",
        )
    )
    return {
        pk: RowFacts(
            since, count or 0, cleared, unseen_why=unseen_why(pasted, gone), **_last_facts(last)
        )
        for pk, since, count, cleared, last, pasted, gone in found
    }


def _unseen_triggers() -> QuerySet[Delivery]:
    """The alert's (OuterRef) open firings' triggers PagerDuty accepted for a service it
    tells Tripwire nothing of (a pasted key's, or one no longer in Tripwire: no service)
    that no resolve (not refused) followed, as `reach.unseen_causes` reads them: in the
    row's query, not one per row."""
    resolved = Delivery.objects.filter(
        organization_id=OuterRef("organization_id"),
        firing_id=OuterRef("firing_id"),
        dedup_key=OuterRef("dedup_key"),
        event_action=EventAction.RESOLVE,
        created_at__gte=OuterRef("created_at"),
    ).exclude(status=Delivery.Status.FAILED)
    return Delivery.objects.filter(
        Q(service__isnull=True) | Q(service__account__isnull=True),
        organization_id=OuterRef("organization_id"),
        firing__alert_id=OuterRef("pk"),
        firing__cleared_at__isnull=True,
        event_action=EventAction.TRIGGER,
        status=Delivery.Status.DELIVERED,
    ).exclude(Exists(resolved))


def _last_facts(last: dict[str, Any] | None) -> dict[str, Any]:
    """The last delivery's `RowFacts` fields (status, time, service name and id, whether it
    went to the fallback, its action, whether a test), from the row's JSON (none for an
    alert that sent nothing)."""
    if not last:
        return {}
    return {
        "last_delivery_status": last["status"],
        "last_delivery_at": moment(last["at"]),
        "last_delivery_service": last["name"] or "",
        "last_delivery_service_id": last["service"],
        "last_delivery_fallback": bool(last["fallback"]),
        "last_delivery_action": last["action"] or "",
        "last_delivery_test": bool(last["test"]),
    }


def firing_values(alert: Alert, count: int) -> str:
    """How many values of an alert that groups fire ("2 sources"); "" if it does not group."""
    field = group_label(alert)
    return values_words(field, count) if field and count else ""


def _targets(ids: list[int]) -> dict[int, list[PagerDutyService]]:
    """The services each alert of `ids` pages, by name, with what their health needs (one
    query on the targets' index; the integration keys are not read, so none is decrypted)."""
    found: dict[int, list[PagerDutyService]] = {}
    targets = Alert.targets.through.objects.filter(alert_id__in=ids)
    service = "pagerdutyservice__"
    rows = targets.order_by(f"{service}name").values_list(
        "alert_id",
        *(f"{service}{name}" for name in SERVICE_FIELDS),
        *(f"{service}account__{name}" for name in ACCOUNT_FIELDS),
    )
    for alert_id, *values in rows:
        fields = dict(zip(SERVICE_FIELDS, values[: len(SERVICE_FIELDS)], strict=True))
        account = dict(zip(ACCOUNT_FIELDS, values[len(SERVICE_FIELDS) :], strict=True))
        target = PagerDutyService(**fields)
        target.account = PagerDutyAccount(**account) if account["pk"] is not None else None
        found.setdefault(alert_id, []).append(target)
    return found


# What the list reads of each target for its name and health.
SERVICE_FIELDS = (
    "pk",
    "name",
    "refused_at",
    "refused_detail",
    "failing_since",
    "failing_detail",
    "refused_first",
    "unconfirmed_at",
    "unconfirmed_why",
)
ACCOUNT_FIELDS = ("pk", "name", "status", "status_detail", "refused_at")


# An alert id no database reaches: where the id goes in a reversed URL.
_ID_MARK = 2**62 + 1


def _link(name: str, slug: str) -> Callable[[int], str]:
    """`reverse(name)` for any of the organization's alerts, reversing once."""
    head, _, tail = reverse(name, args=[slug, _ID_MARK]).rpartition(str(_ID_MARK))
    return lambda pk: f"{head}{pk}{tail}"


def _links(slug: str) -> Callable[[int], AlertLinks]:
    detail, edit = _link("alerts:detail", slug), _link("alerts:edit", slug)
    toggle, delete = _link("alerts:toggle", slug), _link("alerts:delete", slug)
    return lambda pk: AlertLinks(detail(pk), edit(pk), toggle(pk), delete(pk))


def condition_text(alert: Alert) -> str:
    """The firing rule as the list words it: "5 or more matching events in 10 minutes"."""
    events = "event" if alert.threshold == 1 else "events"
    field = group_label(alert)
    each = f", for each {field}" if field else ""
    if alert.is_absence:
        return f"Fewer than {alert.threshold} matching {events} in {alert.window_label}{each}"
    # "1 or more matching events": "or more" makes it plural whatever the number.
    return f"{alert.threshold} or more matching events in {alert.window_label}{each}"


def rows(
    alerts: QuerySet[Alert],
    page: list[Alert],
    slug: str,
    now: datetime,
    nothing: Collection[int] = (),
) -> list[AlertRow]:
    """The page's alerts as the list shows them (two queries, whatever their history, and
    two more for the incidents of those firing); those of `nothing` watch nothing."""
    ids = [alert.pk for alert in page]
    facts = _row_facts(alerts, ids)
    targets = _targets(ids) if ids else {}
    firing = [pk for pk, fact in facts.items() if fact.firing_since is not None]
    notes = incident_notes(page[0].organization_id, firing) if firing else {}
    muted = mute_notes(page[0].organization_id, ids, targets, now) if page else {}
    links = _links(slug)
    fallbacks = Fallbacks()
    return [
        replace(
            _row(
                alert,
                facts.get(alert.pk, RowFacts()),
                targets.get(alert.pk, []),
                now,
                links,
                slug,
                fallbacks,
                watches_nothing=alert.pk in nothing,
            ),
            incident_note=notes.get(alert.pk, ""),
            mute_note=muted.get(alert.pk, ""),
            firing_values=firing_values(alert, facts.get(alert.pk, RowFacts()).firing_count),
        )
        for alert in page
    ]


def state_note(state: AlertState, now: datetime, unseen: str = "") -> SafeString:
    """What the list says under a state: since when it fires, or when it can fire (in the
    person's time zone, UTC on hover). A firing that waits for a person stays open until
    resolved in PagerDuty or here; only here when it paged a service whose incident
    Tripwire can't see (`unseen`: why, `reach.unseen_why`), as the alert page says."""
    if state.state == State.FIRING and state.firing is not None:
        since = state.firing.opened_at
        duration = duration_label((now - since).total_seconds())
        note = format_html("since {}, for {}", time_html(since, "j M H:i"), duration)
        cleared = state.firing.condition_cleared_at
        if cleared is not None:
            return format_html(
                "{}; condition cleared at {}, stays open until resolved {}",
                note,
                time_html(cleared, "H:i"),
                resolved_where(bool(unseen)),
            )
        return note
    if state.state == State.WAITING and state.full_window_at is not None:
        return format_html("can fire from {}", time_html(state.full_window_at, "H:i"))
    return SafeString("")


def nothing_note(alert: Alert) -> str:
    """What the list says under "Watching nothing" (see watching.py)."""
    field = group_label(alert)
    return (
        f"Can't fire: no {field} is watched now, and each {field} is watched from its next "
        "matching event"
    )


def _row(
    alert: Alert,
    facts: RowFacts,
    targets: list[PagerDutyService],
    now: datetime,
    links: Callable[[int], AlertLinks],
    slug: str,
    fallbacks: Fallbacks,
    watches_nothing: bool = False,
) -> AlertRow:
    # The open firing's start (and when its condition cleared, if it waits for a person) is
    # all the list shows of it.
    since = facts.firing_since
    firing = (
        Firing(opened_at=since, condition_cleared_at=facts.condition_cleared_at) if since else None
    )
    state = state_of(alert, firing, now)
    last = None
    if facts.last_delivery_at is not None:
        last = _last_delivery(facts, facts.last_delivery_at, targets)
    return AlertRow(
        subject=alert,
        state=state,
        state_note=(
            nothing_note(alert) if watches_nothing else state_note(state, now, facts.unseen_why)
        ),
        condition=condition_text(alert),
        rules=describe(alert),
        services=tuple(target.name for target in targets),
        last_delivery=last,
        links=links(alert.pk),
        health=alert_health(alert, targets, slug, fallbacks),
        watches_nothing=watches_nothing,
        unseen_why=facts.unseen_why,
    )


def _last_delivery(facts: RowFacts, at: datetime, targets: list[PagerDutyService]) -> LastDelivery:
    """The last delivery, naming the service it went to unless that is the one service the
    alert pages: beside "Typo key" a fallback's delivery reads "Delivered to Edge Gateway
    (fallback)", not as if Typo key had taken it."""
    own = {target.pk for target in targets}
    where = facts.last_delivery_service_id
    shown = "" if own == {where} else facts.last_delivery_service
    fallback = facts.last_delivery_fallback and where not in own
    return LastDelivery(
        facts.last_delivery_status,
        at,
        shown,
        fallback,
        facts.last_delivery_action,
        facts.last_delivery_test,
    )
