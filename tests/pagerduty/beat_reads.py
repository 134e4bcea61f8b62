"""Helpers of the tests of the integration's beat reads (the services' check and the access
check): an account connected through OAuth with real sandbox tokens, the REST calls the
sandbox saw, and an account's access line on Integrations."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.utils import timezone

from alerts_saas.accounts.models import Organization
from integrations.pagerduty.models import PagerDutyAccount
from tests.pagerduty_fixtures import EU_USER, US_USER


def oauth_account(
    org: Organization, pagerduty: Any, email: str = US_USER, scope: str = "write", n: int = 0
) -> PagerDutyAccount:
    """An account connected through OAuth by `org`, with real sandbox tokens of its own (in
    the EU for EU_USER); `n` tells several of one organization apart."""
    token = pagerduty.issue_token(email, scope=scope)
    region = "eu" if email == EU_USER else "us"
    pd = pagerduty.account(region)
    return PagerDutyAccount.objects.create(
        organization=org,
        pd_account_id=pd["id"] if not n else f"{pd['id']}-{n}",
        subdomain=pd["subdomain"],
        name=f"{org.name} {region.upper()}{n or ''}",
        region=region,
        access_token=token["access_token"],
        refresh_token=token["refresh_token"],
        expires_at=timezone.now() + timedelta(seconds=int(token["expires_in"])),
        scope=scope,
        connected_by=org.memberships.get().user,
    )


def rest_calls(pagerduty: Any, host: str = "rest-us") -> list[str]:
    """The REST requests the sandbox's `host` saw, as "GET /path"."""
    return [f"{r['method']} {r['path']}" for r in pagerduty.requests_log(host)]


def access_line(client: Any, org: Organization, account: PagerDutyAccount) -> str:
    """The account's access line on Integrations, as text (a time's tag ends before its
    punctuation)."""
    page = client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    found = re.search(rf'id="access-account-{account.pk}">(.*?)</div>', page, re.S)
    assert found, "no access line"
    text = " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())
    return re.sub(r" ([).,;])", r"\1", text)
