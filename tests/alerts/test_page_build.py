"""Pages that build fast: a past firing's deliveries load when it is opened (with a link
that works without script), the polled targets fragment answers 304 when nothing it shows
changed, the zone select is one string (the chosen zone still marked), times are written
as Django's date format writes them, and the dashboard reads only the problems it shows."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.dateformat import format as date_format

from alerts_saas.accounts.models import Organization
from alerts_saas.accounts.times import time_html, zones
from alerts_saas.alerts.models import Firing
from alerts_saas.alerts.mute_forms import ScheduleForm
from integrations.pagerduty.incidents.models import Incident
from integrations.pagerduty.models import Delivery, EventAction
from tests.dashboard.conftest import alert, delivery, fire, service

pytestmark = pytest.mark.django_db


def _past_firing(org: Organization) -> tuple[int, Firing]:
    checkout = service(org, "Checkout API")
    made = alert(org, "Checkout errors", checkout)
    past = fire(made, minutes_ago=90)
    past.cleared_at = timezone.now() - timedelta(minutes=60)
    past.save()
    trigger = delivery(org, checkout, made=made, firing=past, at=past.opened_at)
    resolve = delivery(
        org,
        checkout,
        made=made,
        firing=past,
        at=past.cleared_at,
        action=EventAction.RESOLVE,
        status=Delivery.Status.FAILED,
        last_error="PagerDuty answered 400",
    )
    Delivery.objects.filter(pk=resolve.pk).update(dedup_key=trigger.dedup_key)
    return made.pk, past


def test_a_past_firing_lists_what_it_sent_only_when_opened(
    admin_client: Client, org: Organization
) -> None:
    alert_id, past = _past_firing(org)
    page = admin_client.get(f"/o/{org.slug}/alerts/{alert_id}/").content.decode()
    row = page[page.index(f'id="firing-{past.pk}"') :]
    row = row[: row.index("</tr>")]
    # Closed: what was sent and what PagerDuty made of it, not each delivery's words.
    assert "1 trigger, accepted · 1 resolve, failed" in row
    assert "Trigger delivered at" not in row
    assert f'hx-get="/o/{org.slug}/alerts/{alert_id}/firings/{past.pk}/sent/"' in row
    # Without script: the link shows the page with that firing open.
    assert f'href="/o/{org.slug}/alerts/{alert_id}/?sent={past.pk}#firing-{past.pk}"' in row
    opened = admin_client.get(f"/o/{org.slug}/alerts/{alert_id}/?sent={past.pk}").content
    assert b"Trigger delivered at" in opened and b"Resolve failed: PagerDuty answered 400" in opened
    # What htmx loads on opening.
    body = admin_client.get(
        f"/o/{org.slug}/alerts/{alert_id}/firings/{past.pk}/sent/", HTTP_HX_REQUEST="true"
    ).content
    assert b"Trigger delivered at" in body and b"Resolve failed: PagerDuty answered 400" in body


def test_a_past_firing_of_another_organization_is_not_found(
    admin_client: Client, org: Organization, make_org, make_user
) -> None:
    other = make_org("Other", owner=make_user("other@else.example"))
    alert_id, past = _past_firing(other)
    own_id, _ = _past_firing(org)
    for url in (
        f"/o/{org.slug}/alerts/{own_id}/firings/{past.pk}/sent/",
        f"/o/{org.slug}/alerts/{alert_id}/firings/{past.pk}/sent/",
    ):
        assert admin_client.get(url, HTTP_HX_REQUEST="true").status_code == 404


def test_the_alert_page_reads_no_past_delivery_however_many_firings(
    admin_client: Client, org: Organization
) -> None:
    checkout = service(org, "Checkout API")
    made = alert(org, "Checkout errors", checkout)
    now = timezone.now()
    for n in range(20):
        past = Firing.objects.create(
            organization=org,
            alert=made,
            opened_at=now - timedelta(hours=n + 2),
            cleared_at=now - timedelta(hours=n + 1),
            count_at_open=5,
        )
        delivery(org, checkout, made=made, firing=past, at=past.opened_at)
    with CaptureQueriesContext(connection) as captured:
        page = admin_client.get(f"/o/{org.slug}/alerts/{made.pk}/").content.decode()
    assert page.count("1 trigger, accepted") == 20
    # The deliveries of the firings are counted, not loaded (the page's own delivery table
    # reads its page of 50 separately).
    loads = [
        q["sql"]
        for q in captured.captured_queries
        if 'FROM "pagerduty_delivery"' in q["sql"]
        and '"pagerduty_delivery"."firing_id" IN' in q["sql"]
        and "COUNT(" not in q["sql"]
    ]
    assert all('"alerts_firing"."cleared_at" IS NULL' in sql for sql in loads), loads


def test_the_targets_fragment_answers_304_until_what_it_shows_changes(
    admin_client: Client, org: Organization
) -> None:
    checkout = service(org, "Checkout API")
    made = alert(org, "Checkout errors", checkout)
    firing = fire(made)
    sent = delivery(org, checkout, made=made, firing=firing, status=Delivery.Status.QUEUED)
    url = f"/o/{org.slug}/alerts/{made.pk}/live/targets/"
    first = admin_client.get(url)
    assert first.status_code == 200 and first["ETag"]
    again = admin_client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""

    # The trigger is delivered: a new version.
    Delivery.objects.filter(pk=sent.pk).update(
        status=Delivery.Status.DELIVERED, delivered_at=timezone.now()
    )
    delivered = admin_client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert delivered.status_code == 200 and delivered["ETag"] != first["ETag"]
    assert b"Trigger delivered at" in delivered.content

    # PagerDuty opens (then changes) the incident: a new version each time.
    incident = Incident.objects.create(
        organization=org,
        service=checkout,
        dedup_key=sent.dedup_key,
        pd_incident_id="PINC1",
        status="triggered",
        status_changed_at=timezone.now(),
    )
    opened = admin_client.get(url, HTTP_IF_NONE_MATCH=delivered["ETag"])
    assert opened.status_code == 200 and opened["ETag"] != delivered["ETag"]
    incident.status = "acknowledged"
    incident.save()
    acked = admin_client.get(url, HTTP_IF_NONE_MATCH=opened["ETag"])
    assert acked.status_code == 200 and acked["ETag"] != opened["ETag"]
    assert admin_client.get(url, HTTP_IF_NONE_MATCH=acked["ETag"]).status_code == 304


def test_the_zone_select_marks_the_chosen_zone_without_a_widget_per_option(
    admin_client: Client, org: Organization
) -> None:
    owner = org.memberships.get().user
    owner.time_zone = "America/New_York"
    owner.save()
    response = admin_client.get("/profile/")
    page = response.content.decode()
    select = page[page.index('<select name="time_zone"') :]
    select = select[: select.index("</select>")]
    assert select.count("<option ") == len(zones())
    assert '<option value="America/New_York" selected>America/New York</option>' in select
    assert select.count(" selected") == 1
    assert "django/forms/widgets/select_option.html" not in [t.name for t in response.templates]

    form = ScheduleForm(prefix="weekly", initial={"time_zone": "Asia/Kolkata"})
    html = str(form["time_zone"])
    assert '<option value="Asia/Kolkata" selected>Asia/Kolkata</option>' in html
    assert 'name="weekly-time_zone"' in html and 'id="id_weekly-time_zone"' in html


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata", "UTC"])
@pytest.mark.parametrize("form", ["j M H:i:s", "H:i:s", "H:i", "j M Y, H:i", "D j M", r"\a\t H:i"])
def test_times_read_as_djangos_date_format_writes_them(zone: str, form: str) -> None:
    moment = datetime(2026, 3, 8, 6, 59, 7, tzinfo=UTC)
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        html = str(time_html(moment, form))
        shown = date_format(timezone.localtime(moment), form)
    assert html == (
        f'<time datetime="2026-03-08T06:59:07Z" title="8 Mar 2026, 06:59:07 UTC">{shown}</time>'
    )


def test_the_dashboard_reads_only_the_problems_it_shows(
    admin_client: Client, org: Organization
) -> None:
    checkout = service(org, "Checkout API")
    gone = service(org, "Gone", refused_at=timezone.now())
    for n in range(12):
        alert(org, f"Orphan {n:02d}")
    alert(org, "Refused only", gone)
    for n in range(30):
        alert(org, f"Fine {n:02d}", checkout)
    with CaptureQueriesContext(connection) as captured:
        page = admin_client.get(f"/o/{org.slug}/").content.decode()
    # What it says is as before: 13 broken paths, 8 shown (the refused service first).
    assert 'data-problems="13"' in page
    assert page.count('class="problem-item ') == 8
    assert "PagerDuty refuses Gone" in page and "Orphan 06 pages nobody" in page
    assert "Orphan 07 pages nobody" not in page
    assert "And 5 more" in page
    # The alerts' targets are read for the broken service (and the alerts it leaves without
    # a page) alone, not for every alert.
    reads = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith('SELECT "alerts_alert_targets"."pagerdutyservice_id"')
    ]
    assert reads and all(" IN (" in sql for sql in reads), reads
