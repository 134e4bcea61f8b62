"""The service picker in headless Chromium, against the sandbox over real HTTP: ticks made
across searches (by name and by team) and pages are all connected; the count, the list of
what is selected and the Connect button stay in view, on a laptop and on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from alerts_saas.accounts.models import Organization
from integrations.pagerduty.models import PagerDutyService
from tests.browser import PHONE, authorize_on_sandbox, overflow, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _box(page: Page, name: str) -> Locator:
    return page.locator("#service-rows").get_by_role(
        "checkbox", name=re.compile(rf"^{re.escape(name)}(?!\d)")
    )


def _search(page: Page, text: str, shown: str) -> None:
    page.get_by_role("searchbox", name="Find services by service or team name").fill(text)
    expect(page.locator("#service-rows")).to_contain_text(shown)


def test_ticks_survive_search_and_paging_and_all_are_connected(
    page: Page, live_server, org: Organization, pagerduty, screenshot, settings
) -> None:
    base = live_server.url
    settings.SITE_URL = base  # where PagerDuty's OAuth callback comes back
    sign_in(page, base, "owner@acme.example")
    page.goto(f"{base}/o/{org.slug}/settings/integrations/")
    authorize_on_sandbox(page, pagerduty.url)
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("heading", name="Choose the services to connect")).to_be_visible()
    rows = page.locator("#service-rows")
    count = page.locator("#picker-count")
    expect(rows).to_contain_text("139 services · page 1 of 6.")
    expect(rows.locator("input[type=checkbox]")).to_have_count(25)
    expect(count).to_have_text("No services selected")

    # One tick on the first page, one found by name, one by team, one on another page.
    _box(page, "Android Sync").check()
    expect(count).to_have_text("1 service selected")
    _search(page, "Checkout API 12", "10 of 139 services match “Checkout API 12”")
    _box(page, "Checkout API 121").check()
    _search(page, "platform", "4 of 139 services match “platform” by name or team")
    expect(rows).to_contain_text("Edge Gateway")
    _box(page, "Edge Gateway").check()
    _search(page, "", "139 services · page 1 of 6.")
    expect(_box(page, "Android Sync")).to_be_checked()  # the first tick, still there
    rows.get_by_role("link", name="Next →").click()
    expect(rows).to_contain_text("page 2 of 6")
    _box(page, "Checkout API 030").check()

    expect(count).to_have_text("4 services selected")
    chosen = page.locator("#selected-list")
    for name in ["Android Sync", "Checkout API 121", "Edge Gateway", "Checkout API 030"]:
        expect(chosen).to_contain_text(name)
    connect = page.get_by_role("button", name="Connect 4 services")
    expect(connect).to_be_visible()
    screenshot(page, "picker-four-selected")

    # Connect stays in view at the bottom of the list, on a laptop and on a phone.
    for size in [None, PHONE]:
        if size:
            page.set_viewport_size(size)
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        expect(connect).to_be_in_viewport()
        expect(count).to_be_in_viewport()
    assert overflow(page) <= 1
    screenshot(page, "picker-phone-scrolled")

    # Unticking one in the selected list leaves it out (it stays there, to tick again).
    chosen.get_by_role("checkbox", name=re.compile(r"^Checkout API 030")).uncheck()
    expect(count).to_have_text("3 services selected")
    expect(chosen).to_contain_text("Checkout API 030")
    expect(_box(page, "Checkout API 030")).not_to_be_checked()
    page.get_by_role("button", name="Connect 3 services").click()

    expect(page.locator(".messages")).to_contain_text(
        "Connected Android Sync, Checkout API 121, Edge Gateway."
    )
    assert sorted(PagerDutyService.objects.values_list("name", flat=True)) == [
        "Android Sync",
        "Checkout API 121",
        "Edge Gateway",
    ]
