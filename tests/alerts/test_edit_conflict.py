"""The alert form saves only the version it was loaded at: a change made meanwhile (through
the API, or in another tab) is not overwritten, and the person is told what changed and
by whom, with their input kept."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from alerts_saas.audit.models import Entry
from alerts_saas.ingest.models import ApiToken, Scope
from integrations.pagerduty.models import PagerDutyService
from tests.alerts.conftest import alert_form
from tests.api_client import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(org: Organization) -> PagerDutyService:
    return PagerDutyService.objects.create(
        organization=org, name="Checkout", region="us", integration_key="a" * 32
    )


@pytest.fixture
def alert(admin_client: Client, org: Organization, service: PagerDutyService) -> Alert:
    admin_client.post(f"/o/{org.slug}/alerts/new/", alert_form([service.pk]))
    return Alert.objects.get()


def _edit(targets: list[int], **overrides: str) -> dict[str, object]:
    """The form's POST data for an edit that leaves the saved custom detail as it is."""
    return alert_form(targets, **{"details-TOTAL_FORMS": "0", **overrides})


def _carried(page: str) -> dict[str, str]:
    """A form page's hidden version fields, as the browser will post them back."""
    found = re.findall(r'name="(version|loaded_at)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in found}


def _loaded(client: Client, org: Organization, alert: Alert) -> dict[str, str]:
    return _carried(client.get(f"/o/{org.slug}/alerts/{alert.pk}/edit/").content.decode())


def test_an_api_change_made_while_editing_is_not_overwritten(
    admin_client: Client, org: Organization, service: PagerDutyService, alert: Alert
) -> None:
    loaded = _loaded(admin_client, org, alert)
    assert loaded["version"]
    _token, secret = ApiToken.issue(org, "terraform", scope=Scope.WRITE)
    Api(secret).patch(
        f"/alerts/{alert.pk}",
        {"name": "Checkout 5xx", "description": "From Terraform.", "match": {"level": "error"}},
        status=200,
    )

    # The form, loaded before that change, changes the threshold only.
    stale = _edit([service.pk], threshold="7", **loaded)
    response = admin_client.post(f"/o/{org.slug}/alerts/{alert.pk}/edit/", stale)
    body = response.content.decode()
    assert response.status_code == 409
    said = re.search(r"Changed by the API token “terraform” at \d\d:\d\d while you were[^<]*", body)
    assert said is not None, body
    assert ": name, description, level at or above." in said.group(0)
    assert "Your changes are below and were not saved: review and save again." in said.group(0)
    assert "The alert was not saved. Fix the errors below." not in body
    assert 'name="threshold" value="7"' in body  # the person's input, kept
    alert.refresh_from_db()
    assert (alert.name, alert.description, alert.threshold) == (
        "Checkout 5xx",
        "From Terraform.",
        5,
    )
    person = org.memberships.get().user.email
    assert not Entry.objects.filter(actor_label=person, action="changed").exists()

    # Saving again, from the form shown (its new version), saves what the person sees.
    again = _carried(body)
    assert again["version"] != loaded["version"]
    fresh = _edit([service.pk], threshold="7", name="Checkout 5xx", **again)
    saved = admin_client.post(f"/o/{org.slug}/alerts/{alert.pk}/edit/", fresh)
    assert saved.status_code == 302
    alert.refresh_from_db()
    assert (alert.name, alert.threshold) == ("Checkout 5xx", 7)


def test_two_tabs_of_one_person_conflict_too(
    admin_client: Client, org: Organization, service: PagerDutyService, alert: Alert
) -> None:
    first, second = _loaded(admin_client, org, alert), _loaded(admin_client, org, alert)
    url = f"/o/{org.slug}/alerts/{alert.pk}/edit/"
    assert admin_client.post(url, _edit([service.pk], name="Tab one", **first)).status_code == 302
    response = admin_client.post(url, _edit([service.pk], threshold="9", **second))
    body = response.content.decode()
    assert response.status_code == 409
    assert "Changed by you, in another tab or window, at" in body
    assert ": name." in body
    alert.refresh_from_db()
    assert (alert.name, alert.threshold) == ("Tab one", 5)


def test_a_new_alert_lands_on_the_list_page_that_shows_it(
    admin_client: Client, org: Organization, service: PagerDutyService
) -> None:
    Alert.objects.bulk_create(
        Alert(organization=org, name=f"A{n:03d}", threshold=1, window_minutes=5) for n in range(60)
    )
    response = admin_client.post(
        f"/o/{org.slug}/alerts/new/", alert_form([service.pk], name="Zebra errors"), follow=True
    )
    assert response.redirect_chain[-1][0] == f"/o/{org.slug}/alerts/?page=2"
    body = response.content.decode()
    assert "Alert “Zebra errors” saved." in body
    assert f'id="alert-{Alert.objects.get(name="Zebra errors").pk}"' in body
