"""Deleting a service and disconnecting an account: the alerts that would page nobody
(listed, tenant by tenant) and the move that prevents it, all in one transaction with the
resolves; the explicit "page nobody"; nothing half-done on a failure; one message saying
what was done and what to do in PagerDuty; and no call to an API PagerDuty does not have."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts import firings
from alerts_saas.alerts.models import Alert, Firing
from devtools.sandbox.testing import SandboxProcess
from integrations.pagerduty import delivery as engine
from integrations.pagerduty import removal
from integrations.pagerduty.models import (
    Delivery,
    EventAction,
    PagerDutyAccount,
    PagerDutyService,
    Reason,
)
from integrations.pagerduty.provisioning import integration_name

pytestmark = pytest.mark.django_db


def _base(org: Organization) -> str:
    return f"/o/{org.slug}/settings/integrations/pagerduty"


def delete_url(org: Organization, service: PagerDutyService) -> str:
    return f"{_base(org)}/services/{service.pk}/delete/"


def disconnect_url(org: Organization, account: PagerDutyAccount) -> str:
    return f"{_base(org)}/accounts/{account.pk}/disconnect/"


@pytest.fixture
def edge_and_postgres(
    connect, admin_client: Client, org: Organization, pagerduty: SandboxProcess
) -> tuple[PagerDutyService, PagerDutyService]:
    """Two services of the US account, connected through OAuth."""
    account = connect(admin_client)
    ids = {s["name"]: s["id"] for s in pagerduty.account("us")["services"]}
    admin_client.post(
        f"{_base(org)}/accounts/{account.pk}/services/",
        {"service": [ids["Edge Gateway"], ids["Postgres Primary"]]},
    )
    return (
        PagerDutyService.objects.get(organization=org, name="Edge Gateway"),
        PagerDutyService.objects.get(organization=org, name="Postgres Primary"),
    )


@pytest.fixture
def pasted(make_service) -> PagerDutyService:
    """A service connected by pasting its key (no account)."""
    return make_service("Checkout API 001")


def alert_on(org: Organization, name: str, *services: PagerDutyService, **fields) -> Alert:
    alert = Alert.objects.create(organization=org, name=name, match_app=name.lower(), **fields)
    alert.targets.add(*services)
    return alert


def deliver_queued() -> None:
    engine.attempt_many(
        list(Delivery.objects.filter(status=Delivery.Status.QUEUED).values_list("pk", flat=True))
    )


def fire(alert: Alert) -> Firing:
    """Open a firing (its triggers delivered to the sandbox)."""
    firing = firings.open_firing(alert, alert.threshold, timezone.now())
    assert firing is not None
    deliver_queued()
    return firing


def messages_of(response) -> list[str]:
    """The messages the request added (not those an earlier one left)."""
    return [str(m) for m in get_messages(response.wsgi_request)._queued_messages]


def the_message(response) -> str:
    """The one message the action left, as HTML."""
    added = messages_of(response)
    assert len(added) == 1, added
    return added[0]


def snapshot() -> dict[str, object]:
    """What a removal changes, to check nothing did."""
    return {
        "services": sorted(PagerDutyService.objects.values_list("pk", flat=True)),
        "accounts": sorted(PagerDutyAccount.objects.values_list("pk", flat=True)),
        "targets": sorted(
            Alert.targets.through.objects.values_list("alert_id", "pagerdutyservice_id")
        ),
        "deliveries": sorted(Delivery.objects.values_list("pk", "status", "reason")),
    }


# --- The confirmation -----------------------------------------------------------------------


def test_the_confirmation_lists_the_alerts_that_would_page_nobody_and_those_that_keep_others(
    admin_client, org, edge_and_postgres, pasted, make_org
):
    edge, postgres = edge_and_postgres
    firing_alert = alert_on(org, "Edge heartbeat missing", edge)
    alert_on(org, "Edge 5xx", edge, pasted)
    alert_on(org, "Edge latency", edge, enabled=False)
    alert_on(org, "Postgres replication lag", postgres)
    fire(firing_alert)

    page = admin_client.get(delete_url(org, edge)).content.decode()
    orphaned = section(page, "orphaned-alerts")
    assert "1 alert would page nobody" in orphaned
    assert "Edge heartbeat missing" in orphaned and "Firing now" in orphaned
    assert "Edge 5xx" not in orphaned and "Postgres" not in orphaned.split("<select")[0]
    assert "Edge 5xx</a>: still pages Checkout API 001" in section(page, "keeping-alerts")
    assert "Disabled, and left with no service: Edge latency." in page
    # It can move to the organization's other services, not to the one going away.
    options = re.findall(r"<option value=\"(\d+)\"", orphaned)
    assert sorted(map(int, options)) == sorted([postgres.pk, pasted.pk])
    assert "Leave it paging nobody: I understand that when it fires, nobody is paged" in orphaned
    assert (
        "Tripwire will send a resolve for the incident it opened on this service that is still "
        "open in PagerDuty."
    ) in page

    # Disconnecting the account takes both its services: two alerts would page nobody.
    account = edge.account
    page = admin_client.get(disconnect_url(org, account)).content.decode()
    orphaned = section(page, "orphaned-alerts")
    assert "2 alerts would page nobody" in orphaned
    assert "Edge heartbeat missing" in orphaned and "Postgres replication lag" in orphaned
    assert re.findall(r"<option value=\"(\d+)\"", orphaned) == [str(pasted.pk)]


def test_the_lists_and_the_move_keep_to_the_organization(
    admin_client, org, edge_and_postgres, make_org
):
    edge, _ = edge_and_postgres
    alert_on(org, "Edge heartbeat missing", edge)
    other = make_org("Globex")
    theirs = PagerDutyService.objects.create(
        organization=other, name="Globex pager", integration_key="1" * 32
    )
    # Even a row that points across tenants (it can't be made through the product) is
    # neither listed nor touched.
    stray = Alert.objects.create(organization=other, name="Globex checkout")
    stray.targets.add(edge)

    page = admin_client.get(delete_url(org, edge)).content.decode()
    assert "Globex" not in page
    assert [a.name for a in removal.plan_service_removal(edge).alerts] == ["Edge heartbeat missing"]
    before = snapshot()
    response = admin_client.post(
        delete_url(org, edge), {"seen": seen_of(edge), "alerts": "move", "move_to": theirs.pk}
    )
    assert response.status_code == 400
    assert "That service can&#x27;t take them now" in response.content.decode()
    assert snapshot() == before
    # Another organization's service can't be removed from here at all.
    assert admin_client.get(delete_url(org, theirs)).status_code == 404
    assert admin_client.post(delete_url(org, theirs)).status_code == 404


def test_the_choice_must_be_explicit(admin_client, org, edge_and_postgres):
    edge, _ = edge_and_postgres
    alert = alert_on(org, "Edge heartbeat missing", edge)
    before = snapshot()

    response = admin_client.post(delete_url(org, edge), {"seen": seen_of(edge)})
    assert response.status_code == 400
    assert (
        "Choose what happens to the alerts that would page nobody: move them to another "
        "service, or confirm that they will page nobody."
    ) in response.content.decode()
    response = admin_client.post(delete_url(org, edge), {"seen": seen_of(edge), "alerts": "move"})
    assert response.status_code == 400
    assert "Choose the service to move them to." in response.content.decode()
    assert snapshot() == before

    response = admin_client.post(delete_url(org, edge), {"seen": seen_of(edge), "alerts": "nobody"})
    assert response.status_code == 302
    assert not PagerDutyService.objects.filter(pk=edge.pk).exists()
    assert list(alert.targets.all()) == []
    assert "1 alert now pages nobody, as you confirmed: “Edge heartbeat missing”." in (
        the_message(response)
    )


def test_with_nowhere_to_move_only_page_nobody_is_offered(admin_client, org, edge_and_postgres):
    edge, _ = edge_and_postgres
    account = edge.account
    alert_on(org, "Edge heartbeat missing", edge)
    page = admin_client.get(disconnect_url(org, account)).content.decode()
    orphaned = section(page, "orphaned-alerts")
    assert "There is no other service to move it to." in orphaned
    assert 'value="move"' not in orphaned and 'value="nobody"' in orphaned


def test_an_alert_that_keeps_another_service_needs_no_choice(admin_client, org, edge_and_postgres):
    edge, postgres = edge_and_postgres
    alert = alert_on(org, "Edge and Postgres", edge, postgres)
    page = admin_client.get(delete_url(org, edge)).content.decode()
    assert 'id="orphaned-alerts"' not in page
    response = admin_client.post(delete_url(org, edge), {"seen": ""})
    assert response.status_code == 302
    assert list(alert.targets.all()) == [postgres]


# --- Moving, resolving and removing in one step ----------------------------------------------


def test_moving_pages_the_new_service_and_resolves_the_old_one_with_why(
    admin_client, org, edge_and_postgres, pagerduty
):
    edge, postgres = edge_and_postgres
    alert = alert_on(org, "Edge heartbeat missing", edge)
    firing = fire(alert)
    [old_trigger] = firing.deliveries.all()
    assert pagerduty.alerts(dedup_key=old_trigger.dedup_key)[0]["status"] == "triggered"

    response = admin_client.post(
        delete_url(org, edge), {"seen": seen_of(edge), "alerts": "move", "move_to": postgres.pk}
    )
    assert response.status_code == 302
    assert list(alert.targets.all()) == [postgres]
    assert not PagerDutyService.objects.filter(pk=edge.pk).exists()

    resolve = firing.deliveries.get(event_action=EventAction.RESOLVE)
    assert (resolve.dedup_key, resolve.reason) == (old_trigger.dedup_key, Reason.SERVICE_DELETED)
    assert (resolve.alert_id, resolve.firing_id) == (alert.pk, firing.pk)
    assert resolve.service_id is None and resolve.service_name == "Edge Gateway"
    assert resolve.status == Delivery.Status.DELIVERED  # tried during the request
    new_trigger = firing.deliveries.get(event_action=EventAction.TRIGGER, service=postgres)
    assert new_trigger.dedup_key == firing.dedup_key(postgres.pk)
    assert new_trigger.body["payload"]["summary"].startswith("Edge heartbeat missing")
    deliver_queued()
    assert pagerduty.alerts(dedup_key=old_trigger.dedup_key)[0]["status"] == "resolved"
    assert pagerduty.alerts(dedup_key=new_trigger.dedup_key)[0]["status"] == "triggered"
    assert Firing.objects.get(pk=firing.pk).is_open

    message = the_message(response)
    assert message.startswith(
        "Edge Gateway was removed from Tripwire. 1 open incident was resolved in PagerDuty. "
        "1 alert moved to Postgres Primary: “Edge heartbeat missing”; it is firing, so "
        "Postgres Primary is paged now."
    )
    assert message.endswith(
        "In PagerDuty, remove the integration “Tripwire (Acme Ops)” on "
        f'<a href="{edge.html_url}/integrations" target="_blank" rel="noopener">'
        "Edge Gateway&#x27;s Integrations tab</a>."
    )
    assert edge.html_url.startswith("https://") and "/service-directory/" in edge.html_url


def test_disconnecting_moves_resolves_and_says_it_all_in_one_message(
    admin_client, org, edge_and_postgres, pasted, pagerduty
):
    edge, postgres = edge_and_postgres
    account = edge.account
    heartbeat = alert_on(org, "Edge heartbeat missing", edge)
    lag = alert_on(org, "Postgres replication lag", postgres)
    both = alert_on(org, "Platform down", edge, postgres, pasted)
    firings_ = [fire(heartbeat), fire(lag), fire(both)]

    response = admin_client.post(
        disconnect_url(org, account),
        {
            "seen": ",".join(map(str, sorted([heartbeat.pk, lag.pk]))),
            "alerts": "move",
            "move_to": pasted.pk,
        },
    )
    assert response.status_code == 302
    assert not PagerDutyAccount.objects.exists()
    assert list(PagerDutyService.objects.all()) == [pasted]
    for alert in (heartbeat, lag, both):
        assert list(alert.targets.all()) == [pasted]
    resolves = Delivery.objects.filter(event_action=EventAction.RESOLVE)
    assert resolves.count() == 4  # one per incident on Edge Gateway and Postgres Primary
    assert {(r.reason, r.service_name) for r in resolves} == {
        (Reason.DISCONNECTED, "Edge Gateway"),
        (Reason.DISCONNECTED, "Postgres Primary"),
    }
    assert all(r.alert_id and r.firing_id for r in resolves)
    # The two moved alerts' open firings page the pasted service; "Platform down" already did.
    to_pasted = Delivery.objects.filter(service=pasted, event_action=EventAction.TRIGGER)
    assert sorted(d.firing_id for d in to_pasted) == sorted(f.pk for f in firings_)

    message = the_message(response)
    assert message.startswith(
        f"PagerDuty account {account.name} was disconnected and its access tokens deleted; its "
        "services were removed from Tripwire: Edge Gateway and Postgres Primary. 3 open "
        "incidents were resolved in PagerDuty. 1 resolve is queued: it goes out through the "
        "usual delivery, and its outcome shows on the alert pages. 2 alerts moved to "
        "Checkout API 001: “Edge heartbeat missing” and "
        "“Postgres replication lag”; 2 of them are firing, so Checkout API 001 is paged now."
    )
    assert (
        "In PagerDuty, remove the integration “Tripwire (Acme Ops)” on the Integrations tab of "
        f'each of these services: <a href="{edge.html_url}/integrations" target="_blank" '
        'rel="noopener">Edge Gateway</a> and '
        f'<a href="{postgres.html_url}/integrations" target="_blank" rel="noopener">'
        "Postgres Primary</a>."
    ) in message
    deliver_queued()
    for firing in firings_:
        for trigger in firing.deliveries.filter(event_action=EventAction.TRIGGER):
            status = pagerduty.alerts(dedup_key=trigger.dedup_key)[0]["status"]
            assert status == ("triggered" if trigger.service_id == pasted.pk else "resolved")


def test_resolves_that_cannot_go_now_are_queued(admin_client, org, edge_and_postgres, pagerduty):
    edge, _ = edge_and_postgres
    fire(alert_on(org, "Edge and more", edge, edge_and_postgres[1]))
    pagerduty.fault("events-us", "500", count=1)
    response = admin_client.post(delete_url(org, edge), {"seen": ""})
    assert "1 resolve is queued: it goes out through the usual delivery" in the_message(response)
    resolve = Delivery.objects.get(event_action=EventAction.RESOLVE)
    assert resolve.status == Delivery.Status.QUEUED and resolve.attempts == 1
    assert "PagerDuty answered 500" in resolve.last_error


def test_a_pasted_key_is_said_to_stay_valid(admin_client, org, pasted):
    PagerDutyService.objects.filter(pk=pasted.pk).update(is_fallback=True)
    page = admin_client.get(delete_url(org, pasted)).content.decode()
    assert "It is the fallback service: afterwards there is none" in page
    assert (
        "The integration key you pasted for <strong>Checkout API 001</strong> stays valid in "
        "PagerDuty until you remove its integration there."
    ) in section(page, "left-in-pagerduty")
    response = admin_client.post(delete_url(org, pasted), {"seen": ""})
    assert the_message(response) == (
        "Checkout API 001 was removed from Tripwire. The integration key you pasted for "
        "Checkout API 001 stays valid in PagerDuty until you remove its integration there."
    )
    page = admin_client.get(delete_url(org, pasted))
    assert page.status_code == 404


def test_no_call_to_delete_integrations_reaches_pagerduty(
    admin_client, org, edge_and_postgres, pagerduty
):
    edge, postgres = edge_and_postgres
    fire(alert_on(org, "Everything", edge, postgres))
    admin_client.post(delete_url(org, edge), {"seen": ""})
    account = PagerDutyAccount.objects.get()
    seen = ",".join(map(str, sorted(removal.plan_disconnect(account).orphan_ids)))
    admin_client.post(disconnect_url(org, account), {"seen": seen, "alerts": "nobody"})
    assert not PagerDutyAccount.objects.exists()
    rest = [r for r in pagerduty.requests_log() if r["host"].startswith("rest")]
    assert rest, "the connect flow's REST calls are in the log"
    assert [r for r in rest if r["method"] not in ("GET", "POST")] == []
    # The integrations are still there in PagerDuty, for the person to remove.
    services = {s["name"]: s for s in pagerduty.account("us")["services"]}
    for name in ("Edge Gateway", "Postgres Primary"):
        names = [i["name"] for i in services[name]["integrations"]]
        assert integration_name(org) in names


# --- Nothing half-done --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "step",
    [
        "alerts_saas.alerts.firings.sync_open_firings_of",  # the move's trigger to the new service
        "integrations.pagerduty.removal._resolve",
        "integrations.pagerduty.removal._delete",
    ],
)
def test_a_failing_step_leaves_everything_as_it_was(
    admin_client, org, edge_and_postgres, pagerduty, monkeypatch, step
):
    edge, postgres = edge_and_postgres
    alert = alert_on(org, "Edge heartbeat missing", edge)
    firing = fire(alert)
    before = snapshot()
    events_before = len(pagerduty.events())

    def fail(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(step, fail)
    response = admin_client.post(
        delete_url(org, edge), {"seen": seen_of(edge), "alerts": "move", "move_to": postgres.pk}
    )
    assert response.status_code == 500
    assert (
        "Nothing was removed or moved: something went wrong on our side, and everything was "
        "left as it was."
    ) in response.content.decode()
    assert messages_of(response) == []
    assert snapshot() == before
    assert list(alert.targets.all()) == [edge]
    assert firing.deliveries.count() == 1
    assert len(pagerduty.events()) == events_before  # nothing was sent either


def test_a_change_meanwhile_asks_again(admin_client, org, edge_and_postgres):
    edge, _ = edge_and_postgres
    seen = seen_of(edge)  # nothing would page nobody when the page was opened
    late = alert_on(org, "Added meanwhile", edge)
    before = snapshot()
    response = admin_client.post(delete_url(org, edge), {"seen": seen, "alerts": "nobody"})
    assert response.status_code == 409
    page = response.content.decode()
    assert "The alerts that would page nobody changed since this page was opened." in page
    assert "Added meanwhile" in section(page, "orphaned-alerts")
    assert snapshot() == before
    response = admin_client.post(delete_url(org, edge), {"seen": str(late.pk), "alerts": "nobody"})
    assert response.status_code == 302


def test_removing_what_is_already_gone_says_so(admin_client, org, edge_and_postgres):
    edge, _ = edge_and_postgres
    plan = removal.plan_service_removal(edge)
    PagerDutyService.objects.filter(pk=edge.pk).delete()
    with pytest.raises(removal.PlanChanged) as raised:
        removal.carry_out(plan, seen=frozenset(), move_to=None, actor=None)
    assert raised.value.why == "This service was already removed." and raised.value.plan is None


def test_disconnecting_promises_only_what_happens_and_says_it_once(
    admin_client, org, edge_and_postgres
):
    """The confirmation never promises to delete our integrations (PagerDuty's API has no
    such call): it links each service's Integrations tab; the page after it shows one
    message, whatever the number of services."""
    edge, postgres = edge_and_postgres
    admin_client.get(f"/o/{org.slug}/settings/integrations/")  # shows the connect's message
    page = admin_client.get(disconnect_url(org, edge.account)).content.decode()
    text = re.sub(r"<[^>]+>", " ", page)
    for sentence in re.split(r"(?<=[.:])\s", text):
        if "delete" in sentence.lower():
            assert "integration" not in sentence.lower(), sentence
    left = section(page, "left-in-pagerduty")
    for service in (edge, postgres):
        assert f'<a href="{service.html_url}/integrations" target="_blank"' in left
        assert f"{service.name}'s Integrations tab</a>" in left
    assert "“Tripwire (Acme Ops)”" in left

    response = admin_client.post(disconnect_url(org, edge.account), {"seen": ""}, follow=True)
    landing = response.content.decode()
    assert response.redirect_chain[-1][0] == f"/o/{org.slug}/settings/integrations/"
    flashes = re.findall(r'<div class="flash flash-[a-z]+"[^>]*>(.*?)</div>', landing, re.S)
    assert len(flashes) == 1, flashes
    assert flashes[0].startswith("PagerDuty account ")
    assert flashes[0].count("In PagerDuty, remove the integration") == 1


# --- helpers -----------------------------------------------------------------------------------


def seen_of(service: PagerDutyService) -> str:
    """The hidden field as the confirmation page has it now."""
    return ",".join(map(str, sorted(removal.plan_service_removal(service).orphan_ids)))


def section(page: str, element_id: str) -> str:
    match = re.search(rf'<section id="{element_id}".*?</section>', page, re.S)
    assert match, f"no #{element_id} in the page"
    return match.group(0)
