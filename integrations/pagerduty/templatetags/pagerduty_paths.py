"""A service's paging path on the pages that list services."""

from __future__ import annotations

from typing import Any

from django import template

from integrations.pagerduty.models import PagerDutyService
from integrations.pagerduty.paths import PathState, ServiceHealth, other_region, service_health

register = template.Library()


@register.filter
def path_health(service: PagerDutyService) -> ServiceHealth:
    """The service's path state (its account must be loaded with it)."""
    return service_health(service)


@register.filter
def advice(health: ServiceHealth, tenant: Any) -> str:
    """The health's words for the reader: the action for an owner or admin, and for a
    member whom to ask (`tenant` is the request's tenant). Said on Integrations, beside
    the buttons the mend names."""
    return health.advice(bool(tenant.is_admin), tenant.organization.name, here=True)


@register.filter
def region_switch(service: PagerDutyService) -> tuple[str, str] | None:
    """The other region, for "Switch to <region>" on a pasted key PagerDuty refuses (the
    region is the person's guess); None for any other service."""
    if not service.is_pasted or service_health(service).state != PathState.REFUSED:
        return None
    return other_region(service.region)
