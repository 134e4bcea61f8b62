"""The delete confirmation says only what deleting this alert will do (r18 review): it said
"any incident it has open in PagerDuty is resolved" for an alert with no service whose
account was disconnected (no resolve can go out), and "It stops watching events and paging
no one", as if deleting changed whom it pages. It now says whether it is firing, what is
sent and to which service, or that nothing is sent."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from integrations.pagerduty.models import PagerDutyAccount, Reason
from tests.incidents.test_gone_service_incident_words import _android_sync, _firing, _resolve

pytestmark = pytest.mark.django_db

PROMISE = "any incident it has open in PagerDuty is resolved"


def _page(client: Client, org: Organization, alert: Alert) -> str:
    response = client.get(f"/o/{org.slug}/alerts/{alert.pk}/delete/")
    assert response.status_code == 200
    article = re.search(r"<article>.*</article>", response.content.decode(), re.S)
    assert article is not None
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", article.group(0))))


def test_no_service_and_not_firing_promises_no_resolve(
    org: Organization, admin_client: Client
) -> None:
    alert = Alert.objects.create(organization=org, name="Billing by severity", threshold=1)

    page = _page(admin_client, org, alert)
    assert PROMISE not in page and "paging no one" not in page
    assert "It has no PagerDuty service, so it pages no one now." in page
    assert "It is not firing, so deleting it sends nothing to PagerDuty." in page


def test_firing_after_its_account_was_disconnected_sends_nothing(
    org: Organization, admin_client: Client
) -> None:
    service = _android_sync(org)
    alert, _firing_row, trigger = _firing(org, service)
    _resolve(trigger, Reason.DISCONNECTED)
    PagerDutyAccount.objects.filter(pk=service.account_id).delete()

    page = _page(admin_client, org, alert)
    assert PROMISE not in page and "paging no one" not in page
    assert "It is firing now" in page
    assert "No incident is open in PagerDuty for it, so deleting it sends nothing there." in page
    assert "It has no PagerDuty service, so it pages no one now." in page
    assert "It goes to" not in page


def test_firing_with_an_open_incident_says_the_resolve_and_where_it_goes(
    org: Organization, admin_client: Client
) -> None:
    service = _android_sync(org)
    alert, _firing_row, _trigger = _firing(org, service)

    page = _page(admin_client, org, alert)
    assert PROMISE not in page
    assert "Deleting it resolves its open incident in PagerDuty. It goes to Android Sync." in page
    assert "Deleting it stops it watching events and paging Android Sync." in page
    assert "It is not firing" not in page
