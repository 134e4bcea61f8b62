"""Deleting an organization while an alert fires: the page names what works (disabling the
firing alerts, which resolves their incidents) and an owner who follows it gets the
organization deleted, with no incident left open in PagerDuty."""

from __future__ import annotations

import html
import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts_saas.accounts.models import Organization, Role
from alerts_saas.alerts import evaluation
from alerts_saas.alerts.models import Alert, ConditionKind, Firing
from alerts_saas.audit.models import Action, Entry
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, PagerDutyService

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    page = response.content.decode()
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page)))


def _url(org: Organization) -> str:
    return f"/o/{org.slug}/settings/delete/"


def _heartbeat(org: Organization, service: PagerDutyService, name: str = "Backup heartbeat"):
    """An absence alert that has counted for a while and whose events stopped."""
    alert = Alert.objects.create(
        organization=org,
        name=name,
        kind=ConditionKind.ABSENCE,
        threshold=1,
        window_minutes=1,
        counting_since=timezone.now() - timedelta(minutes=10),
    )
    alert.targets.add(service)
    return alert


def _send_queued(org: Organization) -> None:
    """What a worker does: send the organization's queued events to the sandbox."""
    queued = Delivery.objects.filter(organization=org, status=Delivery.Status.QUEUED)
    engine.attempt_many(list(queued.values_list("pk", flat=True)))
    assert not queued.exists()


def _disable_button(page: str) -> str:
    found = re.search(r'<form method="post" action="([^"]+)"[^>]*id="disable-firing"', page)
    assert found, "the page offers no way to disable the firing alerts"
    return html.unescape(found.group(1))


def test_an_owner_with_a_firing_absence_alert_follows_the_page_and_deletes(
    org, connected_service, admin_client, pagerduty
) -> None:
    alert = _heartbeat(org, connected_service)
    assert evaluation.evaluate(now=time.time())["opened"] == 1
    _send_queued(org)
    [incident] = pagerduty.incidents()
    assert incident["status"] == "triggered"

    page = admin_client.get(_url(org))
    words = _text(page)
    assert "You can't delete Acme Ops yet" in words
    assert "1 firing is open, on Backup heartbeat." in words
    assert (
        "Resolving a firing by hand doesn't last while its condition holds: an absence alert "
        "whose events stopped fires again at the next check. Disable the firing alerts "
        "instead: that resolves their incidents in PagerDuty, and a disabled alert can't fire "
        "again." in words
    )
    assert "Disable the firing alert" in words

    # Typing the name anyway is refused with the same advice.
    refused = _text(admin_client.post(_url(org), {"name": org.name}))
    assert "Disable the firing alerts (the button below does it)" in refused

    done = admin_client.post(_disable_button(page.content.decode()), follow=True)
    assert done.redirect_chain == [(_url(org), 302)]
    words = _text(done)
    assert (
        "Disabled “Backup heartbeat”: it can't fire again (enable it on its page if you keep "
        "the organization). 1 incident is being resolved in PagerDuty. Once that is sent, you "
        "can delete the organization here." in words
    )
    assert "1 event to PagerDuty is still queued or being sent" in words
    assert 'name="name"' not in done.content.decode()
    alert.refresh_from_db()
    assert not alert.enabled
    assert Firing.objects.get(alert=alert).clear_reason == Firing.ClearReason.DISABLED
    assert Entry.objects.filter(object_id=str(alert.pk), action=Action.DISABLED).exists()

    # Its events are still missing, but a disabled alert does not fire again.
    assert evaluation.evaluate(now=time.time() + 120)["opened"] == 0
    _send_queued(org)  # the resolve, as the worker sends it
    [incident] = pagerduty.incidents()
    assert incident["status"] == "resolved"

    assert "Delete Acme Ops?" in _text(admin_client.get(_url(org)))
    assert admin_client.post(_url(org), {"name": org.name}).status_code == 302
    assert not Organization.objects.filter(pk=org.pk).exists()


def test_disabling_touches_only_this_organizations_firing_alerts(
    org, make_org, make_service, admin_client, pagerduty
) -> None:
    firing = _heartbeat(org, make_service())
    quiet = Alert.objects.create(organization=org, name="Checkout errors", threshold=5)
    other_org = make_org("Other Co")
    elsewhere = _heartbeat(
        other_org,
        PagerDutyService.objects.create(
            organization=other_org, name="Theirs", region="us", integration_key="2" * 32
        ),
    )
    assert evaluation.evaluate(now=time.time())["opened"] == 2

    response = admin_client.post(f"/o/{org.slug}/settings/delete/disable-firing/", follow=True)
    assert "Disabled “Backup heartbeat”" in _text(response)
    enabled = dict(Alert.objects.values_list("name", "enabled").filter(organization=org))
    assert enabled == {firing.name: False, quiet.name: True}
    elsewhere.refresh_from_db()
    assert elsewhere.enabled
    assert Firing.objects.get(alert=elsewhere).is_open

    again = admin_client.post(f"/o/{org.slug}/settings/delete/disable-firing/", follow=True)
    assert "No alert is firing now." in _text(again)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MEMBER])
def test_only_owners_disable_the_firing_alerts_from_here(
    org, make_service, add_member, client, role
) -> None:
    alert = _heartbeat(org, make_service())
    assert evaluation.evaluate(now=time.time())["opened"] == 1
    client.force_login(add_member(org, f"{role}@acme.example", role).user)
    response = client.post(f"/o/{org.slug}/settings/delete/disable-firing/")
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.enabled and Firing.objects.get(alert=alert).is_open
    assert client.get(f"/o/{org.slug}/settings/delete/disable-firing/").status_code in (403, 405)


def test_an_alert_already_disabled_is_not_named_as_disabled_now(
    org, make_service, admin_client, pagerduty
) -> None:
    """Only the alerts disabled now are named "Disabled"; one already disabled whose firing
    was still open is named apart, with its firing cleared."""
    service = make_service()
    _heartbeat(org, service)
    already = _heartbeat(org, service, name="Nightly export")
    assert evaluation.evaluate(now=time.time())["opened"] == 2
    Alert.objects.filter(pk=already.pk).update(enabled=False)  # its firing left open

    text = _text(admin_client.post(f"/o/{org.slug}/settings/delete/disable-firing/", follow=True))
    assert "Disabled “Backup heartbeat”: it can't fire again" in text, text
    assert "Nightly export”:" not in text and "Disabled “Backup heartbeat”, “Nightly" not in text
    assert "“Nightly export” was already disabled: its open firing is cleared." in text
    assert not Firing.objects.filter(organization=org, cleared_at__isnull=True).exists()
