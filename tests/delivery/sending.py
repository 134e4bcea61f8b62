"""What the delivery tests that send through the sandbox without a worker share: a firing
opened on one service, and the due deliveries sent as workers would."""

from __future__ import annotations

from django.utils import timezone

from alerts_saas.alerts import firings
from alerts_saas.alerts.models import Alert, Firing
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, PagerDutyService


def open_firing(org, target: PagerDutyService, name: str = "DB errors") -> tuple[Alert, Firing]:
    """An alert paging `target`, firing now."""
    alert = Alert.objects.create(organization=org, name=name, threshold=1)
    alert.targets.set([target])
    firing = firings.open_firing(alert, 5, timezone.now())
    assert firing is not None
    return alert, firing


def send_queued() -> None:
    """Send what is due, as workers would, until nothing due is left (a resolve waits for
    its trigger: it goes in a later round)."""
    for _ in range(5):
        due = Delivery.objects.filter(
            status=Delivery.Status.QUEUED, next_attempt_at__lte=timezone.now()
        )
        if not due.exists():
            return
        engine.attempt_many(list(due.order_by("pk").values_list("pk", flat=True)))
