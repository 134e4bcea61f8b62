"""Tripwire's Resolve of a firing whose condition still holds resolves it and fires it again
at the next check, with a new incident nobody has acknowledged (r15 #5): the button says
so ("Resolve and page again"), and its confirmation too. When that firing would page nobody
(a mute holds it) it says "Resolve and fire again"; once the condition cleared, "Resolve"."""

from __future__ import annotations

import html
import re

import pytest
from django.utils import timezone

from alerts_saas.alerts.models import Firing
from tests.alerts.test_alert_page import _alert, _events
from tests.alerts.test_resolved_holding import _muted_for

pytestmark = pytest.mark.django_db


def _form(page: bytes) -> tuple[str, str]:
    """The Resolve form's button words and its confirmation."""
    found = re.search(r'<form [^>]*id="resolve-firing".*?</form>', page.decode(), re.S)
    assert found is not None
    form = html.unescape(found.group(0))
    button = re.search(r"<button [^>]*>(.*?)</button>", form, re.S)
    confirm = re.search(r'data-confirm="([^"]*)"', form)
    assert button and confirm
    return button.group(1).strip(), confirm.group(1)


def test_resolve_while_the_condition_holds_says_it_pages_again(org, make_service, admin_client):
    alert = _alert(org, make_service())
    _events(org, 3)

    button, confirm = _form(admin_client.get(alert.get_absolute_url()).content)
    assert button == "Resolve and page again"
    assert confirm == (
        "Resolves the incidents in PagerDuty for “Checkout errors”. Its condition still "
        "holds, so it fires again at the next check and pages again, with a new incident "
        "in PagerDuty that nobody has acknowledged. Resolve it?"
    )


def test_resolve_of_a_muted_alert_says_it_fires_again_but_promises_no_page(
    org, make_service, admin_client
):
    alert = _alert(org, make_service())
    _events(org, 3)
    _muted_for(org, 30, alert_id=alert.pk)

    button, confirm = _form(admin_client.get(alert.get_absolute_url()).content)
    assert button == "Resolve and fire again"
    assert "pages again" not in confirm


def test_resolve_once_the_condition_cleared_is_plain_resolve(org, make_service, admin_client):
    alert = _alert(org, make_service(), auto_resolve=False)
    [firing] = _events(org, 3)
    Firing.objects.filter(pk=firing.pk).update(condition_cleared_at=timezone.now())

    button, confirm = _form(admin_client.get(alert.get_absolute_url()).content)
    assert button == "Resolve"
    assert confirm == "Resolves the incidents in PagerDuty for “Checkout errors”. Resolve it?"
