"""The triggers firings send to their targets: for one firing as it opens, or for every open
firing of an alert that groups (one per host) when its targets change or a mute ends.

A `Pager` reads what it needs once for all its firings (the mute windows; the fallback
service and the fallbacks already sent, only if a target can't page), so paging a new
target for 300 firing hosts costs the queries of one. A muted target gets no trigger: its
firing is marked held (`Firing.held`), and `mute_release` pages it later. A target that
can't page (refused by PagerDuty, or its account needs reconnecting) also sends the
firing's trigger to the organization's fallback service, once per firing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.db.models import Q

from alerts_saas.alerts.conditions import describe
from alerts_saas.alerts.counting import CounterSet, counts
from alerts_saas.alerts.links import trigger_links
from alerts_saas.alerts.models import Alert, Firing, MuteWindow
from alerts_saas.alerts.mutes import Mutes
from alerts_saas.alerts.payload import AlertDraft, draft_of, render_payload
from integrations.pagerduty import delivery as engine
from integrations.pagerduty import paths
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
from integrations.pagerduty.outgoing import FallenBack

log = logging.getLogger(__name__)
RECENT_IN_TRIGGER = 5


def counter_of(alert: Alert, firing: Firing | None) -> CounterSet:
    """Where a firing's counts live: its value's, for an alert that groups."""
    if alert.group_by and firing is not None:
        return CounterSet.of(alert, firing.group)
    return CounterSet.of(alert)


def trigger_payload(
    alert: Alert,
    total: int,
    firing: Firing | None = None,
    draft: AlertDraft | None = None,
    recent: list[dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The trigger's payload and its extra top-level fields (links, client): about the
    firing's value of the group field, at its severity, for an alert that groups or whose
    severity follows the events. `draft` and `recent` (its latest events): read once for
    many firings."""
    counter = counter_of(alert, firing)
    draft = draft or draft_of(alert)
    payload = render_payload(draft, count=total, group=counter.group)
    if firing is not None and firing.severity:
        payload["severity"] = firing.severity
    details = payload["custom_details"]
    details["condition"] = f"{alert.condition_label}; counting {describe(alert)}"
    details["matching_events_in_window"] = total
    details["recent_matching_events"] = (
        _recent_events([alert.pk], [counter])[counter] if recent is None else recent
    )
    return payload, trigger_extra(draft, alert)


def trigger_extra(draft: AlertDraft, alert: Alert | None) -> dict[str, Any]:
    """A trigger's top-level fields besides its payload: the saved `alert`'s page (as the
    client and the first link), then the links in `draft`'s description and details (its
    runbook, say). A test alert sends the same, from the form as it stands, saved or not."""
    links = trigger_links(draft.description, draft.details)
    if alert is None or alert.pk is None:
        return {"links": links}  # an unsaved draft has no page yet
    url = settings.SITE_URL + alert.get_absolute_url()
    return {
        "client": settings.PRODUCT_NAME,
        "client_url": url,
        "links": [{"href": url, "text": f"“{draft.name}” in {settings.PRODUCT_NAME}"}, *links],
    }


def _recent_events(
    alert_ids: Iterable[int], counters: list[CounterSet]
) -> dict[CounterSet, list[dict[str, Any]]]:
    """The latest matching events of each counter set (of the alerts `alert_ids`) for
    triggers' details, in one read; none if the count store can't be read (a page without
    them beats no page)."""
    try:
        return counts().recent_of(counters, RECENT_IN_TRIGGER)
    except redis.RedisError:
        alerts = sorted(alert_ids)
        log.warning("Alerts %s' triggers go without their latest events (no counts)", alerts)
        return {counter: [] for counter in counters}


def targets_of(alert: Alert) -> list[PagerDutyService]:
    return list(alert.targets.select_related("account"))


def targets_of_alerts(alerts: Iterable[Alert]) -> dict[int, list[PagerDutyService]]:
    """Each alert's targets (with their accounts), in one query."""
    through = Alert.targets.through.objects.filter(
        alert_id__in={alert.pk for alert in alerts}
    ).select_related("pagerdutyservice__account")
    found: dict[int, list[PagerDutyService]] = defaultdict(list)
    for row in through.order_by("pagerdutyservice__name", "pagerdutyservice_id"):
        found[row.alert_id].append(row.pagerdutyservice)
    return found


class Pager:
    """Builds the triggers of `firings` (unsaved, for `engine.queue`) at one moment, `now`,
    to `services` (the targets it may page: their mute windows are read with the alerts'
    in one query). Call `save_holds` before the transaction ends: it marks held, in one
    update, the firings a mute kept from a target."""

    def __init__(
        self, firings: Sequence[Firing], now: datetime, services: Iterable[PagerDutyService]
    ) -> None:
        self.now = now
        self.firings = list(firings)
        self.held: set[int] = set()
        self._organizations = {f.organization_id for f in self.firings}
        self._services = {s.pk for s in services}
        self._mutes: Mutes | None = None
        self._fallbacks: dict[int, PagerDutyService] | None = None
        self._fallen_back: FallenBack | None = None
        self._drafts: dict[int, AlertDraft] = {}
        self._recent: dict[CounterSet, list[dict[str, Any]]] = {}
        self._recent_read: set[int] = set()  # the alerts whose firings' events were read

    def triggers(
        self, alert: Alert, firing: Firing, services: Iterable[PagerDutyService], total: int
    ) -> list[Delivery]:
        """A trigger from `firing` to each of `services` that no window mutes (the firing
        is held if one does), and the fallback's copy if one of them can't page."""
        services = list(services)
        if not services:
            return []
        muted = self._muted(alert, [s.pk for s in services])
        if muted:
            self._hold(firing)
            services = [s for s in services if s.pk not in muted]
        if not services:
            return []
        if alert.pk not in self._drafts:
            self._drafts[alert.pk] = draft_of(alert)
            self._read_recent(alert)
        counter = counter_of(alert, firing)
        payload, extra = trigger_payload(
            alert, total, firing, self._drafts[alert.pk], self._recent.get(counter)
        )
        triggers = [
            engine.build_event(
                service,
                EventAction.TRIGGER,
                firing.dedup_key(service.pk),
                payload,
                extra=extra,
                alert=alert,
                firing=firing,
            )
            for service in services
        ]
        return triggers + self.fallback(alert, firing, services, triggers)

    def fallback(
        self,
        alert: Alert,
        firing: Firing,
        services: list[PagerDutyService],
        triggers: list[Delivery],
    ) -> list[Delivery]:
        """The fallback trigger for this firing, if a target can't page, none went to this
        fallback service yet and no other fallback's is on its way or open (a fallback
        chosen since the last one refused it is paged). A muted fallback service is held
        like a target: `release_held` tries again."""
        broken = [
            (service, trigger, health)
            for service, trigger in zip(services, triggers, strict=True)
            if (health := paths.service_health(service)).needs_fallback
        ]
        if not broken:
            return []
        fallback = self._fallback_services().get(firing.organization_id)
        if fallback is None or not self._sent_fallbacks().pages(firing.pk, fallback.pk):
            return []
        service, trigger, health = broken[0]
        if self._muted(alert, [fallback.pk]):
            self._hold(firing)
            return []
        copy = engine.fallback_for(trigger, fallback, f"{service.name} can't page: {health.words}")
        if copy is None:
            return []
        self._sent_fallbacks().add(firing.pk, fallback.pk)
        return [copy]

    def fallback_due_again(self, firing_ids: Iterable[int], service_id: int) -> None:
        """These firings' triggers to the fallback `service_id` failed for good, and it
        pages again now (healed or mended): `fallback` sends them one again."""
        self._sent_fallbacks().to.difference_update((f, service_id) for f in firing_ids)

    def _read_recent(self, alert: Alert) -> None:
        """The latest events of the alert's firings here, and of every other alert's whose
        firings carry it (a removal's many alerts), in one read."""
        if alert.pk in self._recent_read:
            return
        alerts = {
            f.alert_id: f.alert
            for f in self.firings
            if f.alert_id not in self._recent_read and Firing.alert.is_cached(f)
        }
        alerts[alert.pk] = alert
        counters = [counter_of(alerts[f.alert_id], f) for f in self.firings if f.alert_id in alerts]
        self._recent.update(_recent_events(alerts.keys(), counters))
        self._recent_read |= alerts.keys()

    def save_holds(self) -> None:
        """Mark held the firings a mute kept from a target or the fallback (one update)."""
        if self.held:
            Firing.objects.filter(
                organization_id__in=self._organizations, pk__in=self.held, held=False
            ).update(held=True)

    def _hold(self, firing: Firing) -> None:
        firing.held = True
        self.held.add(firing.pk)

    def _muted(self, alert: Alert, service_ids: list[int]) -> set[int]:
        """The services a window mutes for `alert` at `now`. The windows not over yet of
        the firings' alerts and of `services` are read once; those of another service (the
        fallback) when it is first asked about."""
        missing = set(service_ids) - self._services
        if self._mutes is None or missing:
            self._services |= missing
            if self._mutes is None:
                alert_ids = {f.alert_id for f in self.firings}
                found = Q(alert_id__in=alert_ids) | Q(service_id__in=self._services)
            else:
                found = Q(service_id__in=missing)
            windows = MuteWindow.objects.filter(found, organization_id__in=self._organizations)
            windows = windows.filter(
                Q(ends_at__isnull=True) | Q(starts_at__lte=self.now, ends_at__gt=self.now)
            )
            known = self._mutes.windows if self._mutes is not None else ()
            self._mutes = Mutes(self.now, (*known, *windows))
        return self._mutes.muted_targets(alert.pk, service_ids)

    def _fallback_services(self) -> dict[int, PagerDutyService]:
        if self._fallbacks is None:
            services = PagerDutyService.objects.select_related("account").filter(
                organization_id__in=self._organizations, is_fallback=True
            )
            self._fallbacks = {s.organization_id: s for s in services}
        return self._fallbacks

    def _sent_fallbacks(self) -> FallenBack:
        """The fallback triggers the firings sent already (`outgoing.FallenBack`)."""
        if self._fallen_back is None:
            firings = [f.pk for f in self.firings]
            self._fallen_back = engine.fallen_back(self._organizations, firings)
        return self._fallen_back
