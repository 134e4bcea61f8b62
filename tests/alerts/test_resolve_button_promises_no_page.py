"""The Resolve button of a firing whose condition still holds says it fires again at the
next check, and no more: whether that firing pages (a mute holds it, a path pages nobody)
the alert page says once it is resolved (`next_firing`), so the button promises no page."""

from __future__ import annotations

import html
import re

import pytest

from tests.alerts.test_alert_page import _alert, _events
from tests.alerts.test_resolved_holding import _muted_for

pytestmark = pytest.mark.django_db


def _resolve_form(page: str) -> str:
    """The Resolve form, as words, its confirmation included."""
    found = re.search(r'<form [^>]*id="resolve-firing".*?</form>', page, re.S)
    assert found is not None, page
    return html.unescape(found.group(0))


def test_muted_alert_resolve_button_promises_no_page(org, make_service, admin_client):
    alert = _alert(org, make_service())
    _events(org, 3)
    _muted_for(org, 30, alert_id=alert.pk)

    form = _resolve_form(admin_client.get(alert.get_absolute_url()).content.decode())
    assert "Its condition still holds, so it fires again at the next check. Resolve it?" in form
    assert "Resolve here: it fires again at the next check, as its condition still holds." in form
    assert "pages anew" not in form


def test_resolve_button_of_an_alert_paging_nobody_promises_no_page(org, admin_client):
    alert = _alert(org, None)
    _events(org, 3)

    form = _resolve_form(admin_client.get(alert.get_absolute_url()).content.decode())
    assert "fires again at the next check" in form
    assert "pages anew" not in form
