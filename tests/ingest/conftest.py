from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.counting import CounterSet, counts
from alerts_saas.alerts.models import Alert, Level


@pytest.fixture
def errors_alert(org: Organization) -> Alert:
    """Counts checkout's errors; never fires (its threshold is out of reach)."""
    return Alert.objects.create(
        organization=org,
        name="Checkout errors",
        match_app="checkout",
        match_level=Level.ERROR,
        threshold=100,
        window_minutes=5,
    )


@pytest.fixture
def counted() -> Callable[[Alert], int]:
    """The events an alert's window holds now."""

    def total(alert: Alert) -> int:
        alert.refresh_from_db()
        counter = CounterSet.of(alert)
        return counts().totals([counter], datetime.now(UTC).timestamp())[counter]

    return total
