"""The scripts every page loads before its own (templates/base.html)."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def htmx_scripts() -> SafeString:
    """htmx; in development (DEBUG) also js/htmx-debug.js, which stands in for django-htmx's
    debug script: that one runs eval and inline styles, which the Content-Security-Policy
    refuses."""
    tags = format_html('<script src="{}" defer></script>', static("django_htmx/htmx-2.min.js"))
    if settings.DEBUG:
        tags += format_html('<script src="{}" defer></script>', static("js/htmx-debug.js"))
    return tags
