"""The alert page of an alert with a long history on a 390 px phone at night: short enough
to use (its deliveries a few short rows, no empty labels), and "Mute…" opens its form on
the first screen, where it was pressed."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from alerts_saas.accounts.models import Organization
from tests.alerts.alert_page_deliveries_setup import firing_with_deliveries
from tests.browser import PHONE, phone, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The page was ~8,100 px with 30 deliveries of 7 lines each. Its header, banner, condition,
# chart, firings and mutes take ~2,500 px on a phone; 5 short deliveries add ~400.
PAGE_HEIGHT_BOUND = 3500
ROW_HEIGHT_BOUND = 80  # three lines of 0.9rem text and the row's padding


def test_a_long_history_on_a_phone_at_night(
    browser: Browser, live_server, org: Organization, screenshot
) -> None:
    alert, _ = firing_with_deliveries(org, 30)
    context = phone(browser, "dark")
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(f"{live_server.url}/o/{org.slug}/alerts/{alert.pk}/")

    rows = page.locator("table.deliveries tbody tr")
    expect(rows).to_have_count(5)
    for height in rows.evaluate_all("rs => rs.map(r => r.getBoundingClientRect().height)"):
        assert height <= ROW_HEIGHT_BOUND
    labels = page.locator("table.deliveries td").evaluate_all(
        "cs => cs.filter(c => c.offsetParent !== null)"
        ".map(c => getComputedStyle(c, '::before').content + '|' + c.textContent.trim())"
    )
    assert not [label for label in labels if label.endswith("|") and label != "none|"]
    assert not any('"Error: "' in label for label in labels)
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < PAGE_HEIGHT_BOUND, height
    screenshot(page, "alert-long-history-phone")

    page.get_by_role("button", name="Mute…").click()
    field = page.locator("#mute-now select, #mute-now input:not([type=hidden])").first
    expect(field).to_be_focused()
    scrolled = page.evaluate("window.scrollY")
    # Within the first two screens, not past the history.
    assert scrolled + field.bounding_box()["y"] < 2 * PHONE["height"]
    context.close()
