"""Test pages in the activity log: "Send test alert" (the alert form) and "Send test event"
(Integrations) wake whoever is on call, so each is recorded, like a change, with who sent
it, to which service, when and from where: one entry per service paged, written in the
transaction that queues the test (no test, no entry) in one statement however many
services. Deliveries are not otherwise tracked (`tracked.py`: no signals)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from alerts_saas.audit import context
from alerts_saas.audit.models import Action, Entry

KIND = "test_page"  # `tracked.py`'s line for test triggers


class TestTrigger(Protocol):
    """A PagerDuty delivery, as read here (this app imports no tracked model)."""

    pk: Any
    organization_id: int
    service_name: str
    is_test: bool


def record_test_pages(deliveries: Sequence[TestTrigger], sent_from: str) -> None:
    """An entry for each test trigger in `deliveries`; `sent_from`: "Integrations", or
    the alert form ("the alert “Checkout errors”", "a new alert")."""
    tests = [d for d in deliveries if d.is_test]
    if not tests:
        return
    actor = context.describe(context.in_context() or context.current())
    Entry.objects.bulk_create(
        [
            Entry(
                organization_id=d.organization_id,
                object_type=KIND,
                object_id=str(d.pk),
                object_name=d.service_name[:200],
                action=Action.CREATED,
                changes=[{"field": "sent from", "after": sent_from}],
                **actor,
            )
            for d in tests
        ]
    )
