"""Each person's time zone: chosen on their profile (reached from the user menu), used for
every time a page shows, which is always one `<time>` with its UTC time on hover; and
relative times in words that never say "0 minutes"."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone
from playwright.sync_api import Browser, expect

from alerts_saas.accounts.models import Membership
from alerts_saas.accounts.times import ago, time_html, until
from tests.browser import sign_in

pytestmark = pytest.mark.django_db

LATE = datetime(2026, 3, 14, 23, 30, 5, tzinfo=UTC)  # already the 15th in Paris
TAG = '<time datetime="2026-03-14T23:30:05Z" title="14 Mar 2026, 23:30:05 UTC">'


def render(source: str, **context: object) -> str:
    return Template("{% load times %}" + source).render(Context(context))


def test_the_tag_shows_the_active_zone_with_utc_in_datetime_and_on_hover():
    with timezone.override("Europe/Paris"):
        shown = render('{% timestamp when "j M H:i" %}', when=LATE)
    assert shown == (f"{TAG}15 Mar 00:30</time>")
    assert render("{% timestamp when %}", when=LATE) == (
        '<time datetime="2026-03-14T23:30:05Z" title="14 Mar 2026, 23:30:05 UTC">'
        "14 Mar 2026, 23:30</time>"
    )
    assert render("{% timestamp when %}", when=None) == ""


def test_relative_times_never_say_zero_minutes():
    now = timezone.now()
    assert ago(now - timedelta(seconds=20), now) == "just now"
    assert ago(now - timedelta(minutes=5), now) == "5\xa0minutes ago"
    assert until(now + timedelta(seconds=20), now) == "in under a minute"
    assert until(now - timedelta(seconds=5), now) == "in under a minute"  # due already
    assert until(now + timedelta(minutes=5, seconds=1), now) == "in 5\xa0minutes"
    soon = time_html(timezone.now() + timedelta(seconds=10), "until")
    assert ">in under a minute</time>" in soon and 'datetime="' in soon


def test_the_profile_is_in_the_user_menu_and_its_zone_is_used_on_every_page(client, org):
    owner = Membership.objects.get(organization=org).user
    client.force_login(owner)
    Membership.objects.filter(pk=org.memberships.get().pk).update(created_at=LATE)
    members = client.get(f"/o/{org.slug}/settings/members/").content.decode()
    assert 'href="/profile/">Profile and time zone</a>' in members
    assert (
        '<time datetime="2026-03-14T23:30:05Z" title="14 Mar 2026, 23:30:05 UTC">14 Mar 2026'
        in members
    )

    page = client.get("/profile/").content.decode()
    assert '<option value="UTC" selected>UTC</option>' in page
    assert "You have not chosen one yet: times are shown in UTC." in page
    assert '<option value="America/New_York">America/New York</option>' in page

    refused = client.post("/profile/", {"time_zone": "Mars/Olympus_Mons"})
    assert refused.status_code == 400
    assert "Choose a time zone from the list." in refused.content.decode()
    owner.refresh_from_db()
    assert owner.time_zone == ""

    saved = client.post("/profile/", {"time_zone": "Europe/Paris"}, follow=True)
    assert "Saved. Times are now shown in Europe/Paris." in saved.content.decode()
    assert re.search(r"It is \d\d:\d\d in Europe/Paris now\.", saved.content.decode())
    owner.refresh_from_db()
    assert owner.time_zone == "Europe/Paris"
    members = client.get(f"/o/{org.slug}/settings/members/").content.decode()
    assert (
        '<time datetime="2026-03-14T23:30:05Z" title="14 Mar 2026, 23:30:05 UTC">15 Mar 2026'
        in members
    )


def test_a_first_visit_suggests_the_browsers_zone(live_server, browser: Browser, org, screenshot):
    context = browser.new_context(timezone_id="Asia/Tokyo")
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "owner@acme.example")
        page.locator("summary", has_text="owner@acme.example").click()
        page.get_by_role("link", name="Profile and time zone").click()
        expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
        expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
        expect(page.locator("#time-zone-guess")).to_have_text(
            "Your browser says Asia/Tokyo: save to keep times there, whichever browser you use."
        )
        screenshot(page, "profile-time-zone-guess")
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".flash")).to_have_text("Saved. Times are now shown in Asia/Tokyo.")
        expect(page.locator("#time-zone-guess")).to_be_hidden()
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
def test_the_alert_chart_reads_in_the_persons_zone(live_server, browser: Browser, org):
    from tests.alerts.test_alert_chart_browser import _new_alert_with_events

    owner = Membership.objects.get(organization=org).user
    owner.time_zone = "Asia/Kolkata"  # UTC+05:30: none of its times is a UTC time
    owner.save(update_fields=["time_zone"])
    alert = _new_alert_with_events(org)
    context = browser.new_context()
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "owner@acme.example")
        page.goto(f"{live_server.url}/o/{org.slug}/alerts/{alert.pk}/")
        chart = page.locator("#alert-chart")
        expect(chart.locator("canvas")).to_have_count(1)
        expect(page.locator("main")).to_contain_text("Times in Asia/Kolkata.")
        legend = chart.locator(".u-legend .u-series").first
        expect(legend.locator(".u-label")).to_have_text("Time (Asia/Kolkata)")
        shown = legend.locator(".u-value").inner_text()
        local = timezone.localtime(timezone.now(), ZoneInfo("Asia/Kolkata"))
        assert re.fullmatch(rf"{local.day} \w+ {local:%H}:\d\d:\d\d", shown), shown
    finally:
        context.close()
