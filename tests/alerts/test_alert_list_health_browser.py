"""On a 390 px phone in dark mode, the alert list shows since when an alert's path needs
reconnecting, and why, without hovering (a phone has no hover): the words are on screen,
inside the row, and the row still fits the screen; on a laptop in light mode too."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.accounts.times import clock
from tests.alerts.test_alert_list_health import reconnecting
from tests.browser import LAPTOP, low_contrast, overflow, phone, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_since_when_shows_without_hover_on_a_phone_in_dark_mode(
    browser: Browser, live_server, org: Organization, screenshot
) -> None:
    owner = org.memberships.get().user
    owner.time_zone = "UTC"
    owner.save()
    when = timezone.now() - timedelta(days=2)
    alert = reconnecting(org, when, name="Checkout payment provider errors at the edge")
    context = phone(browser, "dark")
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(f"{live_server.url}/o/{org.slug}/alerts/")

    row = page.locator(f"#alert-{alert.pk}")
    since = row.locator(".health-since")
    expect(since).to_be_visible()
    with timezone.override(UTC):  # the owner's zone
        expect(since).to_have_text(f"since {clock(when)}")
    reason = row.locator(".health-reason")
    expect(reason).to_be_visible()
    expect(reason).to_contain_text("Account Acme US to reconnect: pages still go out")
    for shown in (since, reason):  # on screen, inside the row: read without any hover
        box, row_box = shown.bounding_box(), row.bounding_box()
        assert box and row_box and box["width"] > 0 and box["height"] > 0
        assert row_box["x"] <= box["x"] and box["x"] + box["width"] <= row_box["x"] + 390
    assert overflow(page) <= 0
    assert low_contrast(page) == []
    screenshot(page, "list-reconnect-dark")
    context.close()

    wide = browser.new_context(viewport=LAPTOP, color_scheme="light")
    page = wide.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(f"{live_server.url}/o/{org.slug}/alerts/")
    expect(page.locator(f"#alert-{alert.pk} .health-since")).to_be_visible()
    expect(page.locator(f"#alert-{alert.pk} .health-reason")).to_be_visible()
    assert overflow(page) <= 0
    assert low_contrast(page) == []
    screenshot(page, "list-reconnect-light-wide")
    wide.close()
