"""Access tokens are refreshed before they expire and after a 401; a failed refresh asks
for a reconnect, and deliveries keep working meanwhile."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.pagerduty.models import PagerDutyAccount
from integrations.pagerduty.rest import AccountApi, PagerDutyApiError
from integrations.pagerduty.tasks import refresh_expiring_tokens

pytestmark = pytest.mark.django_db


def _refresh_grants(pagerduty) -> list:
    return [
        r
        for r in pagerduty.requests_log("identity")
        if r["path"].endswith("/oauth/token") and r["method"] == "POST"
    ]


def test_beat_refreshes_tokens_before_they_expire(admin_client, connect, pagerduty):
    account = connect(admin_client)
    old_access, old_refresh = account.access_token, account.refresh_token
    assert refresh_expiring_tokens() == 0  # not due yet: nothing happens
    PagerDutyAccount.objects.filter(pk=account.pk).update(
        expires_at=timezone.now() + timedelta(minutes=5)
    )
    tokens_before = len(_refresh_grants(pagerduty))
    assert refresh_expiring_tokens() == 1
    account.refresh_from_db()
    assert len(_refresh_grants(pagerduty)) == tokens_before + 1
    assert account.access_token != old_access
    assert account.refresh_token != old_refresh  # PagerDuty rotates it
    assert account.token_version == 1
    assert not account.expires_soon()
    assert AccountApi(account).me()["email"] == "oncall@acme.example"


def test_a_401_refreshes_once_and_retries(admin_client, connect, pagerduty):
    account = connect(admin_client)
    pagerduty.expire_tokens(access_token=account.access_token)
    me = AccountApi(account).me()
    assert me["email"] == "oncall@acme.example"
    account.refresh_from_db()
    assert account.token_version == 1
    assert account.status == PagerDutyAccount.Status.ACTIVE


def test_a_lost_race_uses_the_winners_tokens(admin_client, connect):
    account = connect(admin_client)
    stale = PagerDutyAccount.objects.get(pk=account.pk)
    from integrations.pagerduty.tokens import refresh_tokens

    winner = refresh_tokens(account)  # another process refreshed first
    loser = refresh_tokens(stale)  # the stale refresh token is refused by PagerDuty...
    assert loser.token_version == winner.token_version == 1  # ...and the winner's tokens are used
    assert loser.access_token == winner.access_token
    assert loser.status == PagerDutyAccount.Status.ACTIVE


def test_a_refused_refresh_asks_for_a_reconnect(admin_client, org, connect, pagerduty):
    account = connect(admin_client)
    pagerduty.revoke_tokens(all=True)
    with pytest.raises(PagerDutyApiError, match="Reconnect the account"):
        AccountApi(account).services()
    account.refresh_from_db()
    assert account.needs_reconnect
    page = admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert f"PagerDuty account {account.name} needs reconnecting." in page
    assert f"Reconnect {account.name}</button>" in page
    # Reconnecting through OAuth makes it whole again, on the same row.
    connect(admin_client)
    account.refresh_from_db()
    assert account.status == PagerDutyAccount.Status.ACTIVE
    assert PagerDutyAccount.objects.count() == 1


def test_pagerduty_unreachable_during_refresh_is_not_a_reconnect(admin_client, connect, pagerduty):
    account = connect(admin_client)
    PagerDutyAccount.objects.filter(pk=account.pk).update(expires_at=timezone.now())
    pagerduty.fault("identity", "500", count=1)
    assert refresh_expiring_tokens() == 0
    account.refresh_from_db()
    assert account.status == PagerDutyAccount.Status.ACTIVE
    assert refresh_expiring_tokens() == 1  # the next beat succeeds
