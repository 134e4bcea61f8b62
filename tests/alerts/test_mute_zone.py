""" "Mute until a time": the typed time means what the person meant. It is read in the
profile's time zone, or, while the profile has none, in the browser's (sent with the form),
and the form names that zone beside the field. A person in New York with no zone chosen
who types 06:00 mutes until 06:00 in New York, not 06:00 UTC ("That time has passed")."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, MuteWindow
from tests.browser import sign_in
from tests.tenant_objects import _pd_service

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def alert(org: Organization) -> Alert:
    made = Alert.objects.create(organization=org, name="Checkout errors", threshold=1)
    made.targets.add(_pd_service(org, org.memberships.get().user))
    return made


def _in_new_york(delta: timedelta) -> str:
    """What a person in New York types for now + delta, in a datetime-local field."""
    return (timezone.now() + delta).astimezone(NEW_YORK).strftime("%Y-%m-%dT%H:%M")


def _mute(client, org, alert, **posted: str):
    return client.post(
        f"/o/{org.slug}/alerts/{alert.pk}/mute/",
        {"kind": "once", "mute-length": "until", **posted},
        follow=True,
    )


def _text(response) -> str:
    spaced = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))
    return re.sub(r" ([,.;:)])", r"\1", spaced)


@pytest.mark.django_db
def test_the_form_names_the_zone_a_time_is_read_in(org, alert, admin_client) -> None:
    page = _text(admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/"))
    assert "Times are in UTC — change it in your profile." in page
    assert (
        'name="mute-browser_zone"'
        in admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    )
    owner = org.memberships.get().user
    owner.time_zone = "America/New_York"
    owner.save()
    page = _text(admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/"))
    assert "Times are in America/New York — change it in your profile." in page
    services = _text(admin_client.get(f"/o/{org.slug}/settings/integrations/"))
    assert "Times are in America/New York — change it in your profile." in services


@pytest.mark.django_db
def test_without_a_profile_zone_the_browsers_zone_reads_the_typed_time(
    org, alert, admin_client
) -> None:
    typed = _in_new_york(timedelta(hours=1))
    response = _mute(
        admin_client, org, alert, **{"mute-until": typed, "mute-browser_zone": "America/New_York"}
    )
    assert "That time has passed" not in _text(response)
    window = MuteWindow.objects.get(alert=alert)
    assert window.ends_at.astimezone(NEW_YORK).strftime("%Y-%m-%dT%H:%M") == typed
    # The confirmation says the end in the zone it was typed in.
    assert f"is muted until {typed[-5:]} EST" in _text(response) or (
        f"is muted until {typed[-5:]} EDT" in _text(response)
    )


@pytest.mark.django_db
def test_the_profiles_zone_wins_over_the_browsers(org, alert, admin_client) -> None:
    owner = org.memberships.get().user
    owner.time_zone = "America/New_York"
    owner.save()
    typed = _in_new_york(timedelta(hours=2))
    _mute(admin_client, org, alert, **{"mute-until": typed, "mute-browser_zone": "Asia/Tokyo"})
    window = MuteWindow.objects.get(alert=alert)
    assert window.ends_at.astimezone(NEW_YORK).strftime("%Y-%m-%dT%H:%M") == typed


@pytest.mark.django_db
def test_a_service_mute_reads_the_browsers_zone_too(org, alert, admin_client) -> None:
    service = alert.targets.get()
    typed = _in_new_york(timedelta(minutes=90))
    admin_client.post(
        f"/o/{org.slug}/alerts/services/{service.pk}/mute/",
        {
            "kind": "once",
            "mute-length": "until",
            "mute-until": typed,
            "mute-browser_zone": "America/New_York",
        },
    )
    window = MuteWindow.objects.get(service=service)
    assert window.ends_at.astimezone(NEW_YORK).strftime("%Y-%m-%dT%H:%M") == typed


@pytest.mark.django_db
def test_a_past_time_in_the_browsers_zone_is_refused(org, alert, admin_client) -> None:
    typed = _in_new_york(-timedelta(minutes=10))
    posted = {"mute-until": typed, "mute-browser_zone": "America/New_York"}
    response = _mute(admin_client, org, alert, **posted)
    assert "Not muted: That time has passed: choose a later one." in _text(response)
    assert not MuteWindow.objects.exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_browser_in_new_york_mutes_until_its_own_time(
    browser, live_server, org: Organization, alert, screenshot
) -> None:
    context = browser.new_context(timezone_id="America/New_York")
    page: Page = context.new_page()
    try:
        sign_in(page, live_server.url, "owner@acme.example")
        page.goto(f"{live_server.url}/o/{org.slug}/alerts/{alert.pk}/")
        page.locator("#mute-now summary").click()
        note = page.locator("#mute-now [data-mute-zone]")
        expect(note).to_contain_text("Times are in America/New York (your browser's")
        expect(note.get_by_role("link", name="change it in your profile")).to_be_visible()
        typed = _in_new_york(timedelta(hours=3))
        page.locator("#mute-now").get_by_label("For").select_option("until")
        page.locator("#mute-now input[type=datetime-local]").fill(typed)
        screenshot(page, "mute-until-new-york")
        page.get_by_role("button", name="Mute “Checkout errors”").click()
        expect(page.locator(".flash").first).to_contain_text("is muted until")
        window = MuteWindow.objects.get(alert=alert)
        assert window.ends_at.astimezone(NEW_YORK).strftime("%Y-%m-%dT%H:%M") == typed
    finally:
        context.close()
