"""OAuth 2.0 + PKCE connect flow against the sandbox, over real HTTP."""

from __future__ import annotations

import pytest
from django.db import connection

from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from tests.pagerduty_fixtures import EU_USER, query

pytestmark = pytest.mark.django_db


def test_connect_starts_an_authorization_with_pkce_and_state(
    admin_client, org, pagerduty, settings
):
    settings.SITE_URL = "http://testserver"
    response = admin_client.post(f"/o/{org.slug}/settings/integrations/pagerduty/connect/")
    assert response.status_code == 302
    assert response["Location"].startswith(pagerduty.identity_url + "/oauth/authorize?")
    params = query(response["Location"])
    assert params["client_id"] == "sandbox-client-id"
    assert params["response_type"] == "code"
    assert params["scope"] == "write"
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert len(params["state"]) >= 40
    assert params["redirect_uri"] == "http://testserver/integrations/pagerduty/callback"


def test_approve_saves_the_account_with_encrypted_tokens(admin_client, org, connect, pagerduty):
    account = connect(admin_client)
    assert account.region == "us"
    assert account.subdomain == "acme-us"
    assert account.connected_by.email == "owner@acme.example"
    assert account.access_token and account.refresh_token
    assert not account.expires_soon()
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM pagerduty_pagerdutyaccount")
        stored = cursor.fetchone()
    assert account.access_token not in stored[0]
    assert account.refresh_token not in stored[1]


def test_select_page_lists_every_service_and_searches(admin_client, org, authorize):
    response = admin_client.get(authorize(admin_client), follow=True)
    body = response.content.decode()
    assert "139 services · page 1 of 6." in body  # two pages of 100 from the REST API
    assert "Android Sync" in body and "Checkout API 024" in body  # by name, 25 a page
    assert "Checkout API 025" not in body
    account = PagerDutyAccount.objects.get()
    url = f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{account.pk}/services/"
    last = admin_client.get(url, {"page": "6"}).content.decode()
    assert "Warehouse Loader" in last and "page 6 of 6" in last
    found = admin_client.get(url, {"q": "checkout api 12"}).content.decode()
    assert "10 of 139 services match “checkout api 12” by name or team." in found  # 120-129
    assert "Android Sync" not in found


def test_connecting_two_services_creates_our_integrations(admin_client, org, connect, pagerduty):
    account = connect(admin_client)
    services = {s["name"]: s["id"] for s in pagerduty.account("us")["services"]}
    chosen = [services["Checkout API 007"], services["Checkout API 123"]]
    url = f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{account.pk}/services/"
    response = admin_client.post(url, {"service": chosen}, follow=True)
    assert "Connected Checkout API 007, Checkout API 123." in response.content.decode()
    rows = PagerDutyService.objects.filter(account=account).order_by("name")
    assert [r.name for r in rows] == ["Checkout API 007", "Checkout API 123"]
    on_pagerduty = {s["id"]: s for s in pagerduty.account("us")["services"]}
    for row in rows:
        integration = next(
            i
            for i in on_pagerduty[row.pd_service_id]["integrations"]
            if i["id"] == row.integration_id
        )
        assert integration["name"] == "Tripwire (Acme Ops)"  # no internal ids
        assert integration["integration_key"] == row.integration_key
        assert row.created_integration
        assert row.html_url.startswith("https://acme-us.pagerduty.com/")
    # Connecting again reuses our integration instead of adding a second one.
    admin_client.post(url, {"service": chosen[:1]})
    again = {s["id"]: s for s in pagerduty.account("us")["services"]}[chosen[0]]
    assert len(again["integrations"]) == 1


def test_a_partial_failure_connects_the_rest_and_says_why(admin_client, org, connect, pagerduty):
    account = connect(admin_client)
    services = {s["name"]: s["id"] for s in pagerduty.account("us")["services"]}
    url = f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{account.pk}/services/"
    # The sandbox user is not on the Finance team, so PagerDuty refuses General Ledger.
    response = admin_client.post(
        url,
        {"service": [services["General Ledger"], services["Checkout API 001"]]},
        follow=True,
    )
    body = response.content.decode()
    assert "Connected Checkout API 001." in body
    assert (
        "General Ledger was not connected: Access Denied: You do not have permission to "
        "modify the service &#x27;General Ledger&#x27;"
    ) in body
    assert list(PagerDutyService.objects.values_list("name", flat=True)) == ["Checkout API 001"]


def test_deny_returns_to_the_start_and_saves_nothing(admin_client, org, authorize):
    callback = authorize(admin_client, approve=False)
    assert query(callback)["error"] == "access_denied"
    response = admin_client.get(callback, follow=True)
    assert response.redirect_chain[-1][0] == f"/o/{org.slug}/settings/integrations/"
    assert "PagerDuty access was not granted" in response.content.decode()
    assert not PagerDutyAccount.objects.exists()


def test_a_tampered_state_is_refused_in_words(admin_client, org, authorize):
    callback = authorize(admin_client)
    state = query(callback)["state"]
    response = admin_client.get(callback.replace(state, state[:-2] + "xx"))
    assert response.status_code == 400
    assert "not one this browser started" in response.content.decode()
    assert not PagerDutyAccount.objects.exists()


def test_an_id_token_from_another_issuer_is_refused_in_words(
    admin_client, org, authorize, pagerduty
):
    pagerduty.configure(id_token_issuer="https://identity.example.net/global/oauth/anonymous")
    response = admin_client.get(authorize(admin_client))
    assert response.status_code == 400
    assert "an identity host this site does not trust" in response.content.decode()
    assert "nothing was connected" in response.content.decode()
    assert not PagerDutyAccount.objects.exists()


def test_a_state_works_once_and_a_reused_code_fails(admin_client, org, authorize):
    callback = authorize(admin_client)
    assert admin_client.get(callback).status_code == 302
    PagerDutyAccount.objects.all().delete()
    # The same callback again: the state was used up.
    assert admin_client.get(callback).status_code == 400
    # A fresh state with the old code: PagerDuty refuses the code, nothing is saved.
    fresh = query(authorize(admin_client))["state"]
    old_code = query(callback)["code"]
    response = admin_client.get(f"/integrations/pagerduty/callback?code={old_code}&state={fresh}")
    assert response.status_code == 400
    assert "PagerDuty refused the authorization" in response.content.decode()
    assert not PagerDutyAccount.objects.exists()


def test_the_state_is_bound_to_the_user(admin_client, org, authorize, add_member, client):
    callback = authorize(admin_client)
    other = add_member(org, "admin2@acme.example", "admin")
    admin_client.force_login(other.user)  # same browser session cookie jar, other user
    response = admin_client.get(callback)
    assert response.status_code == 400
    assert not PagerDutyAccount.objects.exists()


def test_an_eu_account_talks_to_the_eu_hosts(admin_client, org, connect, pagerduty):
    account = connect(admin_client, email=EU_USER)
    assert account.region == "eu"
    assert account.subdomain == "acme-eu"
    before = len(pagerduty.requests_log("rest-eu"))
    url = f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{account.pk}/services/"
    assert "Billing EU" in admin_client.get(url).content.decode()
    assert len(pagerduty.requests_log("rest-eu")) > before
    assert not [r for r in pagerduty.requests_log("rest-us") if "/services" in r["path"]]
    # Its services' events go to the EU events host too.
    billing = next(
        s["id"] for s in pagerduty.account("eu")["services"] if s["name"] == "Billing EU"
    )
    admin_client.post(url, {"service": [billing]})
    service = PagerDutyService.objects.get(account=account)
    assert service.region == "eu"
    admin_client.post(
        f"/o/{org.slug}/settings/integrations/pagerduty/services/{service.pk}/test/",
        {"confirm": "1"},
    )
    from integrations.pagerduty import delivery as engine
    from integrations.pagerduty.models import Delivery

    trigger = Delivery.objects.get(event_action="trigger")
    assert engine.attempt(trigger.pk) == Delivery.Status.DELIVERED
    [received] = pagerduty.events(routing_key=service.integration_key)
    assert received["host"] == "events-eu"


def test_members_cannot_connect_delete_or_disconnect(
    org, add_member, client, connect, admin_client, connected_service
):
    member = add_member(org, "member@acme.example")
    client.force_login(member.user)
    base = f"/o/{org.slug}/settings/integrations/pagerduty"
    account = connected_service.account
    assert client.post(f"{base}/connect/").status_code == 403
    assert (
        client.post(
            f"{base}/keys/", {"name": "x", "integration_key": "a" * 32, "region": "us"}
        ).status_code
        == 403
    )
    assert client.post(f"{base}/services/{connected_service.pk}/delete/").status_code == 403
    assert client.post(f"{base}/accounts/{account.pk}/disconnect/").status_code == 403
    assert client.get(f"{base}/accounts/{account.pk}/services/").status_code == 403
    assert PagerDutyService.objects.filter(pk=connected_service.pk).exists()
    page = client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert "Checkout API 001" in page
    assert "Connect PagerDuty</button>" not in page


def test_same_named_organizations_never_share_an_integration(
    admin_client, org, connect, pagerduty, make_org, make_user
):
    """Our integration is recognised by the id we stored for the organization, not by its
    name, which another tenant may share: each gets its own integration and key."""
    from integrations.pagerduty.provisioning import (
        our_integration,
        our_integration_ids,
        provision_services,
    )

    account = connect(admin_client)
    ids = {s["name"]: s["id"] for s in pagerduty.account("us")["services"]}
    url = f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{account.pk}/services/"
    admin_client.post(url, {"service": [ids["Checkout API 009"]]})
    ours = PagerDutyService.objects.get(organization=org)
    twin_owner = make_user("twin@acme.example")
    twin = make_org("Acme Ops", owner=twin_owner)  # same name, another tenant
    twin_account = PagerDutyAccount.objects.create(
        organization=twin,
        pd_account_id=account.pd_account_id,
        subdomain=account.subdomain,
        name=account.name,
        region=account.region,
        access_token=account.access_token,
        refresh_token=account.refresh_token,
        expires_at=account.expires_at,
        scope=account.scope,
        connected_by=twin_owner,
    )

    def listed() -> dict:
        return next(
            s for s in pagerduty.account("us")["services"] if s["id"] == ids["Checkout API 009"]
        )

    assert our_integration(listed(), our_integration_ids(org))["id"] == ours.integration_id
    assert our_integration(listed(), our_integration_ids(twin)) is None
    result = provision_services(twin_account, [listed()], twin_owner)
    theirs = result.connected[0]
    assert theirs.integration_id != ours.integration_id
    assert theirs.integration_key != ours.integration_key
    assert [i["name"] for i in listed()["integrations"]] == ["Tripwire (Acme Ops)"] * 2


def test_deny_from_the_alert_form_brings_the_draft_back(admin_client, org, authorize):
    data = {"name": "Unsaved idea", "next": f"/o/{org.slug}/alerts/new/"}
    response = admin_client.get(authorize(admin_client, approve=False, **data), follow=True)
    assert response.redirect_chain[-1][0] == f"/o/{org.slug}/alerts/new/"
    assert 'value="Unsaved idea"' in response.content.decode()
    assert "PagerDuty access was not granted" in response.content.decode()
