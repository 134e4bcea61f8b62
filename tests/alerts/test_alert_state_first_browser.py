"""The alert page shows the alert's state first (r15 #6): on a 390 x 844 phone the first
screen showed "Mutes", two paragraphs and "Mute now…/Mute every week…", and "FIRING" was
below the fold. The state card now comes first, the Mutes section under it, at 390 and
1280 px; the section's refresh keeps the Mutes section (and what is typed in it)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from alerts_saas.accounts.models import Organization
from tests.alerts.alert_page_deliveries_setup import firing_with_deliveries
from tests.browser import LAPTOP, PHONE, phone, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _top(page: Page, selector: str) -> float:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return float(box["y"])


def _state_first(page: Page) -> None:
    expect(page.locator("#alert-state h2")).to_contain_text("FIRING since")
    assert _top(page, "#alert-state") < _top(page, "#alert-mutes")
    assert _top(page, "#alert-state h2") < page.viewport_size["height"]  # type: ignore[index]


def test_the_state_comes_before_the_mutes_on_a_phone_and_a_laptop(
    browser: Browser, live_server, org: Organization, screenshot
) -> None:
    alert, _ = firing_with_deliveries(org, 3)
    url = f"{live_server.url}/o/{org.slug}/alerts/{alert.pk}/"

    context = phone(browser, "dark")
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(url)
    _state_first(page)
    screenshot(page, "state-first-phone")
    assert PHONE["width"] == page.viewport_size["width"]  # type: ignore[index]
    context.close()

    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(url)
    _state_first(page)

    # The section refreshes itself: the Mutes section stays, with what was typed in it.
    page.get_by_role("button", name="Mute…").click()
    page.locator("#mute-now input[name=mute-reason]").fill("deploy")
    page.locator("#mute-now summary").click()  # closed again, and the focus elsewhere:
    page.evaluate("document.activeElement.blur()")  # the refresh may run
    with page.expect_response(lambda r: "/live/" in r.url and r.status == 200):
        page.evaluate("document.dispatchEvent(new CustomEvent('pagevisible'))")
    expect(page.locator("#alert-mutes summary").first).to_have_text("Mute now…")
    expect(page.locator("#mute-now input[name=mute-reason]")).to_have_value("deploy")
    _state_first(page)
    screenshot(page, "state-first-laptop")
    context.close()
