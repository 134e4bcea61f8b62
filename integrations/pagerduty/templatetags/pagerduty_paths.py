"""A service's paging path on the pages that list services."""

from __future__ import annotations

from typing import Any

from django import template

from integrations.pagerduty.models import PagerDutyService
from integrations.pagerduty.paths import ServiceHealth, service_health

register = template.Library()


@register.filter
def path_health(service: PagerDutyService) -> ServiceHealth:
    """The service's path state (its account must be loaded with it)."""
    return service_health(service)


@register.filter
def advice(health: ServiceHealth, tenant: Any) -> str:
    """The health's words for the reader: the action for an owner or admin, and for a
    member whom to ask (`tenant` is the request's tenant)."""
    return health.advice(bool(tenant.is_admin), tenant.organization.name)
