"""Whom a firing reaches is what happened to it, not its alert's path as it stands now: a
firing whose fallback PagerDuty accepted is not "nobody" once the fallback is unset, and
is counted and ranked so; one whose triggers reached nobody still is, and so is one whose
only incident Tripwire resolved since (its service taken off the alert). The page's query
count does not grow with the firings."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.alerts import firings
from alerts_saas.alerts.models import Alert, Firing
from integrations.pagerduty.models import Delivery, EventAction, Reason
from tests.dashboard.conftest import alert, delivery, fire, refused, service
from tests.dashboard.test_dashboard import order_of, part

pytestmark = pytest.mark.django_db


def _refused_service(org, name: str):
    return service(org, name, refused_at=timezone.now(), refused_detail="Invalid routing key")


def _refused_trigger(org, made: Alert, firing: Firing) -> None:
    """The firing's trigger to its alert's one service, refused by PagerDuty."""
    trigger = refused(org, made.targets.get(), made, timezone.now())
    Delivery.objects.filter(pk=trigger.pk).update(firing=firing)


def _paged_through(org, made: Alert, firing: Firing, name: str) -> None:
    """The firing's own trigger refused, its copy to the fallback `name` accepted."""
    _refused_trigger(org, made, firing)
    gone = service(org, name)  # no longer the fallback (nor anything else)
    delivery(org, gone, made=made, firing=firing, reason=Reason.FALLBACK)


def test_a_firing_the_fallback_paged_is_not_said_to_page_nobody_once_it_is_unset(dashboard, org):
    rescued = alert(org, "DB errors", _refused_service(org, "Legacy DB"))
    _paged_through(org, rescued, fire(rescued, minutes_ago=1), "Android Sync")
    lonely = alert(org, "Search latency", _refused_service(org, "Old search"))
    _refused_trigger(org, lonely, fire(lonely, minutes_ago=5))

    page = dashboard()
    item = part(page, f"firing-{rescued.pk}")
    assert "Nobody is paged for it" not in item
    assert "Paged through the fallback, Android Sync." in item
    # Its path is still broken from now on, and says so apart from what the firing got.
    assert "Refused by PagerDuty" in item
    assert "Nobody is paged for it." in part(page, f"firing-{lonely.pk}")
    # The one that reached nobody first; and counted alone.
    shown = order_of(page, f"firing-{lonely.pk}", f"firing-{rescued.pk}")
    assert shown == sorted(shown)
    assert part(page, "dashboard-summary").startswith(
        "1 firing alert pages nobody. 2 alerts are firing."
    )


def test_a_firing_paged_by_its_own_service_does_not_name_the_fallback(dashboard, org):
    own = service(org, "Checkout API")
    made = alert(org, "Checkout errors", own)
    firing = fire(made)
    delivery(org, own, made=made, firing=firing)
    delivery(org, service(org, "Android Sync"), made=made, firing=firing, reason=Reason.FALLBACK)
    item = part(dashboard(), f"firing-{made.pk}")
    assert "Paged through the fallback" not in item and "Nobody is paged" not in item


def _moved_off(org, resolve_status: str) -> Alert:
    """A firing whose trigger to Checkout API PagerDuty accepted, its alert moved since to
    Legacy DB (refused): Tripwire resolved Checkout API's incident, PagerDuty answering
    `resolve_status`, and Legacy DB refused the trigger."""
    own = service(org, "Checkout API")
    made = alert(org, "Checkout errors", own)
    firing = fire(made)
    delivery(org, own, made=made, firing=firing)
    made.targets.set([_refused_service(org, "Legacy DB")])
    firings.sync_targets(firing, made, 5)
    sent = Delivery.objects.filter(firing=firing)
    sent.filter(event_action=EventAction.RESOLVE).update(status=resolve_status)
    sent.filter(service__name="Legacy DB").update(status=Delivery.Status.FAILED)
    assert Firing.objects.get(pk=firing.pk).cleared_at is None
    return made


def test_a_firing_whose_only_incident_tripwire_resolved_pages_nobody(dashboard, org, admin_client):
    made = _moved_off(org, Delivery.Status.DELIVERED)
    page = dashboard()
    assert part(page, "dashboard-summary").startswith("1 firing alert pages nobody.")
    assert "Nobody is paged for it." in part(page, f"firing-{made.pk}")
    detail = admin_client.get(f"/o/{org.slug}/alerts/{made.pk}/").content.decode()
    assert "Refused by PagerDuty: this firing pages nobody." in detail
    assert "its next firing pages nobody" not in detail


def test_a_refused_resolve_leaves_the_incident_open_so_the_firing_reaches_someone(
    dashboard, org, admin_client
):
    made = _moved_off(org, Delivery.Status.FAILED)
    page = dashboard()
    assert "pages nobody" not in part(page, "dashboard-summary")
    assert "Nobody is paged for it" not in part(page, f"firing-{made.pk}")
    detail = admin_client.get(f"/o/{org.slug}/alerts/{made.pk}/").content.decode()
    assert "Refused by PagerDuty: its next firing pages nobody." in detail


def _firing_queries(client, org) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"/o/{org.slug}/").status_code == 200
    return len(captured.captured_queries)


def test_judging_each_firing_costs_no_query_per_firing(admin_client, org):
    def rescued(n: int) -> None:
        made = alert(org, f"DB errors {n}", _refused_service(org, f"Legacy {n}"))
        _paged_through(org, made, fire(made, minutes_ago=n + 1), f"Fallback {n}")

    rescued(0)
    _firing_queries(admin_client, org)  # the first page of an organization remembers it
    one = _firing_queries(admin_client, org)
    for n in range(1, 6):
        rescued(n)
    page = admin_client.get(f"/o/{org.slug}/").content.decode()
    assert page.count("Paged through the fallback, Fallback") == 6
    assert _firing_queries(admin_client, org) == one
