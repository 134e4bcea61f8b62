"""`{% timestamp value %}`: a moment in the person's time zone, UTC on hover.

`{% timestamp d.created_at "j M H:i:s" %}` takes a date format; "ago" and "until" give
words ("5 minutes ago", "just now"; "in 5 minutes", "in under a minute").
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.safestring import SafeString

from alerts_saas.accounts.times import DEFAULT_FORMAT, time_html

register = template.Library()


@register.simple_tag
def timestamp(value: datetime | None, form: str = DEFAULT_FORMAT) -> SafeString:
    return time_html(value, form)


@register.filter
def zone_label(name: str) -> str:
    """A profile's zone as people read it: "America/New York"; UTC when none is chosen."""
    return (name or "UTC").replace("_", " ")
