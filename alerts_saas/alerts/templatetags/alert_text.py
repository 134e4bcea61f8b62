"""An alert's own words on its pages: its description with its web addresses as links."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from alerts_saas.alerts.links import linked

register = template.Library()


@register.filter
def with_links(text: str) -> SafeString:
    """The text, escaped, each http(s) address in it a link (`links.linked`)."""
    return linked(str(text))
