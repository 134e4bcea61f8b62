"""Send test event on Settings / Integrations, in headless Chromium with a real worker and
the sandbox: the result shows right under the service whose button was pressed (not below
every service), on a laptop and on a phone, and stays there when the services table
refreshes itself once the event is delivered."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from alerts_saas.accounts.models import Organization
from integrations.pagerduty.models import PagerDutyService
from tests.browser import LAPTOP, PHONE, sign_in
from tests.dashboard.conftest import service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _services(org: Organization, pagerduty) -> list[PagerDutyService]:
    """Six services added by key; the fifth has a key the sandbox takes."""
    made = [service(org, f"Checkout API {n:03d}") for n in range(1, 7)]
    sandbox_service = pagerduty.account("us")["services"][0]["id"]
    key = pagerduty.add_integration(sandbox_service, "Tripwire")["integration_key"]
    PagerDutyService.objects.filter(pk=made[4].pk).update(integration_key=key)
    return made


@pytest.mark.parametrize("screen", ["laptop", "phone"])
def test_a_test_events_result_shows_under_its_own_button(
    browser: Browser,
    live_server,
    org: Organization,
    pagerduty,
    celery_worker,
    screenshot,
    screen: str,
) -> None:
    made = _services(org, pagerduty)
    target, after = made[4], made[5]
    context = browser.new_context(viewport=LAPTOP if screen == "laptop" else PHONE)
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(f"{live_server.url}/o/{org.slug}/settings/integrations/")

    button = page.locator(f"#service-{target.pk}").get_by_role("button", name="Send test event")
    button.click()
    # It asks first, naming whom it pages, in a modal dialog; Cancel sends nothing.
    question = page.get_by_role("dialog", name=f"Send a test event to {target.name}?")
    expect(question).to_contain_text(f"This pages whoever is on call for {target.name} now.")
    question.get_by_role("button", name="Cancel").click()
    expect(question).to_have_count(0)
    expect(button).to_be_focused()
    button.click()
    question.get_by_role("button", name="Yes, send the test event").click()
    panel = page.locator(f"#test-result-{target.pk} article.delivery")
    expect(panel).to_contain_text(f"Test trigger to {target.name}")
    # Right under its service, before the next one, and on the screen as it is.
    pressed = button.bounding_box()
    row = page.locator(f"#service-{target.pk}").bounding_box()
    shown = panel.bounding_box()
    below = page.locator(f"#service-{after.pk}").bounding_box()
    assert pressed and row and shown and below
    assert row["y"] + row["height"] <= shown["y"] < below["y"], (row, shown, below)
    assert shown["y"] - (pressed["y"] + pressed["height"]) < 120, (pressed, shown)
    assert shown["y"] < page.evaluate("window.innerHeight")
    expect(page.locator("article.delivery")).to_have_count(1)

    expect(panel).to_have_attribute("data-status", "delivered", timeout=20_000)
    # The table refreshes itself ("Last delivery"); the result stays where it was.
    expect(page.locator(f"#service-{target.pk}")).to_contain_text("Delivered")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("PagerDuty accepted it")
    screenshot(page, f"test-event-{screen}")
    context.close()
