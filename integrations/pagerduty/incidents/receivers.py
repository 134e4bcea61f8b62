"""What this app does when the PagerDuty integration connects or removes services."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from integrations.pagerduty.incidents import subscriptions, unsubscriptions
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.signals import services_connected, services_removing


@receiver(services_connected, sender=PagerDutyService)
def subscribe_connected(services: list[PagerDutyService], **_: Any) -> None:
    """Subscribe in the background: connecting does not wait on more calls to PagerDuty."""
    from integrations.pagerduty.incidents.tasks import subscribe_services

    ids = [s.pk for s in services if s.account_id is not None]
    if ids:
        transaction.on_commit(lambda: subscribe_services.delay(ids))


@receiver(services_removing, sender=PagerDutyService)
def unsubscribe_removed(services: list[PagerDutyService], **_: Any) -> None:
    subscriptions.unsubscribe_on_commit(services)


@receiver(pre_delete, sender=PagerDutyAccount)
def keep_tokens_for_unsubscribing(instance: PagerDutyAccount, **_: Any) -> None:
    """However the account goes (disconnected, or with its organization), the deletions
    still pending in PagerDuty keep its tokens as they are now."""
    unsubscriptions.keep_tokens(instance)
