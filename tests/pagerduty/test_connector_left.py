"""A PagerDuty account whose connector left the organization (security review: everyone
kept acknowledging and resolving in PagerDuty as the departed admin, and Integrations
still said "Connected by" them as if nothing had happened). Paging goes on; the account is
flagged, Integrations, the dashboard, the incident's buttons and an act's confirmation say
as whom Tripwire acts, with Reconnect; the removal's confirmation said so beforehand; an
admin reconnecting it clears the flag. Made a member, they are still there: nothing."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
import requests
from django.contrib.messages import get_messages
from django.test import Client

from alerts_saas.accounts.models import Membership, Organization, Role
from alerts_saas.accounts.services import change_role
from alerts_saas.audit.models import Entry
from alerts_saas.audit.words import describe
from devtools.sandbox.testing import SandboxProcess
from integrations.pagerduty.incidents.models import Incident
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyAccount, PagerDutyService
from tests.alerts.test_alert_page import _alert, _events

pytestmark = pytest.mark.django_db

ACTS = (
    "Connected by ada@acme.example, who left Acme Ops on {day}: Acknowledge, Resolve and "
    "notes from Tripwire act as them in PagerDuty until an admin reconnects it. "
    "Pages still go out."
)


def text(response: object) -> str:
    """Words as a person reads them: tags left out, spaces collapsed."""
    markup = response.content.decode()  # type: ignore[attr-defined]
    words = re.sub(r"\s*<[^>]+>\s*", " ", markup)
    words = re.sub(r"\s+", " ", html.unescape(words))
    return words.replace(" .", ".").replace(" :", ":").replace(" ,", ",").strip()


@pytest.fixture
def ada(org: Organization, add_member: Callable[..., Membership]) -> Membership:
    return add_member(org, "ada@acme.example", Role.ADMIN)


@pytest.fixture
def service(
    ada: Membership, connect: Callable[..., PagerDutyAccount], pagerduty: SandboxProcess
) -> PagerDutyService:
    """Ada connects the US account through the product and adds Checkout API 001."""
    ada_client = Client()
    ada_client.force_login(ada.user)
    account = connect(ada_client)
    assert account.connected_by == ada.user
    pd_id = next(
        s["id"] for s in pagerduty.account("us")["services"] if s["name"] == "Checkout API 001"
    )
    ada_client.post(
        f"/o/{account.organization.slug}/settings/integrations/pagerduty/accounts/"
        f"{account.pk}/services/",
        {"service": [pd_id]},
    )
    return PagerDutyService.objects.get(account=account, pd_service_id=pd_id)


def _remove(client: Client, org: Organization, member: Membership) -> None:
    assert client.post(f"/o/{org.slug}/settings/members/{member.pk}/remove/").status_code == 302


def test_the_removal_says_beforehand_then_every_page_says_as_whom_it_acts(
    org: Organization, ada: Membership, service: PagerDutyService, admin_client: Client
) -> None:
    confirm = text(admin_client.get(f"/o/{org.slug}/settings/members/{ada.pk}/remove/"))
    assert (
        "The 1 PagerDuty account they connected keeps paging, but Acknowledge, Resolve and "
        "notes from Tripwire will act as them in PagerDuty until an admin reconnects it "
        "under Settings → Integrations, which will say so."
    ) in confirm

    _remove(admin_client, org, ada)
    account = PagerDutyAccount.objects.get(pk=service.account_id)
    assert account.connected_by_left_at is not None
    day = f"{account.connected_by_left_at:%-d %b %Y}"
    entry = Entry.objects.get(object_type="pagerduty_account", action="changed")
    assert str(describe(entry)) == (
        f"owner@acme.example changed PagerDuty account “{account.name}”: reason: the person "
        "who connected it, ada@acme.example, left the organization: acting from Tripwire acts "
        "as them in PagerDuty until an admin reconnects it"
    )

    integrations = admin_client.get(f"/o/{org.slug}/settings/integrations/")
    words = text(integrations)
    assert ACTS.format(day=day) in words
    assert f"Reconnect {account.name}" in words
    assert f'action="/o/{org.slug}/settings/integrations/pagerduty/connect/"' in (
        integrations.content.decode()
    )
    assert "Connected by ada@acme.example on" not in words

    dashboard = text(admin_client.get(f"/o/{org.slug}/"))
    assert (
        f"PagerDuty account {account.name} was connected by ada@acme.example, who left Acme "
        f"Ops on {day}: Acknowledge, Resolve and notes from Tripwire act as them in "
        "PagerDuty until an admin reconnects it. Pages still go out."
    ) in dashboard
    assert f"Reconnect {account.name}" in dashboard


def test_acknowledging_still_works_and_says_as_whom(
    org: Organization,
    ada: Membership,
    service: PagerDutyService,
    admin_client: Client,
    pagerduty: SandboxProcess,
) -> None:
    """At 3 a.m. the on-call person's Acknowledge is not refused: it goes through the
    grant, and the confirmation says it acts as the person who left."""
    alert = _alert(org, service)
    [firing] = _events(org, 3)
    trigger = Delivery.objects.get(firing=firing, event_action=EventAction.TRIGGER)
    _remove(admin_client, org, ada)
    sent = requests.post(  # as the engine sends it (PagerDuty merges a second one)
        pagerduty.events_url("us") + "/v2/enqueue",
        json={
            "routing_key": service.integration_key,
            "event_action": "trigger",
            "dedup_key": trigger.dedup_key,
            "payload": {"summary": "Checkout errors", "source": "web-1", "severity": "error"},
        },
        timeout=10,
    )
    assert sent.status_code == 202
    (opened,) = pagerduty.incidents(incident_key=trigger.dedup_key)
    incident = Incident.objects.create(
        organization=org,
        service=service,
        dedup_key=trigger.dedup_key,
        pd_incident_id=opened["id"],
        number=opened.get("incident_number") or 1,
        status="triggered",
        status_changed_at=opened["created_at"],
    )
    page = text(admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/"))
    assert (
        "Acts in PagerDuty as ada@acme.example, who left Acme Ops, until an admin reconnects "
        f"{service.account.name} in Integrations. Acknowledge Resolve in PagerDuty"  # type: ignore[union-attr]
    ) in page

    response = admin_client.post(f"/o/{org.slug}/incidents/{incident.pk}/acknowledge/")
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said[-1:] == [
        f"Incident #{incident.number} acknowledged in PagerDuty, as ada@acme.example, who "
        "left Acme Ops: PagerDuty shows them as the one who acted until an admin "
        f"reconnects {service.account.name} in Integrations."  # type: ignore[union-attr]
    ]
    assert pagerduty.incidents(incident_key=trigger.dedup_key)[0]["status"] == "acknowledged"


def test_an_admin_reconnecting_clears_it_and_a_demotion_flags_nothing(
    org: Organization,
    ada: Membership,
    service: PagerDutyService,
    admin_client: Client,
    connect: Callable[..., PagerDutyAccount],
) -> None:
    owner = org.memberships.get(role=Role.OWNER)
    change_role(owner, ada, Role.MEMBER)  # still in Acme Ops: the grant is still theirs
    assert PagerDutyAccount.objects.get(pk=service.account_id).connected_by_left_at is None

    _remove(admin_client, org, Membership.objects.get(pk=ada.pk))
    assert PagerDutyAccount.objects.get(pk=service.account_id).connected_by_left_at
    account = connect(admin_client)  # the owner presses Reconnect
    assert account.pk == service.account_id
    assert account.connected_by == owner.user and account.connected_by_left_at is None
    words = text(admin_client.get(f"/o/{org.slug}/settings/integrations/"))
    assert "Connected by owner@acme.example on" in words
    assert "who left" not in words
    assert "who left" not in text(admin_client.get(f"/o/{org.slug}/"))
