"""Renaming an organization's URL name keeps the links already sent working (PagerDuty's
incidents link to /o/<old>/alerts/64/): its members are led to the same page under the new
name; nobody else learns anything; no other organization takes the old name until an admin
releases it."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from alerts_saas.accounts.models import FormerSlug, Organization
from alerts_saas.alerts.models import Alert

pytestmark = pytest.mark.django_db


def _rename(client: Client, org: Organization, slug: str) -> None:
    response = client.post(f"/o/{org.slug}/settings/", {"name": org.name, "slug": slug})
    assert response.status_code == 302, response.content.decode()[:500]
    org.refresh_from_db()
    assert org.slug == slug


def test_an_old_link_leads_a_member_to_the_same_page(admin_client, org: Organization) -> None:
    alert = Alert.objects.create(organization=org, name="Checkout errors", threshold=3)
    old = org.slug
    _rename(admin_client, org, "acme-payments")
    response = admin_client.get(f"/o/{old}/alerts/{alert.pk}/?firings_page=2")
    assert response.status_code == 302
    assert response["Location"] == f"/o/acme-payments/alerts/{alert.pk}/?firings_page=2"
    assert admin_client.get(response["Location"]).status_code == 200
    # Renamed again: the first name still leads here, and so does the second.
    _rename(admin_client, org, "acme-checkout")
    for name in (old, "acme-payments"):
        moved = admin_client.get(f"/o/{name}/alerts/{alert.pk}/")
        assert moved["Location"] == f"/o/acme-checkout/alerts/{alert.pk}/"


def test_others_and_forms_get_nothing_from_an_old_name(
    admin_client, org: Organization, make_org, make_user
) -> None:
    old = org.slug
    _rename(admin_client, org, "acme-payments")
    outsider = make_user("eve@elsewhere.example")
    make_org("Elsewhere", owner=outsider)
    client = Client()
    client.force_login(outsider)
    assert client.get(f"/o/{old}/alerts/").status_code == 404  # as for any unknown name
    posted = admin_client.post(f"/o/{old}/settings/", {"name": "X", "slug": "x"})
    assert posted.status_code == 404  # a form is not sent on elsewhere
    org.refresh_from_db()
    assert (org.name, org.slug) == ("Acme Ops", "acme-payments")


def test_no_other_organization_takes_an_old_name_until_it_is_released(
    admin_client, org: Organization, make_org, make_user
) -> None:
    old = org.slug
    _rename(admin_client, org, "acme-payments")
    other_owner = make_user("olga@other.example")
    other = make_org("Other", owner=other_owner)
    client = Client()
    client.force_login(other_owner)
    refused = client.post(f"/o/{other.slug}/settings/", {"name": "Other", "slug": old})
    assert "That URL name is taken." in html.unescape(refused.content.decode())
    created = client.post("/orgs/new/", {"name": "Acme Ops"})  # the name would suggest it
    assert created.status_code == 302 and created["Location"] != f"/o/{old}/"
    # The settings page says old links keep working, and lets an admin release the name.
    page = html.unescape(admin_client.get("/o/acme-payments/settings/").content.decode())
    assert "links already sent (in PagerDuty incidents, emails) keep working" in page
    former = FormerSlug.objects.get(slug=old)
    release = f"/o/acme-payments/settings/former-names/{former.pk}/release/"
    assert re.search(rf'action="{release}"', page)
    assert (
        client.post(f"/o/{other.slug}/settings/former-names/{former.pk}/release/").status_code
        == 404
    )
    assert admin_client.post(release).status_code == 302
    assert admin_client.get(f"/o/{old}/alerts/").status_code == 404
    _rename(client, other, old)


def test_taking_back_a_former_name_forgets_it_as_former(admin_client, org: Organization) -> None:
    old = org.slug
    _rename(admin_client, org, "acme-payments")
    _rename(admin_client, org, old)
    assert list(FormerSlug.objects.values_list("slug", flat=True)) == ["acme-payments"]
    assert admin_client.get(f"/o/{old}/alerts/").status_code == 200
