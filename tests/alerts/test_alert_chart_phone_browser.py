"""The alert page's chart on a 390 px phone in dark mode, for an alert whose counts run to
six figures: the y axis is as wide as its longest count (a fixed 60 px cut "300,000" off
into the axis's label), nothing sticks out of the screen, and the axis words read against
the dark page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from alerts_saas.accounts.models import Organization
from tests.alerts.test_alert_chart_browser import _new_alert_with_events
from tests.browser import overflow, phone, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

_AXIS = """() => {
  const u = document.querySelector('#alert-chart')._alertChart;
  const y = u.axes[1];
  u.ctx.font = y.font[0];
  const widest = Math.max(...y._values.map((v) => u.ctx.measureText(v).width)) / devicePixelRatio;
  return {values: y._values, room: y._size - y.ticks.size - y.gap, widest: widest,
          chart: u.width, box: document.querySelector('#alert-chart').clientWidth,
          legend: [...document.querySelectorAll('#alert-chart .u-legend .u-series')]
            .map((e) => e.textContent.trim())};
}"""


def _rgb(css: str) -> list[float]:
    """ "rgb(19, 22.5, 30.5)" or "#13171f" as three numbers."""
    css = css.strip()
    if css.startswith("#"):
        return [int(css[i : i + 2], 16) for i in (1, 3, 5)]
    return [float(v) for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]


def _ratio(a: list[float], b: list[float]) -> float:
    def lum(rgb: list[float]) -> float:
        c = [v / 255 for v in rgb]
        c = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    hi, lo = sorted([lum(a), lum(b)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_a_six_figure_chart_on_a_phone_at_night(
    browser: Browser, live_server, org: Organization, screenshot
) -> None:
    alert = _new_alert_with_events(org)
    alert.threshold = 250_000
    alert.save()
    context = phone(browser, "dark")
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(f"{live_server.url}/o/{org.slug}/alerts/{alert.pk}/")
    chart = page.locator("#alert-chart")
    expect(chart.locator("canvas")).to_have_count(1)
    chart.scroll_into_view_if_needed()

    axis = page.evaluate(_AXIS)
    assert "300,000" in axis["values"], axis
    assert axis["widest"] <= axis["room"], axis  # every count fits beside its tick
    assert axis["chart"] <= axis["box"] and overflow(page) == 0, axis
    assert "Fires at 250,000" in axis["legend"], axis  # as the axis writes it
    # The axis words are drawn in the page's ink: readable on the dark page.
    ink, ground = page.evaluate(
        """() => [getComputedStyle(document.querySelector('#alert-chart')).color,
                  getComputedStyle(document.querySelector('main') || document.body)
                    .getPropertyValue('--pico-background-color')]"""
    )
    assert _ratio(_rgb(ink), _rgb(ground)) >= 4.5, (ink, ground)
    screenshot(page, "chart-phone-dark-six-figures")
    context.close()
