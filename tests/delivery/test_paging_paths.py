"""Paging paths: a service PagerDuty refuses is marked and its alerts' triggers reach the
fallback service; a delivery that gets through marks it healthy again. A real worker sends
to the sandbox, where the integration is removed as a person would in PagerDuty."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from alerts_saas.alerts import firings
from alerts_saas.alerts.models import Alert, Firing
from integrations.pagerduty import delivery as engine
from integrations.pagerduty import paths
from integrations.pagerduty.events import EventResult
from integrations.pagerduty.models import (
    Delivery,
    EventAction,
    PagerDutyAccount,
    PagerDutyService,
    Reason,
)
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
PAYLOAD = {"summary": "Does the new key page?", "source": "tests", "severity": "info"}


def _alert(org, *targets: PagerDutyService, name: str = "Checkout errors") -> Alert:
    alert = Alert.objects.create(organization=org, name=name, threshold=1)
    alert.targets.set(targets)
    return alert


def _open(alert: Alert) -> Firing:
    with transaction.atomic():
        firing = firings.open_firing(alert, 5, timezone.now())
    assert firing is not None
    return firing


def _settled(*deliveries: Delivery, timeout: float = 30) -> list[Delivery]:
    def done() -> list[Delivery] | None:
        rows = [Delivery.objects.get(pk=d.pk) for d in deliveries]
        return rows if all(r.is_final for r in rows) else None

    return wait_for(done, timeout=timeout, interval=0.2, message="the deliveries to settle")


def _accepted(pagerduty, dedup_key: str, action: str) -> dict:
    def landed() -> dict | None:
        return next(
            (
                e
                for e in pagerduty.events(dedup_key=dedup_key)
                if e["status_code"] == 202 and e["body"]["event_action"] == action
            ),
            None,
        )

    return wait_for(landed, timeout=30, interval=0.2, message=f"a {action} for {dedup_key}")


# -- What counts as a refused key -----------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "refused"),
    [
        (EventResult(400, "Event object is invalid", ["Invalid routing key"]), True),
        (EventResult(400, "Invalid routing key: no integration with this key"), True),
        (EventResult(400, "invalid event", ["Length of 'routing_key' is incorrect"]), True),
        (EventResult(400, "Event object is invalid", ["'payload.summary' is missing"]), False),
        (EventResult(429, "Rate limit reached", ["routing key over its limit"]), False),
        (EventResult(500, "Internal error"), False),
        (EventResult(202, "Event processed"), False),
    ],
)
def test_only_a_400_about_the_routing_key_counts_as_refused(result, refused):
    assert paths.refuses_key(result) is refused


# -- With a real worker and the sandbox -----------------------------------------------------


def test_a_removed_integration_marks_the_service_and_the_fallback_is_paged_instead(
    celery_worker, org, make_service, pagerduty, admin_client
):
    edge = make_service("Checkout API 001")
    backup = make_service("Checkout API 002")
    PagerDutyService.objects.filter(pk=backup.pk).update(is_fallback=True)
    pagerduty.remove_integration(edge.integration_id)  # someone removed it in PagerDuty
    alert = _alert(org, edge)

    firing = _open(alert)
    [trigger] = _settled(*firing.deliveries.all())
    assert trigger.status == Delivery.Status.FAILED
    assert "Invalid routing key" in trigger.last_error
    edge.refresh_from_db()
    assert edge.refused_at is not None and "Invalid routing key" in edge.refused_detail

    # The fallback got the page, saying why, under one key for the whole firing.
    key = engine.fallback_dedup_key(org.pk, firing.pk, backup.pk)
    event = _accepted(pagerduty, key, "trigger")["body"]
    reason = event["payload"]["custom_details"]["fallback_reason"]
    assert "Checkout API 001" in reason and "refused its integration key" in reason
    assert event["payload"]["summary"] == trigger.body["payload"]["summary"]
    fallback = Delivery.objects.get(dedup_key=key)
    assert fallback.service_id == backup.pk and fallback.reason == Reason.FALLBACK
    assert fallback.firing_id == firing.pk and fallback.alert_id == alert.pk

    # The alert's page says the path is broken and what each target got.
    page = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    assert 'data-health="refused"' in page and "Refused by PagerDuty" in page
    assert "Fix it in Integrations" in page
    assert "Trigger failed: " in page and "Invalid routing key" in page
    assert "Fallback</span>: Trigger delivered at" in page
    # ... and so do the list and the integrations page.
    listing = admin_client.get(f"/o/{org.slug}/alerts/").content.decode()
    assert 'data-health="refused"' in listing
    integrations = admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert 'data-health="refused"' in integrations

    # When the firing clears, the fallback's incident is resolved too.
    with transaction.atomic():
        assert firings.clear_firing(firing, Firing.ClearReason.CLEARED, timezone.now())
    _accepted(pagerduty, key, "resolve")
    resolve = Delivery.objects.get(dedup_key=key, event_action=EventAction.RESOLVE)
    assert resolve.reason == Reason.CLEARED


def test_a_target_known_to_be_broken_pages_the_fallback_at_once_and_only_once(
    org, make_service, pagerduty, connected_service
):
    refused = make_service("Checkout API 002")
    PagerDutyService.objects.filter(pk=refused.pk).update(
        refused_at=timezone.now(), refused_detail="Invalid routing key"
    )
    backup = make_service("Checkout API 003")
    PagerDutyService.objects.filter(pk=backup.pk).update(is_fallback=True)
    PagerDutyAccount.objects.filter(pk=connected_service.account_id).update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT
    )
    alert = _alert(org, refused, connected_service)

    firing = _open(alert)
    sent = {d.service_id: d for d in firing.deliveries.all()}
    # Both targets still get their trigger (a key may work again); the fallback gets one.
    assert set(sent) == {refused.pk, connected_service.pk, backup.pk}
    fallback = sent[backup.pk]
    assert fallback.reason == Reason.FALLBACK
    assert "can't page" in fallback.body["payload"]["custom_details"]["fallback_reason"]

    # An edit that syncs the targets neither resolves the fallback's incident nor pages it
    # again.
    alert.targets.set([connected_service])
    with transaction.atomic():
        firings.sync_targets(firing, alert, 5)
    fallback_rows = firing.deliveries.filter(service=backup)
    assert list(fallback_rows.values_list("event_action", flat=True)) == ["trigger"]
    removed = firing.deliveries.get(service=refused, event_action=EventAction.RESOLVE)
    assert removed.reason == Reason.TARGET_REMOVED


def test_without_a_fallback_nothing_extra_is_sent(org, make_service, pagerduty):
    refused = make_service("Checkout API 002")
    PagerDutyService.objects.filter(pk=refused.pk).update(refused_at=timezone.now())
    firing = _open(_alert(org, refused))
    assert firing.deliveries.count() == 1


def test_a_delivery_that_gets_through_marks_the_service_healthy_again(
    celery_worker, org, make_service, pagerduty, admin_client
):
    service = make_service("Checkout API 001")
    PagerDutyService.objects.filter(pk=service.pk).update(
        refused_at=timezone.now(),
        refused_detail="Invalid routing key",
        failing_since=timezone.now(),
        failing_detail="Gave up",
    )
    other = make_service("Checkout API 002")
    PagerDutyService.objects.filter(pk=other.pk).update(refused_at=timezone.now())

    response = admin_client.post(
        f"/o/{org.slug}/settings/integrations/pagerduty/services/{service.pk}/test/",
        {"confirm": "1"},
    )
    assert response.status_code == 302
    [test] = _settled(*Delivery.objects.filter(service=service, event_action="trigger"))
    assert test.status == Delivery.Status.DELIVERED
    service.refresh_from_db()
    assert service.refused_at is None and service.refused_detail == ""
    assert service.failing_since is None and service.failing_detail == ""
    other.refresh_from_db()
    assert other.refused_at is not None  # only the service that was reached


def test_failures_are_recorded_once_with_their_first_words(org, make_service, pagerduty):
    service = make_service("Checkout API 001")
    first = paths.Outcome(service.pk, refused=False, detail="Gave up after 9 attempts")
    assert paths.record([first]) == set()
    paths.record([paths.Outcome(service.pk, refused=False, detail="later words")])
    assert paths.record([paths.Outcome(service.pk, refused=True, detail="Invalid key")]) == {
        service.pk
    }
    assert paths.record([paths.Outcome(service.pk, refused=True, detail="again")]) == set()
    service.refresh_from_db()
    assert service.failing_detail == "Gave up after 9 attempts"
    assert service.refused_detail == "Invalid key"
    health = paths.service_health(PagerDutyService.objects.select_related("account").get())
    assert health.state == paths.PathState.REFUSED and not health.can_page
    assert paths.heal([service.pk]) == 1
    assert paths.service_health(PagerDutyService.objects.get()).ok


# -- Choosing the fallback ------------------------------------------------------------------


def test_one_fallback_service_per_organization_chosen_by_an_admin(
    org, make_service, pagerduty, admin_client, client, make_org, make_user, add_member
):
    first, second = make_service("Checkout API 001"), make_service("Checkout API 002")
    url = "/o/{slug}/settings/integrations/pagerduty/services/{pk}/fallback/"
    assert (
        admin_client.post(url.format(slug=org.slug, pk=first.pk), {"use": "1"}).status_code == 302
    )
    admin_client.post(url.format(slug=org.slug, pk=second.pk), {"use": "1"})
    assert list(PagerDutyService.objects.filter(is_fallback=True)) == [second]
    page = admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert "<strong>Checkout API 002</strong> is the fallback service" in page
    admin_client.post(url.format(slug=org.slug, pk=second.pk), {"use": "0"})
    assert not PagerDutyService.objects.filter(is_fallback=True).exists()
    assert (
        "No fallback service"
        in admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    )

    # Not by a member, not through GET, not on another organization's service.
    member = make_user("member@acme.example")
    add_member(org, member, role="member")
    client.force_login(member)
    assert client.post(url.format(slug=org.slug, pk=first.pk), {"use": "1"}).status_code == 403
    admin_client.force_login(org.memberships.get(role="owner").user)
    assert admin_client.get(url.format(slug=org.slug, pk=first.pk)).status_code == 405
    other = make_org("Other Co", owner=make_user("boss@other.example"))
    theirs = PagerDutyService.objects.create(
        organization=other, name="Theirs", integration_key="k" * 32
    )
    response = admin_client.post(url.format(slug=org.slug, pk=theirs.pk), {"use": "1"})
    assert response.status_code == 404
    assert not PagerDutyService.objects.filter(is_fallback=True).exists()


def test_a_refused_service_chosen_again_gets_a_new_integration_that_pages(
    org, connected_service, pagerduty, admin_client
):
    pagerduty.remove_integration(connected_service.integration_id)
    old_key = connected_service.integration_key
    PagerDutyService.objects.filter(pk=connected_service.pk).update(
        refused_at=timezone.now(), refused_detail="Invalid routing key"
    )
    integrations = admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert "Choose it again under “Add services”" in integrations

    picker = (
        f"/o/{org.slug}/settings/integrations/pagerduty/accounts/"
        f"{connected_service.account_id}/services/"
    )
    page = admin_client.get(picker).content.decode()
    row = page[page.index(f'value="{connected_service.pd_service_id}"') - 60 :]
    row = row[: row.index("</label>")]
    assert "disabled" not in row and "Integration removed in PagerDuty" in row

    admin_client.post(picker, {"service": [connected_service.pd_service_id]})
    service = PagerDutyService.objects.select_related("account").get(pk=connected_service.pk)
    assert service.integration_key != old_key and service.refused_at is None
    assert paths.service_health(service).ok
    # The new key pages.
    with transaction.atomic():
        [test] = engine.queue(
            [engine.build_event(service, EventAction.TRIGGER, "tripwire-test-new-key", PAYLOAD)]
        )
    assert engine.attempt(test.pk) == Delivery.Status.DELIVERED
