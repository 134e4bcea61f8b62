"""Removing connected services (one, or a whole account's) so that nothing is left open in
PagerDuty and no alert is left paging nobody unawares.

`plan_service_removal` and `plan_disconnect` say what a removal would do, for its
confirmation: the services, the incidents still open on them, the enabled alerts it would
leave with no service (`Plan.orphaned`) and those that keep others, the services the
orphaned ones can move to, and what only a person can do in PagerDuty. `carry_out` does it,
in one transaction:

1. the orphaned alerts get the service the person chose, added from the service's side
   (`service.alerts.add`); the alerts app syncs their open firings in the same
   transaction, all at once, which triggers the new service
   (`alerts_saas.alerts.target_changes`, a receiver of that change);
2. the incidents still open on the removed services get resolves carrying their alert and
   firing, for `Reason.SERVICE_DELETED` or `Reason.DISCONNECTED` (a test incident's
   automatic resolve that was not tried yet becomes that resolve); those to a key PagerDuty
   refused last may not close theirs, said up front (`Plan.stays_open`), but are sent: a
   refusal is cleared by the next event PagerDuty takes, so it may no longer hold;
3. the rows go: the services, their alerts' targets with them, and for a disconnect the
   account and its tokens. The delivery history stays.

It locks the rows of every alert it writes about (`Plan.alert_ids`) before the services,
as every writer does (DESIGN.md "Locks"): locking the services first, it deadlocked with a
person disabling or deleting one of those alerts.

A failure at any step leaves everything as it was. PagerDuty hears of it after the commit:
a few resolves are tried during the request, the workers send the rest with the triggers.

PagerDuty's published REST API has no DELETE for a service's integrations, so our
integration stays on each PagerDuty service until a person removes it there: `LeftInPagerDuty`
says what to remove, and where.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction

from alerts_saas.accounts.models import Organization
from alerts_saas.locks import lock_rows_without_key
from integrations.pagerduty import autoresolve
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.left_open import StaysOpen, stays_open, still_open
from integrations.pagerduty.models import (
    Delivery,
    EventAction,
    PagerDutyAccount,
    PagerDutyService,
    Reason,
)
from integrations.pagerduty.paths import INTEGRATION_REMOVED, SERVICE_DELETED
from integrations.pagerduty.provisioning import integration_name
from integrations.pagerduty.signals import services_removing

log = logging.getLogger(__name__)
INLINE_RESOLVES = 3  # tried during the request (bounded time); the rest go to the workers


@dataclass(frozen=True, slots=True)
class AffectedAlert:
    """An alert that pages one of the services being removed."""

    pk: int
    name: str
    enabled: bool
    firing: bool  # it has an open firing now
    keeps: tuple[str, ...]  # the services it still pages afterwards, by name


@dataclass(frozen=True, slots=True)
class LeftInPagerDuty:
    """What stays in PagerDuty when a service is removed here, for a person to remove."""

    service_name: str
    service_url: str  # the service's page in PagerDuty; '' when we don't know it
    integration_name: str  # our integration's name; '' for a pasted key
    refused: bool = False  # PagerDuty refuses its key: it may never have been valid

    @property
    def pasted(self) -> bool:
        return not self.integration_name

    @property
    def integrations_url(self) -> str:
        """The service's Integrations tab in PagerDuty, where its integrations are removed."""
        return f"{self.service_url.rstrip('/')}/integrations" if self.service_url else ""


@dataclass(frozen=True)
class Plan:
    """What removing `services` (and `account`, for a disconnect) does."""

    organization: Organization
    reason: str  # a Reason: why the resolves are sent
    account: PagerDutyAccount | None
    services: tuple[PagerDutyService, ...]
    alerts: tuple[AffectedAlert, ...]
    destinations: tuple[PagerDutyService, ...]  # the others; the form offers those that page
    open_triggers: tuple[Delivery, ...]  # the trigger of each incident still open on them
    incident_urls: Mapping[int, str] = field(default_factory=dict)  # by trigger, when known

    @property
    def open_incidents(self) -> int:
        return len(self.open_triggers)

    @property
    def stays_open(self) -> tuple[StaysOpen, ...]:
        """The open incidents a resolve can't close: PagerDuty already refuses their key."""
        return stays_open(self.services, self.open_triggers, self.incident_urls)

    @property
    def refused_services(self) -> tuple[PagerDutyService, ...]:
        """The services of `stays_open`: PagerDuty refuses their key."""
        ids = {trigger.service_id for trigger in self.open_triggers}
        return tuple(s for s in self.services if s.refused_at is not None and s.pk in ids)

    @property
    def service_ids(self) -> list[int]:
        return [service.pk for service in self.services]

    @property
    def alert_ids(self) -> frozenset[int]:
        """The alerts the removal writes about: those that page its services (moved, or
        their targets deleted), and those with an incident open on them only through a
        firing (a trigger to the fallback service, say): their resolves."""
        through_incidents = {t.alert_id for t in self.open_triggers if t.alert_id is not None}
        return frozenset(a.pk for a in self.alerts) | through_incidents

    @property
    def fallback(self) -> PagerDutyService | None:
        """The organization's fallback service, if it is among those removed."""
        return next((service for service in self.services if service.is_fallback), None)

    @property
    def orphaned(self) -> tuple[AffectedAlert, ...]:
        """Enabled alerts that would page nobody afterwards."""
        return tuple(a for a in self.alerts if a.enabled and not a.keeps)

    @property
    def orphaned_firing(self) -> int:
        """How many of them fire now: the service they move to is paged at once."""
        return sum(1 for a in self.orphaned if a.firing)

    @property
    def orphan_ids(self) -> frozenset[int]:
        return frozenset(a.pk for a in self.orphaned)

    @property
    def keeping(self) -> tuple[AffectedAlert, ...]:
        """Enabled alerts that still page other services afterwards."""
        return tuple(a for a in self.alerts if a.enabled and a.keeps)

    @property
    def disabled(self) -> tuple[AffectedAlert, ...]:
        """Disabled alerts left with no service (they page nobody already)."""
        return tuple(a for a in self.alerts if not a.enabled and not a.keeps)

    @property
    def left_in_pagerduty(self) -> tuple[LeftInPagerDuty, ...]:
        """Our integrations that stay in PagerDuty: not on a service PagerDuty listed
        without it, or one it answered 404 for: deleted (`picker.mark_removed`)."""
        name = integration_name(self.organization)
        return tuple(
            LeftInPagerDuty(
                s.name, s.html_url, "" if s.is_pasted else name, s.refused_at is not None
            )
            for s in self.services
            if s.is_pasted or s.refused_detail not in (INTEGRATION_REMOVED, SERVICE_DELETED)
        )


class PlanChanged(Exception):
    """What the person confirmed no longer holds (another tab or person changed it)."""

    def __init__(self, why: str, plan: Plan | None) -> None:
        super().__init__(why)
        self.why = why
        self.plan = plan  # the removal as it stands now; None when there is nothing left


@dataclass(frozen=True)
class Outcome:
    """What `carry_out` did."""

    plan: Plan
    moved_to: PagerDutyService | None
    moved: tuple[AffectedAlert, ...]
    resolved: int  # resolves PagerDuty took during the request
    pending: int  # resolves the workers send (and retry)
    left_open: tuple[StaysOpen, ...]  # their resolve refused just now: open in PagerDuty
    unsure: tuple[StaysOpen, ...] = ()  # pending, to a key PagerDuty refused when last sent

    @property
    def left_paging_nobody(self) -> tuple[AffectedAlert, ...]:
        return () if self.moved else self.plan.orphaned


def plan_service_removal(service: PagerDutyService) -> Plan:
    return _plan(service.organization, Reason.SERVICE_DELETED, None, [service])


def plan_disconnect(account: PagerDutyAccount) -> Plan:
    services = account.services.order_by("name", "pk")
    return _plan(account.organization, Reason.DISCONNECTED, account, services)


def _plan(
    organization: Organization,
    reason: str,
    account: PagerDutyAccount | None,
    services: Iterable[PagerDutyService],
) -> Plan:
    services = tuple(services)
    ids = [service.pk for service in services]
    others = PagerDutyService.objects.filter(organization=organization).exclude(pk__in=ids)
    history = Delivery.objects.filter(organization=organization, service_id__in=ids)
    open_triggers, incident_urls = still_open(engine.open_triggers(history))
    return Plan(
        organization=organization,
        reason=reason,
        account=account,
        services=services,
        alerts=affected_alerts(organization, ids),
        destinations=tuple(others.select_related("account").order_by("name", "pk")),
        open_triggers=open_triggers,
        incident_urls=incident_urls,
    )


def affected_alerts(
    organization: Organization, service_ids: list[int]
) -> tuple[AffectedAlert, ...]:
    """The organization's alerts that page any of `service_ids`, by name, each with the
    services it keeps. Read through `Alert.targets`' table, from the services' side."""
    links = PagerDutyService.alerts.through.objects.filter(alert__organization=organization)
    hit = links.filter(pagerdutyservice_id__in=service_ids)
    keeps: dict[int, list[str]] = defaultdict(list)
    kept = links.filter(alert_id__in=hit.values("alert_id")).exclude(
        pagerdutyservice_id__in=service_ids
    )
    for alert_id, name in kept.order_by("pagerdutyservice__name").values_list(
        "alert_id", "pagerdutyservice__name"
    ):
        keeps[alert_id].append(name)
    # Both conditions on one join: `cleared_at__isnull` alone, across the reverse relation,
    # also matches an alert that never fired (its LEFT JOIN row has no firing).
    firing = set(
        hit.filter(
            alert__firings__isnull=False, alert__firings__cleared_at__isnull=True
        ).values_list("alert_id", flat=True)
    )
    rows = (
        hit.values_list("alert_id", "alert__name", "alert__enabled")
        .order_by("alert__name", "alert_id")
        .distinct()
    )
    return tuple(
        AffectedAlert(pk, name, enabled, pk in firing, tuple(keeps[pk]))
        for pk, name, enabled in rows
    )


def carry_out(
    plan: Plan, *, seen: frozenset[int], move_to: PagerDutyService | None, actor: Any
) -> Outcome:
    """Move, resolve and remove as `plan` says, in one transaction (see the module's
    docstring), then try a few resolves. `seen` are the orphaned alerts the person was
    shown, and `move_to` where they chose to move them (None: they confirmed those alerts
    will page nobody). Raises `PlanChanged` if either no longer holds; nothing is done then.
    """
    with transaction.atomic(durable=True):
        _lock_alerts(plan.organization.pk, plan.alert_ids)
        current = _locked(plan)
        if late := current.alert_ids - plan.alert_ids:
            # Targeted, or paged on the services, since `plan` was read (committed before
            # the services' lock): rare, and locked as soon as seen.
            _lock_alerts(plan.organization.pk, late)
        if current.orphan_ids != seen:
            raise PlanChanged(
                "The alerts that would page nobody changed since this page was opened.", current
            )
        destination = _destination(current, move_to)
        moved = _move(current, destination)
        resolves = _resolve(current, actor)
        _delete(current)
    # Those to a key PagerDuty refused when last sent are tried last: only an answer now
    # says their incident stays open (the refusal may be over: a fault since fixed).
    last = {item.dedup_key for item in current.stays_open}
    ordered = sorted(resolves, key=lambda r: r.dedup_key in last)
    resolved, pending, refused = _send_some([r.pk for r in ordered])
    left = stays_open(current.services, current.open_triggers, current.incident_urls, refused)
    unsure = tuple(i for i in left if i.dedup_key in pending)
    left = tuple(i for i in left if i.dedup_key in refused)
    return Outcome(current, destination, moved, resolved, len(pending), left, unsure)


def _locked(plan: Plan) -> Plan:
    """The plan again, read with its account and services locked: a service connected or
    removed meanwhile, or an alert retargeted, shows (and waits for us from now on)."""
    services = PagerDutyService.objects.select_for_update().filter(organization=plan.organization)
    if plan.account is None:
        locked = list(services.filter(pk__in=plan.service_ids))
        if len(locked) != len(plan.services):
            raise PlanChanged("This service was already removed.", None)
        return _plan(plan.organization, plan.reason, None, locked)
    account = (
        PagerDutyAccount.objects.select_for_update()
        .filter(pk=plan.account.pk, organization=plan.organization)
        .first()
    )
    if account is None:
        raise PlanChanged("This PagerDuty account was already disconnected.", None)
    locked = list(services.filter(account=account).order_by("name", "pk"))
    current = _plan(plan.organization, plan.reason, account, locked)
    if set(current.service_ids) != set(plan.service_ids):
        raise PlanChanged("This account's services changed since this page was opened.", current)
    return current


def _destination(plan: Plan, move_to: PagerDutyService | None) -> PagerDutyService | None:
    """`move_to`, locked, if there are alerts to move; PlanChanged if it can't take them."""
    if move_to is None or not plan.orphaned:
        return None
    destination = (
        PagerDutyService.objects.select_for_update()
        .filter(pk=move_to.pk, organization=plan.organization)
        .exclude(pk__in=plan.service_ids)
        .first()
    )
    if destination is None:
        raise PlanChanged(f"{move_to.name} was removed meanwhile: choose another service.", plan)
    return destination


def _move(plan: Plan, destination: PagerDutyService | None) -> tuple[AffectedAlert, ...]:
    """The orphaned alerts get `destination`; their open firings page it (the alerts app's
    receiver of this change, in this transaction)."""
    if destination is None:
        return ()
    destination.alerts.add(*[alert.pk for alert in plan.orphaned])
    return plan.orphaned


def _resolve(plan: Plan, actor: Any) -> list[Delivery]:
    """Queue a resolve for each incident still open on the plan's services."""
    triggers = plan.open_triggers
    if not triggers:
        return []
    keys = [trigger.dedup_key for trigger in triggers]
    # A test incident's automatic resolve, still waiting, goes now instead.
    taken = autoresolve.take_over(
        Delivery.objects.filter(
            organization=plan.organization, service_id__in=plan.service_ids, dedup_key__in=keys
        ),
        actor,
        plan.reason,
    )
    done = {resolve.dedup_key for resolve in taken}
    return taken + engine.queue(
        [
            engine.follow_up(trigger, EventAction.RESOLVE, actor, plan.reason)
            for trigger in triggers
            if trigger.dedup_key not in done
        ]
    )


def _delete(plan: Plan) -> None:
    services_removing.send(sender=PagerDutyService, services=list(plan.services))
    if plan.account is not None:
        plan.account.delete()  # its services go with it
    else:
        PagerDutyService.objects.filter(pk__in=plan.service_ids).delete()


def _send_some(resolve_ids: list[int]) -> tuple[int, set[str], set[str]]:
    """Try the first few resolves now; return how many PagerDuty took, and the dedup keys of
    those the workers still have and of those it refused."""
    try:
        engine.attempt_many(resolve_ids[:INLINE_RESOLVES])
    except Exception:  # the rows are committed: the workers and the sweeper send them
        log.exception("Sending resolves during a removal failed; the workers send them")
    rows = list(Delivery.objects.filter(pk__in=resolve_ids).values_list("status", "dedup_key"))
    resolved = [status for status, _ in rows].count(Delivery.Status.DELIVERED)
    done = (Delivery.Status.DELIVERED, Delivery.Status.FAILED)
    refused = {key for status, key in rows if status == Delivery.Status.FAILED}
    return resolved, {key for status, key in rows if status not in done}, refused


def _lock_alerts(organization_id: int, alert_ids: Collection[int]) -> None:
    """Lock the alerts' rows as every writer of an alert's firings does first (pk order, no
    key: `alerts.firings.lock_alerts`). The alert model is reached from the services' side:
    the integration never imports the alerts app (DESIGN.md, "Imports run one way")."""
    alert: type[models.Model] = PagerDutyService._meta.get_field("alerts").related_model
    lock_rows_without_key(alert, [organization_id], alert_ids)
