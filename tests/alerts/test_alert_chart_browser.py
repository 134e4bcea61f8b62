"""The alert page's chart in headless Chromium, for an alert that started counting a minute
and a half ago: the time axis reads as distinct minutes of the last hour (not one minute
repeated), and the legend gives the latest count instead of "--", or the point under the
pointer."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts import evaluation
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Alert, Level
from tests.browser import LAPTOP, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _new_alert_with_events(org: Organization) -> Alert:
    alert = Alert.objects.create(
        organization=org,
        name="Checkout errors",
        threshold=10,
        window_minutes=5,
        match_app="checkout",
        counting_since=timezone.now() - timedelta(seconds=90),
    )
    now = time.time()
    events = [
        Event(timestamp=now - 50 + 10 * i, message="declined", app="checkout", level=Level.ERROR)
        for i in range(5)
    ]
    evaluation.record(org.pk, events)
    return alert


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_new_alerts_chart_has_distinct_minutes_and_a_legend_with_the_latest_count(
    browser: Browser, live_server, org: Organization, screenshot, scheme: str
) -> None:
    alert = _new_alert_with_events(org)
    context = browser.new_context(viewport=LAPTOP, color_scheme=scheme)  # type: ignore[arg-type]
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(f"{live_server.url}/o/{org.slug}/alerts/{alert.pk}/")
    chart = page.locator("#alert-chart")
    expect(chart.locator("canvas")).to_have_count(1)

    # The labels uPlot draws on the canvas under the time axis.
    labels = page.evaluate(
        "() => document.querySelector('#alert-chart')._alertChart.axes[0]._values"
    )
    assert len(labels) >= 4, labels
    assert len(set(labels)) == len(labels), f"a time repeats on the axis: {labels}"
    # Times of day, and the date where a day begins (a run across midnight shows "30 Nov").
    assert all(re.fullmatch(r"\d\d:\d\d|\d{1,2} [A-Z][a-z]{2}", label) for label in labels), labels
    assert sum(bool(re.fullmatch(r"\d\d:\d\d", label)) for label in labels) >= 3, labels

    legend = chart.locator(".u-legend")
    time_shown, count_shown, threshold = legend.locator(".u-series").all()
    expect(legend).not_to_contain_text("--")
    expect(time_shown.locator(".u-label")).to_have_text("Time (UTC)")
    expect(time_shown.locator(".u-value")).to_have_text(re.compile(r"^\d+ \w+ \d\d:\d\d:\d\d$"))
    expect(count_shown.locator(".u-label")).to_have_text("Matching events in 5 minutes")
    expect(count_shown.locator(".u-value")).to_have_text("5")
    expect(threshold).to_have_text("Fires at 10")
    screenshot(page, f"chart-{scheme}")

    # Pointing at the start of the hour, before counting began: no count there. (Scrolled
    # to first, as a person would: the page's "As of" line puts it past a laptop's fold.)
    page.locator("#alert-chart .u-over").scroll_into_view_if_needed()
    box = page.locator("#alert-chart .u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 5, box["y"] + box["height"] / 2)
    expect(count_shown.locator(".u-value")).to_have_text("not counted yet")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] + 150)
    expect(count_shown.locator(".u-value")).to_have_text("5")
    context.close()
