"""`{% timestamp value %}`: a moment in the person's time zone, UTC on hover.

`{% timestamp d.created_at "j M H:i:s" %}` takes a date format; "ago" and "until" give
words ("5 minutes ago", "just now"; "in 5 minutes", "in under a minute"); "clock" gives
"03:12" today, else "28 Nov 03:12".
`{% page_zone as zone %}`: the zone the page's times are in (`times.PageZone`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils.safestring import SafeString

from alerts_saas.accounts.times import (
    DEFAULT_FORMAT,
    PageZone,
    request_zone,
    time_html,
    zone_label,
)

register = template.Library()


@register.simple_tag
def timestamp(value: datetime | None, form: str = DEFAULT_FORMAT) -> SafeString:
    return time_html(value, form)


register.filter("zone_label", zone_label)


@register.simple_tag(takes_context=True)
def page_zone(context: Any) -> PageZone:
    """The zone this page's times are in (the middleware's, else worked out again)."""
    request = context.get("request")
    if request is None:
        return PageZone("UTC", "none")
    shown = getattr(request, "page_zone", None)
    return shown if isinstance(shown, PageZone) else request_zone(request)
