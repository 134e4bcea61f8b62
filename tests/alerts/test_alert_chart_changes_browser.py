"""Changes reported to POST /api/v1/changes are drawn on the alert chart: a line at each
change within the chart's span, its summary shown when the pointer rests on it, inside the
page, in light and dark."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.ingest.models import ChangeEvent
from tests.alerts.test_alert_chart_browser import _new_alert_with_events
from tests.browser import LAPTOP, PHONE, overflow, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_change_is_a_marker_with_its_summary_on_hover(
    browser: Browser, live_server, org: Organization, make_org, screenshot, scheme: str
) -> None:
    alert = _new_alert_with_events(org)
    now = timezone.now()
    ChangeEvent.objects.create(
        organization=org,
        summary="Deployed checkout v2.14.0",
        source="ci",
        timestamp=now - timedelta(seconds=30),
    )
    ChangeEvent.objects.create(  # before the chart's hour: not drawn
        organization=org, summary="Old deploy", timestamp=now - timedelta(hours=3)
    )
    ChangeEvent.objects.create(  # another organization's: never drawn
        organization=make_org("Other Co"), summary="Their deploy", timestamp=now
    )
    context = browser.new_context(viewport=LAPTOP, color_scheme=scheme)  # type: ignore[arg-type]
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(f"{live_server.url}/o/{org.slug}/alerts/{alert.pk}/")
    chart = page.locator("#alert-chart")
    marker = chart.locator(".chart-change")
    expect(marker).to_have_count(1)
    tip = marker.locator(".chart-change-tip")
    expect(tip).to_be_hidden()
    expect(page.locator("#alert-live")).to_contain_text("Purple lines topped with a diamond")

    # Near the right end (30 s ago, on an hour's axis), within the plot.
    plot = chart.locator(".u-over").bounding_box()
    box = marker.bounding_box()
    assert plot is not None and box is not None
    centre = box["x"] + box["width"] / 2
    assert plot["x"] + plot["width"] * 0.9 < centre <= plot["x"] + plot["width"] + 1

    marker.hover()
    expect(tip).to_be_visible()
    expect(tip).to_have_text(
        f"Change at {(now - timedelta(seconds=30)):%H:%M}: Deployed checkout v2.14.0 (from ci)"
    )
    shown = tip.bounding_box()
    assert shown is not None
    assert shown["x"] >= 0 and shown["x"] + shown["width"] <= LAPTOP["width"], shown
    colours = tip.evaluate(
        "el => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]"
    )
    assert colours[0] != colours[1]
    screenshot(page, f"chart-change-{scheme}")
    context.close()


def test_on_a_phone_a_tap_shows_the_change_within_the_screen(
    browser: Browser, live_server, org: Organization, screenshot
) -> None:
    alert = _new_alert_with_events(org)
    ChangeEvent.objects.create(
        organization=org,
        summary="Raised the checkout pool size from 20 to 50 connections on every web node",
        timestamp=timezone.now() - timedelta(seconds=20),
    )
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(f"{live_server.url}/o/{org.slug}/alerts/{alert.pk}/")
    marker = page.locator("#alert-chart .chart-change")
    marker.tap()
    tip = marker.locator(".chart-change-tip")
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("Raised the checkout pool size")
    shown = tip.bounding_box()
    assert shown is not None
    assert shown["x"] >= 0 and shown["x"] + shown["width"] <= PHONE["width"], shown
    assert overflow(page) == 0
    screenshot(page, "chart-change-phone")
    context.close()
