"""The time-zone `<select>` (hundreds of zones), drawn from one string built per process.

Django's `Select` makes a widget context per option, about 20 ms per render for the 550
zones of `times.zones()`; this widget builds the options' HTML once and marks the chosen
one by a string replace. Forms keep their `ChoiceField` (its choices validate).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from alerts_saas.accounts.times import zone_label, zones


def zone_choices() -> list[tuple[str, str]]:
    """Each zone as a choice: the IANA name, and it as people read it."""
    return [(name, zone_label(name)) for name in zones()]


@cache
def _options() -> str:
    return "".join(
        f'<option value="{escape(name)}">{escape(label)}</option>' for name, label in zone_choices()
    )


class ZoneSelect(forms.Select):
    """A `<select>` of `zones()`, the given zone selected."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        options = _options()
        chosen = str(value or "")
        if chosen in zones():
            mark = f'<option value="{escape(chosen)}">'
            options = options.replace(mark, mark[:-1] + " selected>", 1)
        opening = f'<select name="{escape(name)}"{flatatt(final)}>'
        return mark_safe(f"{opening}{options}</select>")  # noqa: S308 - all escaped
