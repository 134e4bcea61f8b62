"""The alert page's Resolve, Stop watching and Enable/Disable, and the API's Resolve and Stop
watching, lock only the alert's row (`of=("self",)`), not the organization's they read with
it: with the join locked too, every press in an organization queued behind the others, and
behind a change to the organization (its settings' save). What locks the organization's row
to check a rule across its rows (an ingest key's creation, a pasted PagerDuty key) takes it
without its key (`lock_organization`): a press's inserts (its audit entry, its resolves)
check their foreign key FOR KEY SHARE, which waited for FOR UPDATE. Real PostgreSQL, one
connection each (tests/lock_race.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from alerts_saas.accounts import former_slugs
from alerts_saas.accounts.models import Organization, Role
from alerts_saas.alerts import evaluation, firings
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.ingest.models import ApiToken, IngestKey, Scope
from alerts_saas.ingest.views import keys
from integrations.pagerduty.models import PagerDutyService
from integrations.pagerduty.views import settings as pagerduty_settings
from tests.alerts.test_stop_watching import _per_host
from tests.api_client import Api
from tests.lock_race import race

pytestmark = pytest.mark.django_db(transaction=True)


def _owner(org: Organization) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(org.memberships.get(role=Role.OWNER).user)
    return client


def _press(org: Organization, alert: Alert, action: str, secret: str = "") -> None:
    """The button on the alert's page: its open firing's Resolve, web-1's Stop watching,
    or Disable; or the API's Resolve or Stop watching (`api_...`), with a write token's
    `secret`."""
    firing = Firing.objects.get(alert=alert, cleared_at__isnull=True)
    if action.startswith("api_"):
        api = Api(secret)
        if action == "api_resolve":
            api.post(f"/firings/{firing.pk}/resolve", status=200)
        else:
            api.post(f"/alerts/{alert.pk}/stop-watching", {"value": "web-1"}, status=200)
        return
    url = reverse(f"alerts:{action}", args=[org.slug, alert.pk])
    answer = _owner(org).post(url, {"firing": firing.pk, "value": "web-1", "enabled": "0"})
    assert answer.status_code == 302, answer.status_code


def _holder(org: Organization, other: Alert, kind: str) -> tuple[object, str, Callable[[], None]]:
    """What holds the organization's row, and where it is held (`race`'s owner and name)."""

    def resolve_another() -> None:
        _press(org, other, "resolve")

    def rename() -> None:  # the settings' save: an UPDATE of the organization's row
        url = reverse("accounts:org_settings", args=[org.slug])
        answer = _owner(org).post(url, {"name": "Acme Operations", "slug": org.slug})
        assert answer.status_code == 302, answer.status_code

    def create_key() -> None:  # lock_organization, then the name check
        answer = _owner(org).post(reverse("ingest:create", args=[org.slug]), {"name": "edge"})
        assert answer.status_code == 302, answer.status_code

    def paste_key() -> None:  # lock_organization, then the key's check (once per organization)
        url = reverse("pagerduty:add_key", args=[org.slug])
        pasted = {"name": "Billing", "integration_key": "b" * 32, "region": "us"}
        answer = _owner(org).post(url, pasted)
        assert answer.status_code == 302, answer.status_code

    return {
        "another alert's Resolve": (firings, "_open_triggers", resolve_another),
        "the settings' save": (former_slugs, "remember", rename),
        "an ingest key's creation": (keys, "IngestKeyForm", create_key),
        "a PagerDuty key's paste": (pagerduty_settings, "PastedKeyForm", paste_key),
    }[kind]


@pytest.mark.parametrize(
    "holder",
    [
        "another alert's Resolve",
        "the settings' save",
        "an ingest key's creation",
        "a PagerDuty key's paste",
    ],
)
@pytest.mark.parametrize(
    "action", ["resolve", "stop_watching", "toggle", "api_resolve", "api_stop_watching"]
)
def test_a_press_does_not_wait_for_whoever_holds_its_organization(
    org, make_service, monkeypatch, holder, action
):
    edge = make_service("Edge Gateway")
    other = _per_host(org, edge)
    Alert.objects.filter(pk=other.pk).update(name="Another host went quiet")
    alert = _per_host(org, edge)
    start = time.time() - 100  # web-1 beat once, then went quiet: each alert fires for it
    evaluation.record(org.pk, [Event(timestamp=start, source="web-1")], now=start)
    assert evaluation.evaluate(now=start + 65)["opened"] == 2
    owner, name, first = _holder(org, other, holder)
    _token, secret = ApiToken.issue(org, "deploy-bot", scope=Scope.WRITE)

    outcome = race(monkeypatch, owner, name, first, lambda: _press(org, alert, action, secret))

    assert outcome.errors == []
    assert not outcome.blocked, f"the {action} waited for {holder}"
    assert not Firing.objects.filter(alert=alert, cleared_at__isnull=True).exists()
    done = {
        "another alert's Resolve": not Firing.objects.filter(alert=other, cleared_at=None).exists(),
        "the settings' save": Organization.objects.get(pk=org.pk).name == "Acme Operations",
        "an ingest key's creation": IngestKey.objects.filter(organization=org).exists(),
        "a PagerDuty key's paste": PagerDutyService.objects.filter(
            organization=org, name="Billing"
        ).exists(),
    }
    assert done[holder]
