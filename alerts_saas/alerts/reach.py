"""Whether an alert's page reaches someone: the one rule every page, count and email uses.

An alert reaches someone when one of its services is not refused by PagerDuty (a failing
service, or one whose account needs reconnecting, is still tried with its key), or, when
PagerDuty refuses all of them, when the organization's fallback service is not refused:
a firing's trigger then goes to the fallback (at once, or when the fallback is chosen:
`fallback_now`). An alert with no service reaches nobody: nothing is sent, not even to
the fallback. `reaches_someone` says it in SQL, for the counts and filters, and
`Fallbacks` and `health.alert_health` say it in Python for the rows shown; both read the
same fields. That is a promise about the next page.

A firing is judged by what happened to it first: once PagerDuty accepted one of its
triggers (to one of its services or to a fallback) it reached someone, whatever was
changed since (a fallback unset later); until then, by its alert's rule now (its triggers
may still be on their way, or a fallback chosen now pages it: `fallback_now`).
`firing_reaches_someone` and `paged_through_fallback` say it in SQL, `FiringReach` in
Python from the deliveries a page has read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import (
    Case,
    CharField,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from alerts_saas.alerts.models import Alert
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService, Reason


def usable_fallbacks() -> Q:
    """The fallback services that can page: PagerDuty does not refuse their key."""
    return Q(is_fallback=True, refused_at__isnull=True)


def reaches_someone(alert: str = "pk", organization: str = "organization_id") -> Q:
    """Per row, whether the alert (its id in the row's field `alert`, its organization's
    in `organization`) reaches someone; two index probes and one on the fallback."""
    targets = Alert.targets.through.objects.filter(alert_id=OuterRef(alert))
    usable = targets.filter(pagerdutyservice__refused_at__isnull=True)
    fallback = PagerDutyService.objects.filter(
        usable_fallbacks(), organization_id=OuterRef(organization)
    )
    return Q(Exists(usable)) | (Q(Exists(targets)) & Q(Exists(fallback)))


class Fallbacks:
    """The name of each organization's usable fallback service, read once per organization
    when first asked (only for an alert PagerDuty refuses on every service), so a page of
    rows costs one query at most, and none while every path works."""

    def __init__(self) -> None:
        self._names: dict[int, str] = {}

    def name(self, organization_id: int) -> str:
        """The usable fallback's name, or "" if there is none."""
        if organization_id not in self._names:
            found = PagerDutyService.objects.filter(
                usable_fallbacks(), organization_id=organization_id
            ).values_list("name", flat=True)
            self._names[organization_id] = found.first() or ""
        return self._names[organization_id]


def accepted_triggers(
    firing: str = "pk", organization: str = "organization_id"
) -> QuerySet[Delivery]:
    """The triggers of the row's firing that PagerDuty accepted (a probe of the firings'
    index per row)."""
    return Delivery.objects.filter(
        organization_id=OuterRef(organization),
        firing_id=OuterRef(firing),
        event_action=EventAction.TRIGGER,
        status=Delivery.Status.DELIVERED,
    )


def firing_reaches_someone(
    firing: str = "pk", alert: str = "alert_id", organization: str = "organization_id"
) -> Q:
    """Per firing row: PagerDuty accepted one of its triggers, or, until it has, its alert
    reaches someone now (`reaches_someone`)."""
    return Q(Exists(accepted_triggers(firing, organization))) | reaches_someone(alert, organization)


def paged_through_fallback(firing: str = "pk", organization: str = "organization_id") -> Case:
    """Per firing row, the name of the fallback service that PagerDuty accepted its trigger
    for, when it accepted none for the firing's own services; "" otherwise."""
    accepted = accepted_triggers(firing, organization)
    names = accepted.filter(reason=Reason.FALLBACK).order_by("pk").values("service_name")[:1]
    return Case(
        When(Exists(accepted.exclude(reason=Reason.FALLBACK)), then=Value("")),
        default=Coalesce(Subquery(names), Value("")),
        output_field=CharField(),
    )


@dataclass(frozen=True, slots=True)
class FiringReach:
    """What a firing's deliveries say of whom it reached: `paged` whether PagerDuty accepted
    a trigger of it, `fallback` the fallback service's name when only a fallback's was
    (the rule of `firing_reaches_someone` and `paged_through_fallback`)."""

    paged: bool = False
    fallback: str = ""

    @classmethod
    def of(cls, deliveries: Iterable[Delivery]) -> FiringReach:
        accepted = [
            d
            for d in deliveries
            if d.event_action == EventAction.TRIGGER and d.status == Delivery.Status.DELIVERED
        ]
        if any(d.reason != Reason.FALLBACK for d in accepted):
            return cls(paged=True)
        fallback = min(accepted, key=lambda d: d.pk).service_name if accepted else ""
        return cls(paged=bool(accepted), fallback=fallback)
