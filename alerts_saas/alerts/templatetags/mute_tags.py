"""`service_mutes|mute_of:service.pk`: a service's mute line, read from the one lookup the
page made for all its services (`views.mutes.service_mute_lines`). `{% mute_time line.end %}`:
a mute's start or end in the viewer's zone, named ("Tue 1 Dec 01:00 CET")."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.safestring import SafeString

from alerts_saas.alerts.mutes import time_words
from alerts_saas.alerts.views.mutes import MuteLine

register = template.Library()


@register.filter
def mute_of(lines: dict[int, MuteLine] | None, service_id: int) -> MuteLine | None:
    return (lines or {}).get(service_id)


@register.simple_tag
def mute_time(value: datetime | None) -> SafeString:
    return time_words(value)
