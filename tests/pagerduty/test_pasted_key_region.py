"""A key pasted with the wrong region: PagerDuty's refusal means "no such key in this
region", so the advice checks the region first, and pasting the same key again with the
other region corrects that entry (in the same organization only). Members are told whom to
ask, not given actions they don't have."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts_saas.accounts.models import Role
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, PagerDutyService

pytestmark = pytest.mark.django_db


def _base(org) -> str:
    return f"/o/{org.slug}/settings/integrations/pagerduty"


def _eu_key(pagerduty) -> str:
    service = next(s for s in pagerduty.account("eu")["services"] if s["name"] == "Search EU")
    return str(pagerduty.add_integration(service["id"])["integration_key"])


def _paste(client: Client, org, key: str, region: str, name: str = "Billing EU"):
    return client.post(
        f"{_base(org)}/keys/", {"name": name, "integration_key": key, "region": region}
    )


def _test_event(client: Client, org, service: PagerDutyService) -> str:
    """Send a test event to the service and deliver it; its final status."""
    client.post(f"{_base(org)}/services/{service.pk}/test/", {"confirm": "1"})
    delivery = Delivery.objects.filter(service=service, event_action="trigger").latest("pk")
    return engine.attempt(delivery.pk)


def test_an_eu_key_pasted_as_us_is_advised_by_region_and_corrected_by_pasting_again(
    admin_client, org, pagerduty
):
    key = _eu_key(pagerduty)
    assert _paste(admin_client, org, key, "us").status_code == 302
    service = PagerDutyService.objects.get()
    assert _test_event(admin_client, org, service) == Delivery.Status.FAILED

    row = admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert (
        "Check the region: this key is not known to PagerDuty in the United States. If the "
        "integration is in the European Union, switch this service to it with the button "
        "below, or paste the same key again with region “European Union”."
    ) in row
    # On Integrations, with the button just below: not sent to the page it is read on.
    assert "” in Integrations" not in row
    # PagerDuty never took an event for it: a typo or the region, not a removed integration.
    assert "has never taken an event for it, so a typo or the wrong region is likelier" in row
    assert "probably removed in PagerDuty" not in row
    assert row.index("Check the region") < row.index("copy the key again")

    # Pasting it again with the other region corrects this entry; no second one.
    response = _paste(admin_client, org, key, "eu", name="Billing EU again")
    assert response.status_code == 302
    page = admin_client.get(response["Location"]).content.decode()
    assert "Billing EU now sends to PagerDuty in the European Union." in page
    assert "already in use" not in page
    service.refresh_from_db()
    assert (service.name, service.region, service.refused_at) == ("Billing EU", "eu", None)
    assert PagerDutyService.objects.count() == 1
    assert "Refused by PagerDuty" not in page
    assert _test_event(admin_client, org, service) == Delivery.Status.DELIVERED

    # The same key and the same region again is still the duplicate it is.
    response = _paste(admin_client, org, key, "eu")
    assert response.status_code == 400
    assert "This key is already in use by “Billing EU”" in response.content.decode()


def test_only_the_organizations_own_pasted_entry_changes_region(
    admin_client, org, pagerduty, make_org, make_user, connected_service
):
    key = _eu_key(pagerduty)
    other = make_org("Globex", owner=make_user("owner@globex.example"))
    globex = Client()
    globex.force_login(other.memberships.get().user)
    assert _paste(globex, other, key, "us", name="Globex billing").status_code == 302
    # Acme pasting the same key as EU adds its own service; Globex's stays US.
    assert _paste(admin_client, org, key, "eu").status_code == 302
    regions = dict(PagerDutyService.objects.values_list("name", "region"))
    assert regions["Globex billing"] == "us" and regions["Billing EU"] == "eu"
    # A connected service's region is its account's: its key pasted as EU is refused.
    response = _paste(admin_client, org, connected_service.integration_key, "eu")
    assert response.status_code == 400
    assert "connected through PagerDuty account" in response.content.decode()
    connected_service.refresh_from_db()
    assert connected_service.region == "us"


def test_a_member_is_told_whom_to_ask(org, pagerduty, add_member, admin_client):
    key = _eu_key(pagerduty)
    _paste(admin_client, org, key, "us")
    service = PagerDutyService.objects.get()
    assert _test_event(admin_client, org, service) == Delivery.Status.FAILED
    member = add_member(org, "member@acme.example", Role.MEMBER)
    client = Client()
    client.force_login(member.user)
    row = client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert (
        "Check the region: this key is not known to PagerDuty in the United States. Ask an "
        "owner or admin of Acme Ops to switch it to the European Union if the integration "
        "is there, or else paste the key again (it is probably mistyped)"
    ) in row
    assert "delete this service" not in row and "Delete…" not in row
    assert "Switch to European Union</button>" not in row
    response = client.post(f"{_base(org)}/services/{service.pk}/region/", {"region": "eu"})
    assert response.status_code == 403
    service.refresh_from_db()
    assert service.region == "us"


def test_switch_to_the_other_region_in_one_click(admin_client, org, pagerduty, connected_service):
    key = _eu_key(pagerduty)
    _paste(admin_client, org, key, "us")
    service = PagerDutyService.objects.get(name="Billing EU")
    assert _test_event(admin_client, org, service) == Delivery.Status.FAILED
    page = admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert page.count("Switch to European Union</button>") == 1  # not on the connected one
    response = admin_client.post(
        f"{_base(org)}/services/{service.pk}/region/", {"region": "eu"}, follow=True
    )
    page = response.content.decode()
    assert "Billing EU now sends to PagerDuty in the European Union." in page
    assert "Refused by PagerDuty" not in page and "Switch to" not in page
    service.refresh_from_db()
    assert service.region == "eu" and service.refused_at is None
    assert _test_event(admin_client, org, service) == Delivery.Status.DELIVERED
    # A connected service's region is its account's: not switched from here.
    response = admin_client.post(
        f"{_base(org)}/services/{connected_service.pk}/region/", {"region": "eu"}
    )
    assert response.status_code == 404
    connected_service.refresh_from_db()
    assert connected_service.region == "us"
