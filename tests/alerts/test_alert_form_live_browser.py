"""The alert form's live parts in headless Chromium: custom detail rows added and removed in
place (no "save to get more rows"), and the "Fewer than" help saying the number and window
as they are typed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from integrations.pagerduty.models import PagerDutyService
from tests.browser import PHONE, overflow, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_custom_details_are_added_and_removed_in_place(
    page: Page, live_server, org: Organization, connected_service: PagerDutyService, screenshot
) -> None:
    base = live_server.url
    sign_in(page, base, "owner@acme.example")
    page.goto(f"{base}/o/{org.slug}/alerts/new/")
    form = page.locator("main form")
    details = page.locator("#detail-rows .detail-row:visible")
    expect(details).to_have_count(1)
    expect(page.get_by_text("Save to get more empty rows")).to_have_count(0)
    form.locator("[name=name]").fill("Checkout errors")
    page.locator("#targets").get_by_role("checkbox").first.check()

    # Three rows typed, the middle one removed again: no page load on the way.
    keys = {"runbook": "https://wiki.example/checkout", "owner": "payments", "region": "eu"}
    for n, (key, value) in enumerate(keys.items()):
        if n:
            page.get_by_role("button", name="Add a detail").click()
            expect(page.locator(f"#id_details-{n}-key")).to_be_focused()
        page.locator(f"#id_details-{n}-key").fill(key)
        page.locator(f"#id_details-{n}-value").fill(value)
    expect(details).to_have_count(3)
    details.nth(1).get_by_role("button", name="Remove").click()
    expect(details).to_have_count(2)
    page.set_viewport_size(PHONE)
    assert overflow(page) <= 1
    screenshot(page, "details-added-and-removed-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    form.get_by_role("button", name="Save alert").click()
    expect(page.locator(".messages")).to_contain_text("Alert “Checkout errors” saved.")
    alert = Alert.objects.get()
    assert {d.key: d.value for d in alert.details.all()} == {
        "runbook": "https://wiki.example/checkout",
        "region": "eu",
    }

    # Editing: a saved detail removed with the same button, one added.
    page.goto(f"{base}/o/{org.slug}/alerts/{alert.pk}/edit/")
    expect(details).to_have_count(3)  # two saved, one empty
    details.filter(has=page.locator("input[value=runbook]")).get_by_role(
        "button", name="Remove"
    ).click()
    page.get_by_role("button", name="Add a detail").click()
    page.locator("#id_details-3-key").fill("team")
    page.locator("#id_details-3-value").fill("payments")
    form.get_by_role("button", name="Save alert").click()
    expect(page.locator(".messages")).to_contain_text("saved")
    assert {d.key: d.value for d in alert.details.all()} == {"region": "eu", "team": "payments"}


def test_the_fewer_than_help_says_the_window_as_typed(
    page: Page, live_server, org: Organization, connected_service: PagerDutyService
) -> None:
    base = live_server.url
    sign_in(page, base, "owner@acme.example")
    page.goto(f"{base}/o/{org.slug}/alerts/new/")
    condition = page.locator("#condition")
    condition.get_by_label("Fire when").select_option(label="Fewer than")
    help_text = condition.locator(".kind-help-absence")
    expect(help_text).to_be_visible()
    expect(help_text).to_contain_text("fewer than 1 matching event in 5 minutes")
    condition.get_by_label("Number of matching events").fill("3")
    condition.get_by_label("Window length").fill("2")
    condition.get_by_label("Window unit").select_option("hours")
    expect(help_text).to_contain_text("fewer than 3 matching events in 2 hours")
    condition.get_by_label("Window length").fill("1")
    expect(help_text).to_contain_text("fewer than 3 matching events in 1 hour,")
    expect(help_text).not_to_contain_text(re.compile(r"5 minutes"))
