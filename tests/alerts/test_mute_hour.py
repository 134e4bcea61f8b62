""" "Mute 1 h" beside an open firing's Resolve: one click at 3 a.m. mutes the alert for an
hour (a window like "Mute now…" for 1 hour makes, in the activity log), the confirmation
says only what muting does (no new pages; the open incident stays open in PagerDuty), and
the page then shows the mute with "Unmute"."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, Firing, MuteWindow
from alerts_saas.audit.models import Entry
from tests.alerts.mute_hour_setup import checkout_alert
from tests.alerts.mute_hour_setup import firing_actions as _firing_actions
from tests.alerts.mute_hour_setup import text as _text
from tests.dashboard.conftest import delivery

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def alert(org: Organization) -> Alert:
    made = checkout_alert(org)
    # PagerDuty took its trigger: an incident is open (what "stays open" speaks of).
    delivery(org, made.targets.get(), made=made, firing=made.firings.get())
    return made


def test_mute_1_h_beside_resolve_mutes_for_an_hour_and_says_only_what_it_does(
    org, alert, admin_client
) -> None:
    page = f"/o/{org.slug}/alerts/{alert.pk}/"
    actions = _firing_actions(admin_client.get(page).content)
    assert 'id="resolve-firing"' in actions
    assert f'action="{page}mute/hour/"' in actions and 'method="post"' in actions
    assert "csrfmiddlewaretoken" in actions and ">Mute 1 h</button>" in actions

    before = timezone.now()
    response = admin_client.post(f"{page}mute/hour/", follow=True)
    assert response.redirect_chain == [(page, 302)]
    window = MuteWindow.objects.get()
    assert window.alert_id == alert.pk and window.organization_id == org.pk
    assert window.created_by.email == "owner@acme.example" and not window.is_weekly
    assert before <= window.starts_at <= timezone.now()
    assert window.ends_at - window.starts_at == timedelta(hours=1)

    until = window.ends_at.astimezone(PARIS)
    text = _text(response.content)
    assert (
        f"Muted until {until:%H:%M} CET: no new pages for “Checkout errors” until then. "
        "The incident already open in PagerDuty stays open: acknowledge or resolve it there."
    ) in text
    # The page shows the mute where the button was, with "Unmute" (ends this window).
    actions = _firing_actions(response.content)
    assert ">Mute 1 h</button>" not in actions and 'id="unmute"' in actions
    assert f'action="/o/{org.slug}/alerts/mutes/{window.pk}/end/"' in actions
    assert f"Muted until {until:%a} {until.day} {until:%b %H:%M} CET" in _text(actions.encode())

    [entry] = Entry.objects.filter(object_type="mute_window")
    assert entry.action == "created" and entry.organization_id == org.pk
    assert entry.actor_label == "owner@acme.example" and entry.object_id == str(window.pk)


def test_unmute_ends_it_and_mute_1_h_is_back(org, alert, admin_client) -> None:
    page = f"/o/{org.slug}/alerts/{alert.pk}/"
    admin_client.post(f"{page}mute/hour/")
    window = MuteWindow.objects.get()
    response = admin_client.post(
        f"/o/{org.slug}/alerts/mutes/{window.pk}/end/", {"from": "detail"}, follow=True
    )
    assert response.redirect_chain == [(page, 302)]
    window.refresh_from_db()
    assert window.ends_at <= timezone.now()
    assert ">Mute 1 h</button>" in _firing_actions(response.content)


def test_mute_1_h_refuses_get_another_organization_and_a_post_without_csrf(
    org, alert, admin_client, make_org, make_user
) -> None:
    url = f"/o/{org.slug}/alerts/{alert.pk}/mute/hour/"
    assert admin_client.get(url).status_code == 405
    other = make_org("Other Ops", owner=make_user("owner@other.example"))
    theirs = Alert.objects.create(organization=other, name="Theirs", threshold=1)
    # Their alert under our organization's address, and our alert under theirs: not found.
    assert admin_client.post(f"/o/{org.slug}/alerts/{theirs.pk}/mute/hour/").status_code == 404
    assert admin_client.post(f"/o/{other.slug}/alerts/{alert.pk}/mute/hour/").status_code in (
        403,
        404,
    )
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(org.memberships.get().user)
    assert strict.post(url).status_code == 403
    assert not MuteWindow.objects.exists()


def test_no_mute_1_h_without_an_open_firing(org, alert, admin_client) -> None:
    Firing.objects.filter(alert=alert).update(cleared_at=timezone.now())
    page = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    assert "Mute 1 h" not in page and "Mute…" in page


def test_mute_1_h_reads_the_open_firings_deliveries_in_one_query(
    org, alert, admin_client, django_assert_num_queries
) -> None:
    """The confirmation reads the open firings' deliveries through the firing, in one query
    (no query for the firings' ids first); a cleared firing's retried trigger is not spoken
    of."""
    service = alert.targets.get()
    cleared = Firing.objects.create(
        organization=org, alert=alert, count_at_open=2, cleared_at=timezone.now()
    )
    delivery(org, service, made=alert, firing=cleared, status="queued", attempts=1)
    url = f"/o/{org.slug}/alerts/{alert.pk}/mute/hour/"
    # Session, user, membership; the alert locked, its mutes, the window and its log entry;
    # the deliveries and PagerDuty's incidents for its accepted trigger; the organization;
    # the session saved (savepoints included).
    with django_assert_num_queries(15) as captured:
        response = admin_client.post(url)
    assert response.status_code == 302
    reads = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    assert not [sql for sql in reads if 'FROM "alerts_firing"' in sql]
    [deliveries] = [sql for sql in reads if 'FROM "pagerduty_delivery"' in sql]
    assert 'INNER JOIN "alerts_firing"' in deliveries
    text = _text(admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content)
    assert "no new pages for “Checkout errors” until then. The incident already open" in text
    assert "retried" not in text
