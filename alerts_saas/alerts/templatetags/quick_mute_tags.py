"""`{% quick_mute_offer alert firing firing_values as offer %}`: what "Mute 1 h" says beside
the open firing (`views.quick_mute`), read from the rows the page already shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone

from alerts_saas.alerts.models import Alert
from alerts_saas.alerts.views.quick_mute import OpenPages, rows_pages, services_mute_until

register = template.Library()


@dataclass(frozen=True)
class Offer:
    pages: OpenPages
    services_until: datetime | None  # service mutes cover every target until then
    services: int  # how many services the alert pages


@register.simple_tag
def quick_mute_offer(alert: Alert, firing: Any, firing_values: Any) -> Offer:
    rows = [firing, *(getattr(firing_values, "rows", None) or [])]
    return Offer(
        rows_pages(rows),
        services_mute_until(alert, timezone.now()),
        len(alert.targets.all()),
    )


@register.filter
def lead(pages: OpenPages, subject: str) -> str:
    """`{{ offer.pages|lead:"this alert" }}`: "no new pages (are queued) for this alert"."""
    return pages.lead(subject)
