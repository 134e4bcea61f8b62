"""A mute the alert page refuses says why beside the field, with the form open again as it
was filled in (r15 nit 18): "Not muted: That time has passed: choose a later one." showed
only at the top, a capital after the colon, nothing next to "Until"."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, MuteWindow

pytestmark = pytest.mark.django_db


def _section(page: str, details: str) -> str:
    found = re.search(rf'<details id="{details}"[^>]*>.*?</details>', page, re.S)
    assert found is not None, details
    return html.unescape(found.group(0))


def test_a_time_passed_is_said_beside_until_in_the_open_form(
    org: Organization, admin_client: Client
) -> None:
    alert = Alert.objects.create(organization=org, name="Billing heartbeat", threshold=1)
    url = f"/o/{org.slug}/alerts/{alert.pk}/"
    past = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    posted = {"kind": "once", "mute-length": "until", "mute-until": past, "mute-reason": "deploy"}
    page = admin_client.post(f"{url}mute/", posted, follow=True).content.decode()

    assert "Not muted: that time has passed: choose a later one." in html.unescape(page)
    form = _section(page, "mute-now")
    assert form.startswith('<details id="mute-now" open>')
    until = re.search(r'<div class="field field-error">.*?</div>', form, re.S)
    assert until is not None
    assert 'name="mute-until"' in until.group(0) and f'value="{past}"' in until.group(0)
    assert "<li>That time has passed: choose a later one.</li>" in until.group(0)
    assert 'value="deploy"' in form  # what was typed stays
    assert not _section(page, "mute-weekly").startswith('<details id="mute-weekly" open>')
    assert not MuteWindow.objects.exists()

    # Said once: the page read again shows the form as new.
    again = _section(admin_client.get(url).content.decode(), "mute-now")
    assert again.startswith('<details id="mute-now">') and "errorlist" not in again


def test_a_weekly_mute_with_no_day_opens_the_weekly_form_with_its_error(
    org: Organization, admin_client: Client
) -> None:
    alert = Alert.objects.create(organization=org, name="Billing heartbeat", threshold=1)
    posted = {"kind": "weekly", "weekly-start": "02:00", "weekly-end": "04:00"}
    page = admin_client.post(f"/o/{org.slug}/alerts/{alert.pk}/mute/", posted, follow=True)
    weekly = _section(page.content.decode(), "mute-weekly")
    assert weekly.startswith('<details id="mute-weekly" open>')
    assert "errorlist" in weekly
