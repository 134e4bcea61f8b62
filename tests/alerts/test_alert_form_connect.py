"""Once an account is connected, "Connect PagerDuty" on the alert form opens its service
picker (no second consent on PagerDuty), and the unsaved form comes back as after OAuth."""

from __future__ import annotations

import re

import pytest

from alerts_saas.alerts.models import Alert
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService

pytestmark = pytest.mark.django_db


def test_the_form_offers_the_connected_accounts_picker(admin_client, org, connected_service):
    account = connected_service.account
    page = admin_client.get(f"/o/{org.slug}/alerts/new/").content.decode()
    more = f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{account.pk}/services/more/"
    button = re.search(rf'<button[^>]*formaction="{re.escape(more)}"[^>]*>([^<]*)</button>', page)
    assert button and button.group(1) == "Connect PagerDuty services"
    assert "Connect another account" in page  # a new account still goes through OAuth


def test_connect_from_the_form_skips_consent_and_brings_the_draft_back(
    admin_client, org, connected_service, pagerduty, form_data
):
    account = connected_service.account
    new = f"/o/{org.slug}/alerts/new/"
    data = form_data([connected_service.pk], name="Draft alert", next=new)
    response = admin_client.post(
        f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{account.pk}/services/more/",
        data,
    )
    picker = f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{account.pk}/services/"
    assert response.status_code == 302 and response["Location"] == picker  # not PagerDuty
    page = admin_client.get(picker).content.decode()
    assert "Choose the services to connect" in page
    ids = {s["name"]: s["id"] for s in pagerduty.account("us")["services"]}
    response = admin_client.post(picker, {"service": [ids["Edge Gateway"]]}, follow=True)
    assert response.redirect_chain[-1][0] == new
    page = response.content.decode()
    assert "Connected Edge Gateway. Remember to save the alert." in page
    assert 'value="Draft alert"' in page
    edge = PagerDutyService.objects.get(name="Edge Gateway")
    for service in (connected_service, edge):  # the old tick kept, the new one added
        box = re.search(rf'<input[^>]*name="targets" value="{service.pk}"[^>]*>', page)
        assert box and "checked" in box.group(0)
    assert not Alert.objects.exists()
    assert PagerDutyAccount.objects.count() == 1


def test_an_account_needing_reconnect_goes_through_consent(
    admin_client, org, connected_service, pagerduty, form_data
):
    account = connected_service.account
    PagerDutyAccount.objects.update(status=PagerDutyAccount.Status.NEEDS_RECONNECT)
    page = admin_client.get(f"/o/{org.slug}/alerts/new/").content.decode()
    assert "/services/more/" not in page
    assert ">Connect PagerDuty</button>" in page
    response = admin_client.post(
        f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{account.pk}/services/more/",
        form_data([], next=f"/o/{org.slug}/alerts/new/"),
    )
    assert response["Location"].startswith(pagerduty.identity_url + "/oauth/authorize?")


def test_another_organizations_account_is_not_found(
    admin_client, org, connected_service, make_org, make_user, client
):
    other = make_org("Globex", owner=make_user("owner@globex.example"))
    client.force_login(other.memberships.get().user)
    response = client.post(
        f"/o/{other.slug}/settings/integrations/pagerduty/accounts/"
        f"{connected_service.account.pk}/services/more/"
    )
    assert response.status_code == 404
