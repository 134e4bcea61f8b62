"""A pasted key the form refuses, on a long Integrations page: the page opens at the form
with the cursor in the field to mend and its error on screen, and a banner at the top says
what failed (not the top of the page with the error far below, as if nothing happened)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from alerts_saas.accounts.models import Organization
from tests.browser import LAPTOP, PHONE, sign_in
from tests.dashboard.conftest import service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("screen", ["laptop", "phone"])
def test_a_refused_paste_opens_at_its_error(
    browser: Browser, live_server, org: Organization, screenshot, screen: str
) -> None:
    for n in range(1, 9):  # a page long enough that the form is far below the top
        service(org, f"Checkout API {n:03d}")
    context = browser.new_context(viewport=LAPTOP if screen == "laptop" else PHONE)
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(f"{live_server.url}/o/{org.slug}/settings/integrations/")

    page.get_by_text("Paste an integration key instead").click()
    page.get_by_label("Service name").fill("Billing EU")
    page.get_by_label("Integration key").fill("abc")
    page.get_by_role("button", name="Add service").click()

    key = page.get_by_label("Integration key")
    error = page.get_by_text("An integration key is 32 characters long; this one has 3.").last
    expect(key).to_be_focused()
    expect(key).to_be_in_viewport()
    expect(error).to_be_in_viewport()
    banner = page.locator("#paste-key-error")
    expect(banner).to_contain_text("The service was not added.")
    expect(banner).to_contain_text("Integration key: An integration key is 32 characters long")
    screenshot(page, f"paste-error-{screen}")
    # The banner's link leads back to the form from the top of the page.
    page.evaluate("window.scrollTo(0, 0)")
    banner.get_by_role("link", name="Go to the form").click()
    expect(key).to_be_in_viewport()
    context.close()
