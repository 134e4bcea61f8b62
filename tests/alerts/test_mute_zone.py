""" "No time zone chosen": one rule across the product (accounts/times.py `page_zone`).
Times are shown and read in the profile's zone; while none is chosen, in the browser's
(remembered in a cookie by static/js/browser-zone.js); else UTC. Every page says which,
with a link to choose one. A person in New York with no zone chosen who types "until 06:00"
mutes until 06:00 in New York, and every page then says "until 06:00"."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.accounts.times import ZONE_COOKIE, PageZone, page_zone
from alerts_saas.alerts.models import Alert, MuteWindow
from tests.browser import sign_in
from tests.tenant_objects import _pd_service

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def alert(org: Organization) -> Alert:
    made = Alert.objects.create(organization=org, name="Checkout errors", threshold=1)
    made.targets.add(_pd_service(org, org.memberships.get().user))
    return made


def _typed(delta: timedelta, zone: ZoneInfo = NEW_YORK) -> str:
    """What a person in `zone` types for now + delta, in a datetime-local field."""
    return (timezone.now() + delta).astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def _mute(client, org, alert, **posted: str):
    return client.post(
        f"/o/{org.slug}/alerts/{alert.pk}/mute/",
        {"kind": "once", "mute-length": "until", **posted},
        follow=True,
    )


def _text(response) -> str:
    spaced = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))
    return re.sub(r" ([,.;:)])", r"\1", spaced)


def _choose(org: Organization, name: str) -> None:
    owner = org.memberships.get().user
    owner.time_zone = name
    owner.save()


def test_the_rule_profile_then_browser_then_utc() -> None:
    assert page_zone("Asia/Tokyo", "America/New_York") == PageZone("Asia/Tokyo", "profile")
    assert page_zone("", "America/New_York") == PageZone("America/New_York", "browser")
    assert page_zone("", "") == PageZone("UTC", "none")
    # A name Tripwire doesn't know counts as none, from either side.
    assert page_zone("Mars/Olympus_Mons", "Mars/Base") == PageZone("UTC", "none")
    assert page_zone("", "America/New_York").label == "America/New York"
    assert not page_zone("", "America/New_York").chosen


@pytest.mark.django_db
def test_every_page_says_which_zone_its_times_are_in(org, alert, admin_client) -> None:
    detail = f"/o/{org.slug}/alerts/{alert.pk}/"
    page = _text(admin_client.get(detail))
    assert "Times are in UTC (none is chosen in your profile) — choose one in your profile." in (
        page
    )
    assert "Times are in UTC (you have not set a time zone) · Choose a time zone" in page

    admin_client.cookies[ZONE_COOKIE] = "America/New_York"
    for path in (detail, f"/o/{org.slug}/", f"/o/{org.slug}/alerts/", "/profile/"):
        assert (
            "Times are in America/New York, your browser's time zone (you have not set one) · "
            "Choose a time zone" in _text(admin_client.get(path))
        ), path
    page = _text(admin_client.get(detail))
    assert "Times are in America/New York (your browser's: none is chosen in your profile)" in (
        page
    )
    profile = _text(admin_client.get("/profile/"))
    assert "times are shown in your browser's zone, America/New York." in profile

    # Who has chosen a zone sees it, as before; the foot of the page says it is their setting.
    _choose(org, "Asia/Tokyo")
    page = _text(admin_client.get(detail))
    assert "Times are in Asia/Tokyo — change it in your profile." in page
    assert "none is chosen" not in page
    services = _text(admin_client.get(f"/o/{org.slug}/settings/integrations/"))
    assert "Times are in Asia/Tokyo — change it in your profile." in services


@pytest.mark.django_db
def test_a_time_typed_in_the_browsers_zone_reads_back_the_same_everywhere(
    org, alert, admin_client
) -> None:
    admin_client.cookies[ZONE_COOKIE] = "America/New_York"
    page = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    assert 'name="mute-page_zone" value="America/New_York"' in page
    typed = _typed(timedelta(hours=1))
    response = _mute(
        admin_client, org, alert, **{"mute-until": typed, "mute-page_zone": "America/New_York"}
    )
    assert "That time has passed" not in _text(response)
    window = MuteWindow.objects.get(alert=alert)
    assert window.ends_at.astimezone(NEW_YORK).strftime("%Y-%m-%dT%H:%M") == typed
    local = re.compile(rf"until (\w+ \d+ \w+ )?{typed[-5:]} E[SD]T")
    assert re.search(rf"is muted until {typed[-5:]} E[SD]T", _text(response))  # confirmation
    assert re.search(rf"Muted until \w+ \d+ \w+ {typed[-5:]} E[SD]T", _text(response))
    assert local.search(_text(admin_client.get(f"/o/{org.slug}/")))  # the dashboard
    assert local.search(_text(admin_client.get(f"/o/{org.slug}/alerts/")))  # the list


@pytest.mark.django_db
def test_the_profiles_zone_wins_over_the_browsers(org, alert, admin_client) -> None:
    _choose(org, "America/New_York")
    admin_client.cookies[ZONE_COOKIE] = "Asia/Tokyo"
    page = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    assert 'name="mute-page_zone" value="America/New_York"' in page
    typed = _typed(timedelta(hours=2))
    response = _mute(
        admin_client, org, alert, **{"mute-until": typed, "mute-page_zone": "America/New_York"}
    )
    window = MuteWindow.objects.get(alert=alert)
    assert window.ends_at.astimezone(NEW_YORK).strftime("%Y-%m-%dT%H:%M") == typed
    assert re.search(rf"Muted until \w+ \d+ \w+ {typed[-5:]} E[SD]T", _text(response))


@pytest.mark.django_db
def test_a_service_mute_reads_the_zone_its_form_named(org, alert, admin_client) -> None:
    service = alert.targets.get()
    admin_client.cookies[ZONE_COOKIE] = "America/New_York"
    page = _text(admin_client.get(f"/o/{org.slug}/settings/integrations/"))
    assert "Times are in America/New York (your browser's: none is chosen in your profile)" in (
        page
    )
    typed = _typed(timedelta(minutes=90))
    admin_client.post(
        f"/o/{org.slug}/alerts/services/{service.pk}/mute/",
        {
            "kind": "once",
            "mute-length": "until",
            "mute-until": typed,
            "mute-page_zone": "America/New_York",
        },
    )
    window = MuteWindow.objects.get(service=service)
    assert window.ends_at.astimezone(NEW_YORK).strftime("%Y-%m-%dT%H:%M") == typed


@pytest.mark.django_db
def test_a_past_time_in_the_browsers_zone_is_refused(org, alert, admin_client) -> None:
    admin_client.cookies[ZONE_COOKIE] = "America/New_York"
    typed = _typed(-timedelta(minutes=10))
    posted = {"mute-until": typed, "mute-page_zone": "America/New_York"}
    response = _mute(admin_client, org, alert, **posted)
    assert "Not muted: that time has passed: choose a later one." in _text(response)
    assert not MuteWindow.objects.exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_browser_in_berlin_mutes_until_its_own_time_and_reads_it_back(
    browser, live_server, org: Organization, alert, screenshot
) -> None:
    context = browser.new_context(timezone_id="Europe/Berlin")
    page: Page = context.new_page()
    try:
        sign_in(page, live_server.url, "owner@acme.example")
        page.goto(f"{live_server.url}/o/{org.slug}/alerts/{alert.pk}/")
        expect(page.locator("#zone-note")).to_contain_text(
            "Times are in Europe/Berlin, your browser's time zone"
        )
        expect(
            page.locator("#zone-note").get_by_role("link", name="Choose a time zone")
        ).to_be_visible()
        page.locator("#mute-now summary").click()
        note = page.locator("#mute-now [data-mute-zone]")
        expect(note).to_contain_text("Times are in Europe/Berlin (your browser's")
        typed = _typed(timedelta(hours=3), BERLIN)
        page.locator("#mute-now").get_by_label("For").select_option("until")
        page.locator("#mute-now input[type=datetime-local]").fill(typed)
        page.get_by_role("button", name="Mute “Checkout errors”").click()
        expect(page.locator(".flash").first).to_contain_text(f"is muted until {typed[-5:]} CE")
        expect(page.locator("#mute-lines")).to_contain_text(
            re.compile(rf"Muted until .*{typed[-5:]} CES?T")
        )
        screenshot(page, "mute-until-berlin")
        window = MuteWindow.objects.get(alert=alert)
        assert window.ends_at.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M") == typed
        page.goto(f"{live_server.url}/o/{org.slug}/")
        expect(page.locator("main")).to_contain_text(re.compile(rf"until .*{typed[-5:]} CES?T"))
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_page_drawn_before_the_browsers_zone_was_known_is_drawn_again_in_it(
    browser, live_server, org: Organization, alert
) -> None:
    """A session from before the cookie (or after travelling): the first page shows UTC, and
    is reloaded once in the browser's zone."""
    context = browser.new_context(timezone_id="Asia/Tokyo")
    page: Page = context.new_page()
    try:
        sign_in(page, live_server.url, "owner@acme.example")
        context.clear_cookies(name=ZONE_COOKIE)
        page.goto(f"{live_server.url}/o/{org.slug}/alerts/{alert.pk}/")
        expect(page.locator("#zone-note")).to_contain_text(
            "Times are in Asia/Tokyo, your browser's time zone"
        )
    finally:
        context.close()
