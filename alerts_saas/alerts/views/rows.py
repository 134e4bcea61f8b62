"""What the alert pages show of a row beside its stored fields, typed.

A row wraps a model instance and adds what a page computes for it (a state, a duration, the
deliveries in order). Templates read the instance's own fields straight through the row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import Any

from django.utils.html import format_html

from alerts_saas.alerts.health import AlertHealth
from alerts_saas.alerts.models import Alert, Firing, Severity
from alerts_saas.alerts.paged import Paging, Sent
from alerts_saas.alerts.reach import FiringReach, incident_open, resolved_where, unseen_of
from alerts_saas.alerts.state import AlertState, State
from alerts_saas.alerts.views.delivery_words import delivery_words
from integrations.pagerduty.incidents.lookup import Key
from integrations.pagerduty.incidents.models import Incident, OnCallNow
from integrations.pagerduty.incidents.words import incident_words
from integrations.pagerduty.left_open import LeftOpen
from integrations.pagerduty.models import Delivery, EventAction, Reason


class _Row:
    """Reads what the row does not define from the wrapped instance (`subject`)."""

    subject: Any

    def __getattr__(self, name: str) -> Any:
        if name == "subject":  # not set yet (copying, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.subject, name)


@dataclass(frozen=True)
class TargetPath:
    """What happened to one target of a firing: its trigger, and the resolve that followed
    (if one did), in the words a person on call needs."""

    service_name: str
    service_id: int | None
    trigger: Delivery
    resolve: Delivery | None = None
    incident: Incident | None = None
    syncs: bool = False  # the service is connected through OAuth: PagerDuty tells us back
    on_call: OnCallNow | None = None  # who the service pages now (the open firing only)
    # The alert no longer pages this service (taken off it since; not the fallback): shown
    # apart, without who is on call there.
    retired: bool = False

    @property
    def gone(self) -> bool:
        """Its service is no longer in Tripwire (removed, or its account disconnected): not a
        pasted key's, and Tripwire hears nothing more of its incident."""
        return self.trigger.service_id is None

    @property
    def is_fallback(self) -> bool:
        return self.trigger.reason == Reason.FALLBACK

    @property
    def fallback_reason(self) -> str:
        payload = self.trigger.body.get("payload") or {}
        details = payload.get("custom_details") if isinstance(payload, dict) else None
        return str(details.get("fallback_reason", "")) if isinstance(details, dict) else ""

    @property
    def trigger_words(self) -> str:
        return delivery_words(self.trigger, "Trigger")

    @property
    def resolve_words(self) -> str:
        if self.resolve is None:
            return ""
        why = self.resolve.get_reason_display() if self.resolve.reason else ""
        words = delivery_words(self.resolve, "Resolve")
        return format_html("{} ({})", words, why) if why else words

    @property
    def badge(self) -> str:
        """The colour of where it stands now: the resolve's if one was sent."""
        latest = self.resolve or self.trigger
        return STATUS_BADGES.get(latest.status, "badge-warn")

    @property
    def resolved(self) -> bool:
        """PagerDuty accepted a resolve Tripwire sent for this incident."""
        return self.resolve is not None and self.resolve.status == Delivery.Status.DELIVERED

    @property
    def is_open(self) -> bool:
        """The incident may still be open in PagerDuty: no resolve delivered."""
        return self.trigger.status != Delivery.Status.FAILED and not (
            self.resolve is not None and self.resolve.status == Delivery.Status.DELIVERED
        )

    @property
    def incident_words(self) -> str:
        return incident_words(self.incident) if self.incident else ""

    @property
    def unpaged_words(self) -> str:
        """Said beside who is on call, so that a name under a trigger PagerDuty did not
        take is not read as the person paged."""
        if self.trigger.status == Delivery.Status.FAILED:
            return "not paged: the trigger failed"
        if self.trigger.status != Delivery.Status.DELIVERED and self.trigger.failed_attempts:
            return "not paged yet"
        return ""


def target_paths(
    deliveries: list[Delivery],
    incidents: Mapping[Key, Incident] | None = None,
    syncing: frozenset[int] = frozenset(),
    on_call: Mapping[int, OnCallNow] | None = None,
    current: frozenset[int] | None = None,
    current_names: frozenset[str] = frozenset(),
) -> list[TargetPath]:
    """A firing's deliveries (oldest first) as one entry per incident: each trigger with
    the latest resolve sent under its dedup key, and PagerDuty's incident for it (from
    `incidents`, by service and dedup key) where the service is one of `syncing`. Where
    `current` (the alert's services now) is given, a service not among them that is not the
    fallback is `retired`, and listed last.

    A service no longer in Tripwire (`gone`) named as one the alert pages now
    (`current_names`) is that PagerDuty service, connected again: not retired, and not
    listed at all once PagerDuty accepted the resolve Tripwire sent when it went (a delivery
    keeps no PagerDuty service id; the name is what both rows share)."""
    paths: dict[str, TargetPath] = {}
    for delivery in deliveries:
        if delivery.event_action == EventAction.TRIGGER:
            service = delivery.service_id
            paths.setdefault(
                delivery.dedup_key,
                TargetPath(
                    delivery.service_name,
                    service,
                    delivery,
                    incident=(incidents or {}).get((service, delivery.dedup_key))
                    if service is not None
                    else None,
                    syncs=service in syncing,
                    on_call=(on_call or {}).get(service) if service is not None else None,
                    retired=current is not None
                    and service not in current
                    and delivery.reason != Reason.FALLBACK,
                ),
            )
        elif delivery.event_action == EventAction.RESOLVE and delivery.dedup_key in paths:
            path = paths[delivery.dedup_key]
            paths[delivery.dedup_key] = replace(path, resolve=delivery)
    shown = [_again(p, current_names) for p in paths.values()]
    kept = [p for p in shown if not (p.gone and p.service_name in current_names and p.resolved)]
    return sorted(kept, key=lambda p: (p.retired, p.is_fallback, p.service_name.lower()))


def _again(path: TargetPath, current_names: frozenset[str]) -> TargetPath:
    """A gone service's path named as a service the alert pages now is no retired one."""
    if path.retired and path.gone and path.service_name in current_names:
        return replace(path, retired=False)
    return path


@dataclass(frozen=True)
class FiringRow(_Row):
    """A firing as the alert page lists it: how long it lasted and what it sent."""

    subject: Firing
    duration: str
    deliveries: list[Delivery]
    incidents: Mapping[Key, Incident] = field(default_factory=dict)
    syncing: frozenset[int] = frozenset()
    on_call: Mapping[int, OnCallNow] = field(default_factory=dict)
    current: frozenset[int] | None = None  # an open firing's: the alert's services now
    current_names: frozenset[str] = frozenset()  # and their names (`target_paths`)
    # A cleared firing listed without its deliveries (`lazy`): how many it sent, how many
    # failed; the page loads them when the person opens it.
    lazy: bool = False
    sent: int = 0
    sent_failed: int = 0
    summary: Sent | None = None  # the lazy row's, counted (`paged.sent_of`)
    # A cleared firing's incidents its failed resolves left open in PagerDuty (`left_open`).
    left_open: tuple[LeftOpen, ...] = ()

    @property
    def firing(self) -> Firing:
        return self.subject

    @cached_property
    def targets(self) -> list[TargetPath]:
        return target_paths(
            self.deliveries,
            self.incidents,
            self.syncing,
            self.on_call,
            self.current,
            self.current_names,
        )

    @cached_property
    def sent_summary(self) -> Sent:
        """What it sent, counted: "1 trigger, refused" (`paged.Sent`)."""
        return self.summary if self.summary is not None else Sent.of(self.deliveries)

    @property
    def paging(self) -> str:
        """Whether it paged anyone (`paged.Paging`): "missed" when nobody was paged."""
        return self.sent_summary.paging(self.subject.held).value

    @property
    def missed(self) -> bool:
        return self.paging == Paging.MISSED

    @property
    def not_confirmed(self) -> bool:
        """PagerDuty never confirmed it took a trigger: it may have paged nobody."""
        return self.paging == Paging.NOT_CONFIRMED

    @cached_property
    def reach(self) -> FiringReach:
        """Whom its triggers reached, as PagerDuty answered them (`reach`)."""
        return FiringReach.of(self.deliveries)

    @cached_property
    def incident_open(self) -> bool:
        """An incident PagerDuty opened for it is open, as far as the incidents PagerDuty
        reported say (`reach.incident_open`): not once resolved there, nor when no trigger
        was taken; a pasted key's is never known (`incident_unseen`)."""
        return incident_open(self.deliveries, self.incidents, self.syncing)

    @cached_property
    def unseen_why(self) -> str:
        """Why Tripwire can't see an incident of it PagerDuty took, not resolved since
        (`reach.unseen_why`: a pasted key, or a service gone); "" if none. Resolving it in
        PagerDuty then does not clear the firing here (`resolved_where`)."""
        return unseen_of(self.deliveries, self.syncing)

    incident_unseen = property(lambda self: bool(self.unseen_why))
    resolved_where = property(lambda self: resolved_where(bool(self.unseen_why)))

    @property
    def cleared_by_words(self) -> str:
        """Who resolved it in Tripwire, after its clear reason ("by alice@example.com", "by
        API token “deploy-bot”": a token is no person); "" if no one is known (or no longer:
        deleted)."""
        firing = self.subject
        if firing.cleared_by_id is not None and firing.cleared_by is not None:
            return f"by {firing.cleared_by.get_username()}"
        if firing.cleared_by_token_id is not None and firing.cleared_by_token is not None:
            return f"by API token “{firing.cleared_by_token.name}”"
        return ""


@dataclass(frozen=True)
class AlertLinks:
    """Where a row's name and buttons lead."""

    detail: str
    edit: str
    toggle: str
    delete: str


# The badges' colours: a state's (bad when firing, a warning while it can't fire yet) and a
# delivery status's (as pagerduty/_status_badge.html colours it).
STATE_BADGES = {
    State.FIRING: "badge-bad",
    State.OK: "badge-ok",
    State.COUNTING: "badge-ok",
    State.WAITING: "badge-warn",
    State.DISABLED: "badge-member",
}
STATUS_BADGES: dict[str, str] = {
    Delivery.Status.DELIVERED.value: "badge-ok",
    Delivery.Status.FAILED.value: "badge-bad",
}


@dataclass(frozen=True)
class LastDelivery:
    """An alert's latest delivery as the list shows it: its status, where it went (when the
    row must say it), and when (how long ago)."""

    status: str
    at: datetime
    service: str = ""  # the service it went to, when the row must say it
    fallback: bool = False  # that service is the organization's fallback
    action: str = EventAction.TRIGGER  # a resolve, a test alert: no page to anyone on call
    is_test: bool = False

    @property
    def pages(self) -> bool:
        """A trigger of the alert's own: the delivery that pages someone."""
        return self.action == EventAction.TRIGGER and not self.is_test

    @property
    def label(self) -> str:
        """What went, and how: "Delivered" for a trigger; "Resolve delivered", "Test alert
        delivered" for the rest, so that a resolve sent on a disconnect, or the form's test
        alert, is not read as the alert paging someone."""
        if self.pages:
            return self.status.capitalize()
        what = EventAction(self.action).label if self.action else "Event"
        if self.is_test:
            what = (
                "Test alert" if self.action == EventAction.TRIGGER else f"Test alert {what.lower()}"
            )
        return f"{what} {self.status}"

    @property
    def badge(self) -> str:
        """Green only for a trigger delivered; a resolve or test taken is neutral."""
        if not self.pages and self.status == Delivery.Status.DELIVERED:
            return "badge-member"
        return STATUS_BADGES.get(self.status, "badge-warn")


@dataclass(frozen=True)
class AlertRow(_Row):
    """An alert as the list shows it: its state (and since when), its condition and rules in
    words, the services it pages, its last delivery, and its links. All of it is put in words
    before rendering, so that a row costs the template little: a page renders 50."""

    subject: Alert
    state: AlertState
    state_note: str
    condition: str
    rules: str
    services: tuple[str, ...]
    last_delivery: LastDelivery | None
    links: AlertLinks
    health: AlertHealth
    incident_note: str = ""  # what PagerDuty says of the open firing's incident
    mute_note: str = ""  # "Muted until 04:00 — deploy", or which services are muted
    firing_values: str = ""  # for an alert that groups and fires: "2 sources"
    watches_nothing: bool = False  # an absence alert with no value to watch (watching.py)
    unseen_why: str = ""  # why Tripwire can't see an incident it opened (`FiringRow`'s)
    incident_unseen = property(lambda self: bool(self.unseen_why))

    @property
    def health_badge(self) -> str:
        """Red where nobody would be paged, amber where part of the path is broken."""
        if self.health.ok:
            return ""
        return "badge-warn" if self.health.can_page else "badge-bad"

    @property
    def alert(self) -> Alert:
        return self.subject

    @property
    def is_firing(self) -> bool:
        return self.state.state == State.FIRING

    @property
    def pages_nobody(self) -> bool:
        """Not firing, and PagerDuty refuses every service it pages (no fallback pages
        instead): no green "OK" then. (With no service at all, "Pages" says so.)"""
        quiet = self.state.state in (State.OK, State.COUNTING)
        return quiet and bool(self.health.troubles) and not self.health.can_page

    @property
    def state_badge(self) -> str:
        """Red while it pages nobody, amber while every service it pages has something
        wrong (an account to reconnect, deliveries failing, the fallback paging instead)."""
        if self.watches_nothing:
            return "badge-warn"
        if self.pages_nobody:
            return "badge-bad"
        badge = STATE_BADGES[self.state.state]
        if badge == "badge-ok" and self.health.troubles and not self.health.others_fine:
            return "badge-warn"
        return badge

    @property
    def state_label(self) -> str:
        """The state in words: "Watching nothing" over "OK" or "Waiting" (it can't fire),
        "Pages nobody" over "OK"."""
        if self.watches_nothing:
            return "Watching nothing"
        return "Pages nobody" if self.pages_nobody else self.state.label

    @property
    def state_code(self) -> str:
        return "watching-nothing" if self.watches_nothing else self.state.code

    @property
    def severity_label(self) -> str:
        if self.subject.severity_from_events:
            return "Severity from the events"
        return Severity(self.subject.severity).label
