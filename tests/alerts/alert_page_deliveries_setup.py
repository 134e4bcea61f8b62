"""An open firing with a long history of deliveries, for the alert page's deliveries tests."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, Firing
from integrations.pagerduty.models import Delivery, PagerDutyService
from tests.history_rows import delivery
from tests.tenant_objects import _pd_service


def firing_with_deliveries(org: Organization, n: int) -> tuple[Alert, list[Delivery]]:
    """An alert firing for an hour, with `n` deliveries a minute apart (newest last), every
    third failed with an error, the others delivered without one."""
    service = PagerDutyService.objects.filter(organization=org).first() or _pd_service(
        org, org.memberships.get().user
    )
    now = timezone.now()
    alert = Alert.objects.create(
        organization=org, name=f"Checkout errors {n}", counting_since=now - timedelta(hours=2)
    )
    alert.targets.add(service)
    firing = Firing.objects.create(organization=org, alert=alert, count_at_open=1)
    rows = []
    for i in range(n):
        failed = i % 3 == 0
        row = delivery(
            service,
            alert=alert,
            firing=firing,
            status=Delivery.Status.FAILED if failed else Delivery.Status.DELIVERED,
            last_error="Invalid routing key" if failed else "",
            attempts=1,
        )
        Delivery.objects.filter(pk=row.pk).update(created_at=now - timedelta(minutes=n - i))
        rows.append(row)
    return alert, rows
