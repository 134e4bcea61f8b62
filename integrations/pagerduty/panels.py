"""What a delivery's panel (`pagerduty/_delivery.html`) shows beside the delivery: the
test incident a test trigger opened, with its resolves (`autoresolve.Incident`), and
PagerDuty's incident for a delivered trigger, as its incident sync knows it.

`panels` reads them for all of a page's panels at once (the alert form shows one a target
service): two queries whatever the number of panels, so the template asks nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from integrations.pagerduty import autoresolve
from integrations.pagerduty.incidents.lookup import incidents_of
from integrations.pagerduty.incidents.models import Incident
from integrations.pagerduty.models import Delivery, EventAction


@dataclass(frozen=True, slots=True)
class Panel:
    """One delivery's panel, with what it shows besides the delivery."""

    delivery: Delivery
    incident: autoresolve.Incident | None  # a test trigger's test incident
    pd: Incident | None  # PagerDuty's incident for a delivered trigger, when known

    def context(self) -> dict[str, object]:
        """The names `_delivery.html` reads them by."""
        return {"delivery": self.delivery, "incident": self.incident, "pd": self.pd}


def panels(deliveries: Sequence[Delivery]) -> list[Panel]:
    """The panels of these deliveries (one organization's), in their order: one query for
    the test incidents' resolves, one for PagerDuty's incidents of the delivered triggers
    (none when there are none)."""
    tests = autoresolve.incidents_of(deliveries)
    delivered = [
        d
        for d in deliveries
        if d.event_action == EventAction.TRIGGER and d.status == Delivery.Status.DELIVERED
    ]
    known = incidents_of(delivered[0].organization_id, delivered) if delivered else {}
    pd = {
        d.pk: known[(d.service_id, d.dedup_key)]
        for d in delivered
        if d.service_id is not None and (d.service_id, d.dedup_key) in known
    }
    return [Panel(d, tests.get(d.pk), pd.get(d.pk)) for d in deliveries]


def panel(delivery: Delivery) -> Panel:
    """One delivery's panel (its own page, or the panel it polls)."""
    return panels([delivery])[0]
