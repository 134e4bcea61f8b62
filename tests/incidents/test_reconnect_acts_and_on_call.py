"""While a PagerDuty account needs reconnecting: Acknowledge and Resolve say in plain words
why nothing changed and what to do (no OAuth words), and "who is on call" says as of when
it was last known and that Tripwire can't check now, in the reader's zone."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from alerts_saas.accounts.times import clock
from alerts_saas.alerts.models import Alert
from integrations.pagerduty.incidents import actions, oncall
from integrations.pagerduty.incidents.models import Incident, OnCallNow
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.rest import PagerDutyApiError
from tests.alerts.test_alert_page import _alert, _events
from tests.incidents.conftest import make_tenant

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")
REFUSED = "PagerDuty refused to refresh access (invalid_grant). Reconnect the account."


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


@pytest.fixture
def service(org) -> PagerDutyService:
    """A service of the organization's PagerDuty account, subscribed to its incidents."""
    service, _sub, _trigger = make_tenant(org)
    return service


def _to_reconnect(account: PagerDutyAccount | None) -> PagerDutyAccount:
    assert account is not None
    PagerDutyAccount.objects.filter(pk=account.pk).update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT, status_detail=REFUSED
    )
    return account


def _incident(service: PagerDutyService) -> Incident:
    return Incident.objects.create(
        organization_id=service.organization_id,
        service=service,
        dedup_key="k",
        pd_incident_id="PINC42",
        number=42,
        status="triggered",
        status_changed_at=timezone.now(),
    )


class _RevokedApi:
    """PagerDuty as it answers once the grant is revoked: the account is marked to
    reconnect and the call refused (as `rest.AccountApi` reports a refused refresh)."""

    calls = 0

    def __init__(self, account: PagerDutyAccount) -> None:
        self.account = account

    def set_incident_status(self, *args: Any) -> dict[str, Any]:
        _RevokedApi.calls += 1
        _to_reconnect(self.account)
        raise PagerDutyApiError(REFUSED, 401)

    add_incident_note = set_incident_status


def _said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _plain(said: list[str], done: str, instead: str, account: PagerDutyAccount) -> None:
    assert said == [
        f"Incident #42 was not {done}: Tripwire can't act in PagerDuty until the PagerDuty "
        f"account {account.name} is reconnected (its access was withdrawn in PagerDuty). "
        f"{instead} in PagerDuty's app or website for now; pages still go out. To fix it, "
        "reconnect the account in Integrations."
    ]


def test_acknowledge_refused_just_now_says_why_in_plain_words(
    admin_client, org, service, monkeypatch
):
    incident = _incident(service)
    monkeypatch.setattr(actions, "AccountApi", _RevokedApi)
    response = admin_client.post(f"/o/{org.slug}/incidents/{incident.pk}/acknowledge/")
    assert service.account is not None
    _plain(_said(response), "acknowledged", "Acknowledge it", service.account)


def test_resolve_on_an_account_to_reconnect_asks_pagerduty_nothing(
    admin_client, org, service, monkeypatch
):
    incident = _incident(service)
    account = _to_reconnect(service.account)
    monkeypatch.setattr(actions, "AccountApi", _RevokedApi)
    _RevokedApi.calls = 0
    response = admin_client.post(f"/o/{org.slug}/incidents/{incident.pk}/resolve/")
    _plain(_said(response), "resolved", "Resolve it", account)
    assert _RevokedApi.calls == 0  # its access is gone: nothing asked of PagerDuty


def _known(service: PagerDutyService, ago: timedelta) -> OnCallNow:
    return OnCallNow.objects.create(
        organization_id=service.organization_id,
        service=service,
        escalation_policy="Default",
        names=["Olivia Oncall"],
        checked_at=timezone.now() - ago,
    )


def _in_tokyo(org) -> None:
    owner = org.memberships.get().user
    owner.time_zone = "Asia/Tokyo"
    owner.save()


def _clock(row: OnCallNow) -> str:
    assert row.checked_at is not None
    with timezone.override(TOKYO):
        return clock(row.checked_at)


def _page(client, alert: Alert, view: str = "") -> str:
    """The alert's page (`view`: "edit/" for its edit page), as words."""
    url = f"/o/{alert.organization.slug}/alerts/{alert.pk}/{view}"
    return _text(client.get(url).content.decode())


def test_the_alert_page_says_on_call_as_of_and_that_tripwire_cannot_check(
    admin_client, org, service
):
    _in_tokyo(org)
    alert = _alert(org, service)
    _events(org, 3)  # it fires: the page shows who its service pages
    row = _known(service, timedelta(minutes=40))
    account = _to_reconnect(service.account)
    page = _page(admin_client, alert)
    assert (
        f"On call as of {_clock(row)}: Olivia Oncall (Default). Tripwire can't check now: "
        f"PagerDuty account {account.name} needs reconnecting."
    ) in page
    assert "On call now" not in page
    row.refresh_from_db()
    assert row.requested_at is None  # not asked of PagerDuty: it would be refused


def test_a_check_older_than_the_usual_refresh_says_as_of_when(admin_client, org, service):
    _in_tokyo(org)
    alert = _alert(org, service)
    row = _known(service, timedelta(minutes=40))
    page = _page(admin_client, alert, "edit/")
    assert f"On call as of {_clock(row)}: Olivia Oncall (Default)." in page
    assert "can't check" not in page
    OnCallNow.objects.filter(pk=row.pk).update(checked_at=timezone.now())
    page = _page(admin_client, alert, "edit/")
    assert "On call now: Olivia Oncall (Default)." in page


def test_never_checked_while_to_reconnect_says_unknown_and_why(admin_client, org, service):
    alert = _alert(org, service)
    account = _to_reconnect(service.account)
    page = _page(admin_client, alert, "edit/")
    assert (
        f"Who is on call: unknown. Tripwire can't check while PagerDuty account "
        f"{account.name} needs reconnecting."
    ) in page
    assert "Checking who is on call" not in page


def test_a_refresh_keeps_what_was_known_while_the_account_is_to_reconnect(service, monkeypatch):
    row = _known(service, timedelta(minutes=40))
    _to_reconnect(service.account)
    monkeypatch.setattr(oncall, "AccountApi", _RevokedApi)
    oncall.refresh([service.pk])
    after = OnCallNow.objects.get(pk=row.pk)
    assert after.names == ["Olivia Oncall"] and after.problem == ""
    assert after.checked_at == row.checked_at
