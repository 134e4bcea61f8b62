"""A reconnect that lands while a worker refreshes with the old refresh token: the worker
read the account before the reconnect, so whatever PagerDuty answers it about the old
grant must not touch the new one (the reconnect bumps `token_version`)."""

from __future__ import annotations

import pytest

from integrations.pagerduty.models import PagerDutyAccount
from integrations.pagerduty.tokens import refresh_tokens

pytestmark = pytest.mark.django_db


def test_the_old_grant_refused_after_a_reconnect_leaves_the_account_connected(
    admin_client, connect, pagerduty
):
    account = connect(admin_client)
    in_flight = PagerDutyAccount.objects.get(pk=account.pk)  # a worker's read, before...
    reconnected = connect(admin_client)  # ...the admin reconnects through OAuth
    assert reconnected.access_token != in_flight.access_token
    assert pagerduty.revoke_tokens(refresh_token=in_flight.refresh_token) == 1

    current = refresh_tokens(in_flight)  # PagerDuty refuses the old refresh token

    account.refresh_from_db()
    assert account.status == PagerDutyAccount.Status.ACTIVE
    assert account.status_detail == "" and account.refused_at is None
    assert account.access_token == reconnected.access_token
    assert account.refresh_token == reconnected.refresh_token
    assert current.access_token == reconnected.access_token
    assert account.token_version == in_flight.token_version + 1


def test_a_stale_refresh_that_succeeds_does_not_overwrite_the_new_grant(admin_client, connect):
    account = connect(admin_client)
    in_flight = PagerDutyAccount.objects.get(pk=account.pk)
    reconnected = connect(admin_client)

    current = refresh_tokens(in_flight)  # the old grant still works in PagerDuty

    account.refresh_from_db()
    assert account.access_token == reconnected.access_token
    assert account.refresh_token == reconnected.refresh_token
    assert current.access_token == reconnected.access_token


def test_a_first_connect_starts_at_version_0_and_each_reconnect_bumps_it(admin_client, connect):
    first = connect(admin_client)
    assert first.token_version == 0
    again = connect(admin_client)
    assert again.pk == first.pk
    assert again.token_version == 1  # read back, not the expression that set it
    again.refresh_from_db()
    assert again.token_version == 1
