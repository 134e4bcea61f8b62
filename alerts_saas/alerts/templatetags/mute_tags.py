"""`service_mutes|mute_of:service.pk`: a service's mute line, read from the one lookup the
page made for all its services (`views.mutes.service_mute_lines`)."""

from __future__ import annotations

from django import template

from alerts_saas.alerts.views.mutes import MuteLine

register = template.Library()


@register.filter
def mute_of(lines: dict[int, MuteLine] | None, service_id: int) -> MuteLine | None:
    return (lines or {}).get(service_id)
