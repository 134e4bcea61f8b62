"""A service's paging path on the pages that list services."""

from __future__ import annotations

from django import template

from integrations.pagerduty.models import PagerDutyService
from integrations.pagerduty.paths import ServiceHealth, service_health

register = template.Library()


@register.filter
def path_health(service: PagerDutyService) -> ServiceHealth:
    """The service's path state (its account must be loaded with it)."""
    return service_health(service)
