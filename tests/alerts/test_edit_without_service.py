"""An alert left with no PagerDuty service (its account disconnected with "Leave them paging
nobody") could not be edited at all (r18 #3): saving said "Choose at least one PagerDuty
service to page", so nobody could rename it or change its threshold until they reconnected.
It now saves without one, and saving says it pages nobody, on the page and through the API
(`warnings`: tests/api/test_alert_without_service.py). A new alert, and one that has a
service, still need one."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from integrations.pagerduty.models import PagerDutyService
from tests.alerts.conftest import alert_form

pytestmark = pytest.mark.django_db

NEEDS_ONE = "Choose at least one PagerDuty service to page."
NOBODY = "It pages nobody: it has no PagerDuty service. Choose one to page."


def _left(org: Organization) -> Alert:
    """ "Cron heartbeat", its service removed: it pages nobody."""
    return Alert.objects.create(organization=org, name="Cron heartbeat", threshold=5)


def _edit(client: Client, alert: Alert, targets: list[int], **fields: Any) -> Any:
    url = f"/o/{alert.organization.slug}/alerts/{alert.pk}/edit/"
    return client.post(url, alert_form(targets, **fields))


def test_an_alert_left_without_a_service_can_be_renamed_and_says_it_pages_nobody(
    org: Organization, admin_client: Client
) -> None:
    alert = _left(org)
    edit = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/edit/").content.decode()
    assert "It pages nobody now: it has no PagerDuty service." in edit

    response = _edit(admin_client, alert, [], name="Nightly cron", threshold="3")
    assert response.status_code == 302, response.content.decode()[:2000]
    alert.refresh_from_db()
    assert (alert.name, alert.threshold) == ("Nightly cron", 3)
    assert not alert.targets.exists()
    [said] = get_messages(response.wsgi_request)
    assert said.level_tag == "warning"
    assert str(said).startswith(f"Alert “Nightly cron” saved. {NOBODY} Counting starts")


def test_with_a_service_connected_since_it_still_saves_without_one(
    org: Organization, admin_client: Client, connected_service: PagerDutyService
) -> None:
    alert = _left(org)
    assert _edit(admin_client, alert, [], name="Nightly cron").status_code == 302
    assert Alert.objects.get(pk=alert.pk).name == "Nightly cron"
    # Choosing one pages it again, said as usual.
    again = {"details-0-key": "", "details-0-value": ""}  # the runbook is saved already
    response = _edit(admin_client, alert, [connected_service.pk], name="Nightly cron", **again)
    assert response.status_code == 302
    *_, said = get_messages(response.wsgi_request)  # after the first save's
    assert str(said) == "Alert “Nightly cron” saved." and said.level_tag == "success"


def test_a_new_alert_and_one_with_a_service_still_need_one(
    org: Organization, admin_client: Client, connected_service: PagerDutyService
) -> None:
    assert (
        NEEDS_ONE
        in admin_client.post(
            f"/o/{org.slug}/alerts/new/", alert_form([], name="New")
        ).content.decode()
    )
    alert = _left(org)
    alert.targets.add(connected_service)
    refused = _edit(admin_client, alert, [], name="Renamed")
    assert refused.status_code == 400 and NEEDS_ONE in refused.content.decode()
    assert Alert.objects.get(pk=alert.pk).name == "Cron heartbeat"
