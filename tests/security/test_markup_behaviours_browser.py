"""What inline handlers and htmx trigger filters did, now done by static/js/ui.js from data-
attributes (the Content-Security-Policy allows neither): disabling a firing alert asks first,
from the list (a button) and from its page (a form); the dashboard refreshes only while the
tab is visible, and at once when it is shown again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from tests.browser import LAPTOP, sign_in
from tests.dashboard.conftest import alert, fire, service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The tab's visibility, as the test sets it (Chromium headless is always "visible").
_VISIBILITY = """Object.defineProperty(Document.prototype, "visibilityState", {
  configurable: true, get() { return window.__tabHidden ? "hidden" : "visible"; }
});"""


def _signed_in(browser: Browser, base: str) -> Page:
    page = browser.new_context(viewport=LAPTOP).new_page()
    sign_in(page, base, "owner@acme.example")
    return page


def test_disabling_a_firing_alert_asks_first(
    browser: Browser, live_server, org: Organization
) -> None:
    made = alert(org, "Search latency", service(org, "Search"))
    fire(made)
    page = _signed_in(browser, live_server.url)
    asked: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.goto(f"{live_server.url}/o/{org.slug}/alerts/")
    page.once("dialog", dismiss)
    page.get_by_role("button", name="Disable").click()
    page.wait_for_timeout(300)
    assert asked == [
        "“Search latency” is firing. Disabling it resolves its incident in PagerDuty. Disable it?"
    ]
    assert Alert.objects.get(pk=made.pk).enabled

    page.goto(f"{live_server.url}/o/{org.slug}/alerts/{made.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("main").get_by_role("button", name="Disable", exact=True).first.click()
    expect(page.locator("main").get_by_role("button", name="Enable").first).to_be_visible()
    assert not Alert.objects.get(pk=made.pk).enabled
    page.context.close()


def test_the_dashboard_refreshes_only_while_the_tab_is_visible(
    browser: Browser, live_server, org: Organization
) -> None:
    page = _signed_in(browser, live_server.url)
    page.add_init_script(_VISIBILITY)
    page.goto(f"{live_server.url}/o/{org.slug}/")
    expect(page.locator("#dashboard-live")).to_be_attached()
    live = re.compile(r"/dashboard/live/")
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if live.search(r.url) else None)

    page.evaluate("""() => {
      window.__tabHidden = true;
      document.dispatchEvent(new Event("visibilitychange"));
      document.dispatchEvent(new CustomEvent("pagevisible"));
    }""")
    page.wait_for_timeout(500)
    assert fetched == []

    # Its answer, not only the request: the page closed while the server still reads the
    # database would leave it reading through the flush at teardown (a deadlock).
    with page.expect_response(lambda r: bool(live.search(r.url))):
        page.evaluate("""() => {
          window.__tabHidden = false;
          document.dispatchEvent(new Event("visibilitychange"));
        }""")
    page.context.close()
