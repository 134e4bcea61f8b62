"""The dashboard, the organization's home: each section with and without something to show,
most urgent first (firing alerts that page nobody, then firing ones, then broken paths);
the getting-started checklist ticking itself off as each step is really done; another
organization's alerts, deliveries and events never shown; and a fixed handful of queries
however much history there is."""

from __future__ import annotations

import html
import re
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.accounts.models import Invitation, Organization, Role
from alerts_saas.alerts import evaluation
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.counting import CounterSet, counts
from alerts_saas.alerts.models import Level
from alerts_saas.alerts.problems import problems
from alerts_saas.dashboard import failures, firing
from alerts_saas.dashboard.checklist import checklist
from alerts_saas.dashboard.events import events_panel
from alerts_saas.ingest import limits
from alerts_saas.ingest.models import IngestKey
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyAccount
from tests.dashboard.conftest import account, alert, delivery, fire, refused, service

pytestmark = pytest.mark.django_db

ERROR = {"app": "checkout", "level": "error", "message": "card declined"}


def part(page: str, element_id: str) -> str:
    """The element with this id (a section, article or details), as text."""
    found = re.search(
        rf'<(section|article|details|li|p|div)\b[^>]*\bid="{element_id}".*?</\1>', page, re.S
    )
    assert found is not None, f"no #{element_id}"
    return text(found.group(0))


def text(markup: str) -> str:
    spaced = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()
    return re.sub(r" ([,.;:)])", r"\1", spaced)


def order_of(page: str, *ids: str) -> list[int]:
    return [page.index(f'id="{element_id}"') for element_id in ids]


def steps(page: str) -> dict[str, bool]:
    return {
        key: done == "1"
        for key, done in re.findall(r'data-step="([\w-]+)" data-done="([01])"', page)
    }


# -- A new organization -------------------------------------------------------------------


def test_a_new_organization_sees_its_checklist_first_and_every_section_empty(dashboard, org):
    page = dashboard()
    assert order_of(page, "getting-started", "firing", "broken-paths") == sorted(
        order_of(page, "getting-started", "firing", "broken-paths")
    )
    checklist = part(page, "getting-started")
    assert "0 of 5 done" in checklist
    for todo in (
        "Create an ingest key",
        "Connect PagerDuty",
        "Define your first alert",
        "Send a test event",
        "Send your first event",
    ):
        assert todo in checklist
    for url in (
        f"/o/{org.slug}/settings/ingest-keys/",
        f"/o/{org.slug}/settings/integrations/",
        f"/o/{org.slug}/alerts/new/",
        "/api/v1/docs",
    ):
        assert f'href="{url}' in page
    assert "Invite your team." in checklist and f'href="/o/{org.slug}/settings/members/"' in page
    # Nothing set up is said as such, not as all green (tests/dashboard/test_dashboard_words.py).
    assert part(page, "dashboard-summary").startswith("No alert yet, so nothing can fire.")
    assert "No alert yet" in part(page, "firing")
    assert "PagerDuty is not connected" in part(page, "broken-paths")
    assert "Nothing was sent to PagerDuty yet." in part(page, "failed-deliveries")
    assert "No events yet." in part(page, "events")
    # The organization's URL is the dashboard, and signing in lands there.
    assert org.get_absolute_url() == f"/o/{org.slug}/"


def test_the_team_line_counts_members_and_pending_invitations(dashboard, org, add_member):
    add_member(org, "second@acme.example")
    Invitation.issue(org, "third@acme.example", Role.MEMBER, org.memberships.first().user)
    team = part(dashboard(), "team-line")
    assert "2 members" in team and "1 invitation pending" in team


# -- The checklist ticks itself off -------------------------------------------------------


def test_the_checklist_ticks_itself_off_as_each_step_is_done(dashboard, org, post_events):
    assert not any(steps(dashboard()).values())

    key, secret = IngestKey.issue(org, "web servers")
    assert steps(dashboard()) == {
        "ingest-key": True,
        "pagerduty": False,
        "first-alert": False,
        "test-alert": False,
        "first-event": False,
    }

    checkout = service(org, "Checkout API")
    assert steps(dashboard())["pagerduty"]

    made = alert(org, "Checkout errors", checkout, match_app="checkout", threshold=100)
    assert steps(dashboard())["first-alert"]

    delivery(org, checkout, is_test=True)
    page = dashboard()
    assert steps(page)["test-alert"] and not steps(page)["first-event"]
    assert "4 of 5 done" in part(page, "getting-started")

    # The first event, through the real API: the step ticks and the hour's count shows it.
    response = post_events(secret, [ERROR] * 3)
    assert response.status_code == 202, response.content
    page = dashboard()
    assert all(steps(page).values())
    events = part(page, "events")
    assert "3 events in the last hour" in events
    assert "the last batch came" in events
    assert post_events(secret, [ERROR, {"level": "loud"}]).status_code == 202
    assert "4 events in the last hour (and 1 refused)" in part(dashboard(), "events")
    made.refresh_from_db()
    counter = CounterSet.of(made)
    assert counts().totals([counter], time.time())[counter] == 4  # counting goes on as before

    # All done: the checklist folds into one line, after the sections, still openable.
    assert 'data-complete="1"' in page
    assert "Getting started: all 5 steps done." in part(page, "getting-started")
    assert page.index('id="events"') < page.index('id="getting-started"')
    assert '<details class="getting-started" id="getting-started"' in page

    # A step undone is unticked again: every key revoked, nothing can send.
    key.revoke(None)
    assert not steps(dashboard())["ingest-key"]


def test_the_checklist_goes_last_once_something_is_wrong(dashboard, org):
    fire(alert(org, "Checkout errors"))
    page = dashboard()
    assert page.index('id="firing"') < page.index('id="getting-started"')


# -- Firing alerts ------------------------------------------------------------------------


def test_firing_alerts_those_that_page_nobody_first_with_how_long_and_what_was_sent(dashboard, org):
    checkout = service(org, "Checkout API")
    paged = alert(
        org, "Checkout errors", checkout, match_app="checkout", threshold=3, window_minutes=5
    )
    now = time.time()
    [opened] = evaluation.record(
        org.pk,
        [
            Event(timestamp=now - 30 + i, message="x", app="checkout", level=Level.ERROR)
            for i in range(4)
        ],
    )
    opened.opened_at = timezone.now() - timedelta(minutes=95)
    opened.save()
    sent = delivery(org, checkout, made=paged, firing=opened)
    orphan = alert(org, "Edge heartbeat missing", kind="absence", threshold=1)
    fire(orphan, minutes_ago=3)
    gone = service(org, "Old service", refused_at=timezone.now(), refused_detail="Invalid key")
    refused_only = alert(org, "Search latency", gone)
    fire(refused_only, minutes_ago=1)
    quiet = alert(org, "A quiet alert", checkout)

    page = dashboard()
    section = part(page, "firing")
    # Both that can page nobody come first (no service at all before a refused one), then
    # the one that pages.
    shown = order_of(page, f"firing-{orphan.pk}", f"firing-{refused_only.pk}", f"firing-{paged.pk}")
    assert shown == sorted(shown)
    assert f"firing-{quiet.pk}" not in page
    nobody = part(page, f"firing-{orphan.pk}")
    assert nobody.startswith("Nobody is paged for it.")
    assert "Pages nobody" in nobody and "Add a service" in nobody
    assert f'href="/o/{org.slug}/alerts/{orphan.pk}/edit/"' in page
    assert "Nothing was sent to PagerDuty for this firing." in nobody
    assert "fires below 1" in nobody
    assert "Refused by PagerDuty" in part(page, f"firing-{refused_only.pk}")
    row = part(page, f"firing-{paged.pk}")
    assert "For 1 h 35 min, since" in row
    assert "4 matching events in 5 minutes now (fires at 3)" in row
    assert "Delivered Trigger to Checkout API" in row
    assert f'href="/o/{org.slug}/pagerduty/deliveries/{sent.pk}/"' in page
    assert f'href="/o/{org.slug}/alerts/{paged.pk}/"' in page
    assert "3" in section.split()[:3]
    assert part(page, "dashboard-summary").startswith(
        "2 firing alerts page nobody. 3 alerts are firing."
    )
    assert 'class="dash-summary is-nobody"' in page


def test_an_alert_whose_account_needs_reconnecting_still_pages_through_its_key(dashboard, org):
    stale = account(org, status=PagerDutyAccount.Status.NEEDS_RECONNECT)
    made = alert(org, "Invoices stuck", service(org, "Billing", account=stale, pd_service_id="PB"))
    fire(made)
    page = dashboard()
    row = part(page, f"firing-{made.pk}")
    assert "Nobody is paged" not in row and "Needs reconnecting" in row
    assert part(page, "dashboard-summary").startswith("1 alert is firing.")


def test_a_failed_trigger_shows_its_error_and_a_retrying_one_says_so(dashboard, org):
    checkout = service(org, "Checkout API")
    made = alert(org, "Checkout errors", checkout)
    trigger = delivery(
        org,
        checkout,
        made=made,
        firing=fire(made),
        status=Delivery.Status.FAILED,
        attempts=1,
        response_status=400,
        last_error="Event object is invalid; Invalid routing key",
    )
    row = part(dashboard(), f"firing-{made.pk}")
    assert "Failed Trigger to Checkout API" in row and "Invalid routing key" in row

    Delivery.objects.filter(pk=trigger.pk).update(
        status=Delivery.Status.QUEUED, attempts=2, last_error="PagerDuty answered 503: busy"
    )
    row = part(dashboard(), f"firing-{made.pk}")
    assert "Retrying Trigger to Checkout API" in row and "503: busy" in row


def test_more_firing_alerts_than_shown_link_to_the_list_of_them(dashboard, org):
    target = service(org, "Checkout API")
    for n in range(firing.SHOWN + 2):
        fire(alert(org, f"Alert {n:02d}", target), minutes_ago=n + 1)
    page = dashboard()
    assert page.count('class="firing-item') == firing.SHOWN
    assert "All 12 firing alerts (2 more not shown)" in part(page, "firing")
    assert f'href="/o/{org.slug}/alerts/?state=firing"' in page
    assert "12 alerts are firing." in part(page, "dashboard-summary")


def test_every_firing_alert_that_pages_nobody_is_counted_even_beyond_those_shown(dashboard, org):
    for n in range(firing.SHOWN + 3):
        fire(alert(org, f"Lonely {n:02d}"), minutes_ago=n + 1)
    fire(alert(org, "Paged", service(org, "Checkout API")))
    page = dashboard()
    assert page.count("Nobody is paged for it.") == firing.SHOWN
    assert part(page, "dashboard-summary").startswith(
        "13 firing alerts page nobody. 14 alerts are firing."
    )


def test_the_firing_count_when_the_count_store_is_down(dashboard, org, settings):
    fire(alert(org, "Checkout errors", service(org, "Checkout API"), threshold=5))
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    counts.cache_clear()
    try:
        page = dashboard()
    finally:
        counts.cache_clear()
    assert "5 matching events when it opened (fires at 5)" in part(page, "firing")
    assert "can't be read right now" in part(page, "events")


# -- Broken paths -------------------------------------------------------------------------


def test_broken_paths_each_with_its_fix(dashboard, org):
    gone = service(
        org, "Checkout API", refused_at=timezone.now(), refused_detail="Invalid routing key"
    )
    stale = account(
        org, "Acme EU", status=PagerDutyAccount.Status.NEEDS_RECONNECT, status_detail="revoked"
    )
    on_stale = service(org, "Billing", account=stale, pd_service_id="PBILL")
    alert(org, "Checkout errors", gone)
    alert(org, "Invoices stuck", on_stale)
    orphan = alert(org, "Edge heartbeat missing")
    alert(org, "Disabled and alone", enabled=False)

    page = dashboard()
    section = part(page, "broken-paths")
    assert "PagerDuty refuses Checkout API" in section
    assert "Alerts that page through it: Checkout errors." in section
    assert "PagerDuty account Acme EU needs reconnecting" in section
    assert "Pages still go out" in section and "revoked" not in section  # not broken
    assert "Edge heartbeat missing pages nobody" in section
    assert "Disabled and alone" not in section
    assert f'href="/o/{org.slug}/settings/integrations/#service-{gone.pk}"' in page
    assert "Reconnect" in section.split("needs reconnecting", 1)[1]
    assert f'href="/o/{org.slug}/alerts/{orphan.pk}/edit/"' in page
    assert part(page, "dashboard-summary") == (
        "Nothing is firing. 2 broken paging paths. 1 PagerDuty account needs reconnecting: "
        "pages still go out; acknowledging and on-call from Tripwire stopped."
    )
    assert 'class="dash-summary is-broken"' in page


def test_many_alerts_that_page_nobody_are_listed_in_part(dashboard, org):
    for n in range(12):
        alert(org, f"Lonely {n:02d}")
    page = dashboard()
    assert page.count('class="problem-item') == 8
    assert "And 4 more" in part(page, "broken-paths")
    assert f'href="/o/{org.slug}/alerts/?state=nobody"' in page


# -- Failed deliveries --------------------------------------------------------------------


def test_recent_failed_deliveries_in_words_with_links(dashboard, org):
    checkout = service(org, "Checkout API")
    made = alert(org, "Checkout errors", checkout)
    now = timezone.now()
    latest = refused(org, checkout, made, now - timedelta(hours=2))
    gave_up = delivery(
        org,
        checkout,
        status=Delivery.Status.FAILED,
        at=now - timedelta(hours=3),
        is_test=True,
        attempts=40,
        response_status=503,
        last_error="Gave up after 40 attempts over 24 hours. Last error: PagerDuty answered 503",
    )
    old = refused(org, checkout, made, now - timedelta(hours=30))
    delivery(org, checkout, made=made, at=now - timedelta(minutes=5))

    page = dashboard()
    section = part(page, "failed-deliveries")
    assert section.index("Trigger to Checkout API for Checkout errors") < section.index(
        "Test trigger to Checkout API"
    )
    assert "PagerDuty refused it (400): Event object is invalid; Invalid routing key" in section
    assert "Gave up after 40 attempts over 24 hours." in section
    assert f'href="/o/{org.slug}/pagerduty/deliveries/{latest.pk}/"' in page
    assert f'href="/o/{org.slug}/pagerduty/deliveries/{gave_up.pk}/"' in page
    assert f"failure-{old.pk}" not in page
    assert "All failed deliveries" in section
    assert f'href="/o/{org.slug}/deliveries/failed/"' in page

    for hours in range(6):
        refused(org, checkout, made, now - timedelta(minutes=10 + hours))
    section = part(dashboard(), "failed-deliveries")
    assert section.count("Trigger to Checkout API for") == failures.RECENT_SHOWN
    assert "3 more in the last 24 hours" in section


def test_the_failed_deliveries_page_goes_back_through_them_all(admin_client, org):
    checkout = service(org, "Checkout API")
    made = alert(org, "Checkout errors", checkout)
    now = timezone.now()
    made_failures = [refused(org, checkout, made, now - timedelta(hours=n)) for n in range(55)]
    delivery(org, checkout, made=made)
    first = admin_client.get(f"/o/{org.slug}/deliveries/failed/").content.decode()
    shown = [int(pk) for pk in re.findall(r'id="failure-(\d+)"', first)]
    assert shown == [d.pk for d in made_failures[: failures.PAGE_SIZE]]
    older = re.search(r'href="\?before=([\d-]+)" rel="next"', first)
    assert older is not None
    second = admin_client.get(f"/o/{org.slug}/deliveries/failed/?before={older.group(1)}")
    rest = [int(pk) for pk in re.findall(r'id="failure-(\d+)"', second.content.decode())]
    assert rest == [d.pk for d in made_failures[failures.PAGE_SIZE :]]
    assert 'rel="next"' not in second.content.decode()
    for junk in ("x", "1-", "-1", "9" * 30 + "-1", "99999999999999999-1"):
        page = admin_client.get(f"/o/{org.slug}/deliveries/failed/?before={junk}")
        assert page.status_code == 200


def test_no_failed_deliveries_page(admin_client, org):
    page = admin_client.get(f"/o/{org.slug}/deliveries/failed/").content.decode()
    assert "Nothing was sent to PagerDuty yet, so nothing could fail." in page


# -- Events -------------------------------------------------------------------------------


def test_events_a_quiet_hour_after_earlier_ones(dashboard, org):
    key, _ = IngestKey.issue(org, "web servers")
    IngestKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now() - timedelta(hours=3))
    events = part(dashboard(), "events")
    assert "No events in the last hour. The last batch came 3 hours ago" in events


def test_without_redis_the_events_and_counts_come_from_the_database(
    dashboard, org, settings, post_events
):
    """The embedded default: the allowance, the counts and the activity without Redis."""
    settings.REDIS_URL = ""
    limits.allowance.cache_clear()
    counts.cache_clear()
    try:
        made = alert(org, "Checkout errors", match_app="checkout", threshold=2)
        _, secret = IngestKey.issue(org, "web servers")
        assert post_events(secret, [ERROR] * 3).status_code == 202
        page = dashboard()
    finally:
        limits.allowance.cache_clear()
        counts.cache_clear()
    assert "3 events in the last hour" in part(page, "events")
    assert "3 matching events in 5 minutes now (fires at 2)" in part(page, f"firing-{made.pk}")
    assert steps(page)["first-event"]


# -- Tenants ------------------------------------------------------------------------------


def test_another_organizations_alerts_deliveries_and_events_never_show(
    dashboard, admin_client, org, make_org, post_events
):
    theirs = make_org("Globex")
    their_service = service(theirs, "Globex pager", refused_at=timezone.now())
    their_alert = alert(theirs, "Globex is down", their_service)
    fire(their_alert)
    fire(alert(theirs, "Globex orphan"))
    refused(theirs, their_service, their_alert, timezone.now())
    delivery(theirs, their_service, is_test=True)
    _, secret = IngestKey.issue(theirs, "theirs")
    assert post_events(secret, [ERROR] * 7).status_code == 202

    page = dashboard()
    assert "Globex" not in page
    assert "No alert yet, so nothing can fire." in part(page, "firing")
    assert "PagerDuty is not connected" in part(page, "broken-paths")
    assert "Nothing was sent to PagerDuty yet." in part(page, "failed-deliveries")
    assert "No events yet." in part(page, "events")
    assert not any(steps(page).values())
    failed = admin_client.get(f"/o/{org.slug}/deliveries/failed/").content.decode()
    assert "Globex" not in failed and "Nothing was sent to PagerDuty yet" in failed


# -- Live ---------------------------------------------------------------------------------


def test_the_live_part_is_the_sections_alone_and_refreshes_itself(admin_client, org):
    page = admin_client.get(f"/o/{org.slug}/").content.decode()
    assert f'hx-get="/o/{org.slug}/dashboard/live/"' in page
    live = admin_client.get(f"/o/{org.slug}/dashboard/live/").content.decode()
    assert "<html" not in live and 'id="dashboard-live"' in live and 'id="firing"' in live
    assert admin_client.post(f"/o/{org.slug}/dashboard/live/").status_code == 405


# -- Queries ------------------------------------------------------------------------------


def _queries(client: Client, org: Organization) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/o/{org.slug}/")
    assert response.status_code == 200
    return [q["sql"] for q in captured]


def test_the_dashboard_costs_the_same_few_queries_however_much_history(
    admin_client, org, django_assert_max_num_queries
):
    checkout = service(org, "Checkout API")
    stale = account(org, status=PagerDutyAccount.Status.NEEDS_RECONNECT)
    service(org, "Billing", account=stale, pd_service_id="PB")
    service(org, "Gone", refused_at=timezone.now())
    made = alert(org, "Checkout errors", checkout)
    opened = fire(made)
    delivery(org, checkout, made=made, firing=opened)
    refused(org, checkout, made, timezone.now())
    fire(alert(org, "Orphan"))
    _queries(admin_client, org)  # the first page of an organization remembers it in the session
    small = _queries(admin_client, org)

    # Much more of everything: alerts, firing ones, history, failures, tests, keys, members.
    now = timezone.now()
    more = [alert(org, f"More {n:03d}", checkout) for n in range(150)]
    for n, extra in enumerate(more[:30]):
        extra_firing = fire(extra, minutes_ago=n)
        delivery(org, checkout, made=extra, firing=extra_firing)
    Delivery.objects.bulk_create(
        [
            Delivery(
                organization=org,
                service=checkout,
                service_name=checkout.name,
                alert=more[n % 150],
                region="us",
                routing_key="0" * 32,
                event_action=EventAction.TRIGGER,
                dedup_key=f"h-{n}",
                body={},
                status=Delivery.Status.FAILED if n % 7 == 0 else Delivery.Status.DELIVERED,
                is_test=n % 50 == 0,
                created_at=now - timedelta(minutes=n),
            )
            for n in range(2000)
        ]
    )
    for n in range(10):
        IngestKey.issue(org, f"key {n}")
    large = _queries(admin_client, org)
    assert len(large) == len(small), "\n".join(large)
    with django_assert_max_num_queries(len(small)):
        admin_client.get(f"/o/{org.slug}/")
    assert not any("routing_key" in sql for sql in large)
    # Its own: the firing alerts (4, and 2 for their incidents in PagerDuty), the broken
    # paths (6: with which alerts they meet are firing), the checklist (1), the failures (1).
    with django_assert_max_num_queries(14):
        _sections(org)


def _sections(org: Organization) -> None:
    now = timezone.now()
    firing.firing_section(org, now)
    problems(org)
    checklist(org)
    failures.recent_failures(org, now)
    events_panel(org.pk, now, None)
