"""'Add services' for an account whose access PagerDuty withdrew (nobody knew yet): the
picker's list fails on a refused refresh, which means reconnecting, not an outage. The page
says so in plain words, with the Reconnect button, and answers 200, not a 502 with OAuth
codes."""

from __future__ import annotations

import re
from html import unescape

import pytest

pytestmark = pytest.mark.django_db


def _words(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_add_services_after_a_revoke_asks_to_reconnect(
    admin_client, org, connected_service, pagerduty
) -> None:
    account = connected_service.account
    pagerduty.revoke_tokens(all=True)
    base = f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{account.pk}/services/"

    response = admin_client.post(f"{base}more/", follow=True)

    assert response.status_code == 200
    html = response.content.decode()
    words = _words(html)
    assert (
        f"PagerDuty no longer lets Tripwire use {account.name} (access was revoked or "
        "expired). Reconnect it to list its services; pages to its services still go out "
        "with their keys." in words
    )
    assert f"Reconnect {account.name}</button>" in html
    assert "invalid_grant" not in words
    assert "could not be listed" not in words
