"""Whether an alert's page reaches someone: the one rule every page, count and email uses.

An alert reaches someone when one of its services is not refused by PagerDuty (a failing
service, or one whose account needs reconnecting, is still tried with its key), or, when
PagerDuty refuses all of them, when the organization's fallback service is not refused:
a firing's trigger then goes to the fallback (at once, or when the fallback is chosen:
`fallback_now`). An alert with no service reaches nobody: nothing is sent, not even to
the fallback. `reaches_someone` says it in SQL, for the counts and filters, and
`Fallbacks` and `health.alert_health` say it in Python for the rows shown; both read the
same fields.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from alerts_saas.alerts.models import Alert
from integrations.pagerduty.models import PagerDutyService


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
