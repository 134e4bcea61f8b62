"""The account line on Integrations says what is known of PagerDuty access, and when: never
"Connected" on a token nobody has tried since. A refused refresh, seen by the service picker
or the beat's refresh, is on the account at once: its line, and the paging banner of the
very page that met it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.tasks import refresh_expiring_tokens

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _line(page: str, account: PagerDutyAccount) -> str:
    found = re.search(rf'id="access-account-{account.pk}">(.*?)</div>', page, re.S)
    assert found, "no access line"
    return _text(found.group(1))


def _integrations(client, org) -> str:
    return client.get(f"/o/{org.slug}/settings/integrations/").content.decode()


def test_the_line_says_when_access_was_last_confirmed(admin_client, org, connect):
    account = connect(admin_client)
    page = _integrations(admin_client, org)
    assert "renews automatically" not in page and "valid until" not in page
    line = _line(page, account)
    assert line.startswith("Access confirmed ") and "(connected)" in line

    PagerDutyAccount.objects.filter(pk=account.pk).update(
        expires_at=timezone.now() + timedelta(minutes=5)
    )
    assert refresh_expiring_tokens() == 1
    line = _line(_integrations(admin_client, org), account)
    assert line.startswith("Access confirmed ") and "(token refreshed)" in line


def test_a_refusal_met_in_the_picker_shows_there_and_on_integrations(
    admin_client, org, connect, pagerduty
):
    account = connect(admin_client)
    pagerduty.revoke_tokens(all=True)
    picker = f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{account.pk}/services/"
    response = admin_client.get(picker)
    assert response.status_code == 200  # a refused grant is "reconnect", not a gateway error
    page = response.content.decode()
    # The banner of this very page, not after a queued check.
    assert f"PagerDuty account {account.name} needs reconnecting" in _text(page)
    assert f"Reconnect {account.name}</button>" in page
    assert "Try again" not in page

    account.refresh_from_db()
    assert account.needs_reconnect and account.refused_at is not None
    line = _line(_integrations(admin_client, org), account)
    assert line.startswith("Needs reconnecting PagerDuty withdrew Tripwire's access at ")
    assert line.endswith(
        ". Pages still go out; reconnect it to acknowledge from Tripwire, see who is on call "
        "and manage its services."
    )
    assert "Access confirmed" not in line

    connect(admin_client)  # reconnecting mends it, and says so
    line = _line(_integrations(admin_client, org), account)
    assert line.startswith("Access confirmed ") and "(connected)" in line


def test_a_refusal_met_by_the_beat_is_on_the_account(admin_client, org, connect, pagerduty):
    account = connect(admin_client)
    pagerduty.revoke_tokens(all=True)
    PagerDutyAccount.objects.filter(pk=account.pk).update(
        expires_at=timezone.now() + timedelta(minutes=5)
    )
    assert refresh_expiring_tokens() == 0
    account.refresh_from_db()
    assert account.needs_reconnect and account.refused_at is not None
    line = _line(_integrations(admin_client, org), account)
    assert "PagerDuty withdrew Tripwire's access at " in line


def test_a_reason_ending_with_a_full_stop_is_not_given_a_second(admin_client, org, connect):
    account = connect(admin_client)
    PagerDutyService.objects.create(
        organization=org,
        account=account,
        pd_service_id="PSERV01",
        name="Android Sync",
        integration_key="0123456789abcdef0123456789abcdef",
    )
    PagerDutyAccount.objects.filter(pk=account.pk).update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT,
        status_detail="PagerDuty refused to refresh access (invalid_grant). Reconnect the "
        "account to keep managing its services.",
    )
    page = _text(_integrations(admin_client, org))
    assert "What PagerDuty said PagerDuty refused to refresh access (invalid_grant)." in page
    assert ".." not in page
