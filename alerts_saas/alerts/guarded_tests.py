"""What "Send test alert" asks before it pages, and what stops a second tap paging again.

A test alert wakes whoever is on call for the chosen services, so the form asks first,
naming them (`confirmation`), and a test still open from the same form (the alert, or a
person's unsaved draft) is not sent again to the same service (`open_tests`): the second
tap refuses in words, and the open test's panel shows how to resolve it.

PagerDuty, not Tripwire, sets an incident's urgency: an Events API event carries only a
severity, which decides the urgency only where the service's urgency rule is "based on
alert severity"; a service with a constant rule (high by default) ignores it. So the
question says a test may be high urgency, and does not promise it won't ring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Q

from alerts_saas.accounts.models import User
from alerts_saas.alerts.models import Alert
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.incidents.models import OnCallNow
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService


@dataclass(frozen=True)
class Confirmation:
    """The question asked before a test alert pages anyone."""

    pages: str  # "This pages Olivia Oncall (Checkout API) now."
    urgency: str
    ends: str


def confirmation(paths: Sequence[tuple[PagerDutyService, OnCallNow | None]]) -> Confirmation:
    """Who the test pages: each chosen service with who it pages now, as far as Tripwire
    knows (the form's own `target_on_call`)."""
    who = [_who(service, oc) for service, oc in paths]
    return Confirmation(
        pages=f"This pages {_listed(who)} now.",
        urgency=(
            "PagerDuty sets its urgency by each service's own settings, so it may be high "
            "urgency: a phone call or push that wakes them."
        ),
        ends=_ends(settings.TEST_INCIDENT_AUTO_RESOLVE),
    )


def _who(service: PagerDutyService, oc: OnCallNow | None) -> str:
    if oc is not None and oc.checked_at and not oc.problem and oc.names:
        return f"{', '.join(oc.names)} ({service.name})"
    if oc is not None and oc.checked_at and not oc.problem:
        return f"no one at the first level of {service.name} (PagerDuty lists nobody on call)"
    return f"whoever is on call for {service.name}"


def _listed(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return f"{'; '.join(parts[:-1])} and {parts[-1]}"


def _ends(after: timedelta) -> str:
    if after <= timedelta(0):
        return "Its incident stays open until someone resolves it."
    minutes = round(after.total_seconds() / 60)
    unit = "minute" if minutes == 1 else "minutes"
    return f"Its incident resolves itself after {minutes} {unit}, or when you resolve it."


def open_tests(
    services: Sequence[PagerDutyService], alert: Alert | None, person: User
) -> list[Delivery]:
    """Test triggers sent from this form (the saved `alert`, or `person`'s unsaved draft)
    to `services` whose incident is still open: not refused, its resolve not sent yet."""
    if not services:
        return []
    sent_here = Q(alert=alert) if alert is not None else Q(alert__isnull=True, created_by=person)
    deliveries = Delivery.objects.filter(
        sent_here,
        organization_id=services[0].organization_id,
        service__in=services,
        is_test=True,
    )
    return [d for d in engine.open_triggers(deliveries) if d.event_action == EventAction.TRIGGER]


def refused_words(still_open: Sequence[Delivery]) -> str:
    """Why a second tap sent nothing to these services."""
    names = _listed(sorted({d.service_name for d in still_open}))
    return (
        f"Not sent again to {names}: the test alert sent from this form is still open there, "
        "so a second one would page them twice. Its panel is below: resolve it there "
        "(or wait until it resolves itself), then send another."
    )
