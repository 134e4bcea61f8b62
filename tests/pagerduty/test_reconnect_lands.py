"""Reconnecting a PagerDuty account that needed it lands back on Integrations, saying it is
reconnected and that nothing more is needed: its services stay connected. A first connect,
and a reconnect pressed from an alert's form, still go on to the service picker. Through the
sandbox's OAuth consent and callback, end to end."""

from __future__ import annotations

import re

import pytest

from integrations.pagerduty.models import PagerDutyAccount
from integrations.pagerduty.rest import AccountApi, PagerDutyApiError

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _withdrawn(account: PagerDutyAccount, pagerduty) -> None:
    """PagerDuty withdraws Tripwire's access; the next call finds out."""
    pagerduty.revoke_tokens(all=True)
    with pytest.raises(PagerDutyApiError):
        AccountApi(account).services()
    account.refresh_from_db()
    assert account.needs_reconnect


def test_reconnecting_lands_on_integrations_saying_so(
    admin_client, org, connected_service, authorize, pagerduty
) -> None:
    account = connected_service.account
    _withdrawn(account, pagerduty)
    integrations = f"/o/{org.slug}/settings/integrations/"
    page = admin_client.get(integrations).content.decode()
    assert f"Reconnect {account.name}</button>" in page

    # "Reconnect acme-us" (no form to return to), consent on PagerDuty, and back.
    response = admin_client.get(authorize(admin_client))
    assert response.status_code == 302
    assert response["Location"] == integrations
    landed = _text(admin_client.get(integrations).content.decode())
    assert (
        f"{account.name} reconnected: acknowledging and resolving from Tripwire, seeing who is "
        "on call, and incident updates through it work again. Its services stay connected as "
        "they were; nothing more to do." in landed
    )
    assert f"{account.name} needs reconnecting" not in landed
    assert f"Reconnect {account.name}" not in landed
    assert connected_service.name in landed
    account.refresh_from_db()
    assert account.status == PagerDutyAccount.Status.ACTIVE
    assert list(account.services.all()) == [connected_service]


def test_a_first_connect_goes_on_to_the_service_picker(admin_client, org, authorize) -> None:
    response = admin_client.get(authorize(admin_client))
    account = PagerDutyAccount.objects.get(organization=org)
    assert response["Location"] == (
        f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{account.pk}/services/"
    )


def test_a_reconnect_from_an_alert_form_goes_on_to_choose_its_services(
    admin_client, org, connected_service, authorize, pagerduty
) -> None:
    account = connected_service.account
    _withdrawn(account, pagerduty)
    response = admin_client.get(authorize(admin_client, next=f"/o/{org.slug}/alerts/new/"))
    assert response["Location"] == (
        f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{account.pk}/services/"
    )
