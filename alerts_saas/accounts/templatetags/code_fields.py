"""`{{ form.code|one_time_code }}`: a sign-in code field as a phone should offer it."""

from __future__ import annotations

from django import template
from django.forms import BoundField

register = template.Library()


@register.filter
def one_time_code(field: BoundField) -> BoundField:
    """The number pad (codes, recovery codes too, are digits) and the code the phone got."""
    field.field.widget.attrs.update(inputmode="numeric", autocomplete="one-time-code")
    return field


@register.filter
def focused(field: BoundField) -> BoundField:
    """The field has the keyboard when the page opens (the sign-in code: nothing else to do)."""
    field.field.widget.attrs["autofocus"] = True
    return field
