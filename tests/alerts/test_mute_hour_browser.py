""" "Mute 1 h" on a 390 px phone in dark mode at 3 a.m.: beside Resolve, one tap mutes the
firing alert for an hour, the confirmation says the open incident stays open, and the page
shows the mute with "Unmute" where the button was; nothing sticks out, and the words read."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Dialog, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, Firing, MuteWindow
from tests.browser import low_contrast, overflow, phone, sign_in
from tests.dashboard.conftest import delivery
from tests.tenant_objects import _pd_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("SHOTS_DIR", "test-artifacts/mute-hour"))


def _firing_alert(org: Organization) -> Alert:
    owner = org.memberships.get().user
    owner.time_zone = "Europe/Paris"
    owner.save()
    alert = Alert.objects.create(
        organization=org,
        name="Checkout errors",
        threshold=1,
        auto_resolve=False,  # waits for a person: the Resolve button's words are the longest
        counting_since=timezone.now() - timedelta(hours=1),
    )
    service = _pd_service(org, owner)
    alert.targets.add(service)
    firing = Firing.objects.create(organization=org, alert=alert, count_at_open=3)
    # PagerDuty took its trigger: an incident is open (what "stays open" speaks of).
    delivery(org, service, made=alert, firing=firing)
    return alert


def test_mute_1_h_at_night_on_a_phone(browser: Browser, live_server, org: Organization) -> None:
    alert = _firing_alert(org)
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = phone(browser, "dark")
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(f"{live_server.url}/o/{org.slug}/alerts/{alert.pk}/")

    resolve = page.locator("#resolve-firing button")
    mute = page.get_by_role("button", name="Mute 1 h")
    expect(resolve).to_be_visible()
    expect(mute).to_be_visible()
    # Side by side: the same row, both inside the screen.
    box, other = mute.bounding_box(), resolve.bounding_box()
    assert box and other and abs(box["y"] - other["y"]) < 4
    assert box["x"] + box["width"] <= 390
    assert overflow(page) == 0
    page.locator("#firing-waits").screenshot(path=str(SHOTS / "01-mute-1h-button.png"))

    mute.click()
    flash = page.locator(".flash").first
    expect(flash).to_contain_text("Muted until")
    expect(flash).to_contain_text("no new pages for “Checkout errors” until then")
    expect(flash).to_contain_text("The incident already open in PagerDuty stays open")
    window = MuteWindow.objects.get(alert=alert)
    assert window.ends_at - window.starts_at == timedelta(hours=1)
    expect(page.locator("#quick-mute")).to_contain_text("Muted until")
    unmute = page.get_by_role("button", name="Unmute")
    expect(unmute).to_be_visible()
    box = unmute.bounding_box()
    assert box and abs(box["y"] - resolve.bounding_box()["y"]) < 4  # where "Mute 1 h" was
    expect(page.locator("#muted-banner")).to_be_visible()
    assert overflow(page) == 0
    assert low_contrast(page) == []
    page.screenshot(path=str(SHOTS / "02-muted-phone-dark.png"))
    page.locator("#firing-waits").screenshot(path=str(SHOTS / "03-unmute.png"))

    page.once("dialog", lambda dialog: Dialog.accept(dialog))
    unmute.click()
    expect(page.locator(".flash").first).to_contain_text("Tripwire pages again")
    expect(page.get_by_role("button", name="Mute 1 h")).to_be_visible()
    window.refresh_from_db()
    assert window.ends_at <= timezone.now()
    context.close()
