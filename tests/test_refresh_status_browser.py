"""Pages that refresh themselves never go stale silently, in headless Chromium: when the
dashboard's refresh fails, it says in place since when it couldn't update, marks its "As of"
line out of date after two misses, and recovers once a refresh works again; a server error
on the alert page's refresh keeps the page (in development too, where htmx-debug.js opened
failed requests as pages) and says so; "Send test event" says "Sending…" while its request
runs and, when the request fails, that nothing was sent; the alert chart takes the new
colours when the system's colour scheme changes while the page is open."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, Route, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts import evaluation
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Alert, Level
from tests.browser import LAPTOP, sign_in
from tests.dashboard.conftest import alert, delivery, fire, service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STALE = re.compile(r"Couldn't update since (\d\d:\d\d) — reload the page")


def _as_of(page: Page, line: str) -> str:
    """The "HH:MM" of the part's "As of HH:MM:SS" line."""
    found = re.search(r"As of (\d\d:\d\d):\d\d", page.locator(line).inner_text())
    assert found, page.locator(line).inner_text()
    return found.group(1)


def test_the_dashboard_says_when_it_could_not_update_and_recovers(
    page: Page, live_server, org: Organization, screenshot
) -> None:
    fire(alert(org, "Checkout errors", service(org, "Checkout API")), minutes_ago=2)
    base = live_server.url
    page.set_viewport_size(LAPTOP)
    sign_in(page, base, "owner@acme.example")
    page.clock.install()
    page.goto(f"{base}/o/{org.slug}/")
    updated = page.locator("#dashboard-live .dash-updated")
    expect(updated).to_contain_text("As of")
    drawn_at = _as_of(page, "#dashboard-live .dash-updated")
    notice = page.get_by_role("status").filter(has_text="Couldn't update")
    expect(notice).to_have_count(0)

    # The server can't be reached: the page stays, and says since when it is out of date.
    page.route("**/dashboard/live/", lambda route: route.abort("connectionrefused"))
    page.clock.run_for(16_000)
    expect(notice).to_be_visible()
    found = STALE.search(notice.inner_text())
    assert found and found.group(1) == drawn_at, notice.inner_text()
    expect(notice.get_by_role("link", name="reload the page")).to_be_visible()
    expect(updated).not_to_contain_text("Out of date")  # one miss can be a blip
    page.clock.run_for(16_000)
    expect(updated).to_contain_text("Out of date")
    expect(notice).to_have_count(1)
    screenshot(page, "dashboard-out-of-date")

    # It answers again: the next refresh brings the page up to date, notice and mark gone.
    page.unroute("**/dashboard/live/")
    with page.expect_response(f"**/o/{org.slug}/dashboard/live/"):
        page.clock.run_for(16_000)
    expect(notice).to_have_count(0)
    expect(updated).not_to_contain_text("Out of date")
    expect(updated).to_contain_text("As of")


def test_the_dashboard_notice_reads_in_dark_mode(
    browser: Browser, live_server, org: Organization
) -> None:
    context = browser.new_context(viewport=LAPTOP, color_scheme="dark")
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.clock.install()
    page.goto(f"{live_server.url}/o/{org.slug}/")
    page.route("**/dashboard/live/", lambda route: route.fulfill(status=503, body="down"))
    page.clock.run_for(16_000)
    notice = page.get_by_role("status").filter(has_text="Couldn't update")
    expect(notice).to_be_visible()
    ink, ground = page.evaluate(
        """() => {
          const n = document.querySelector('.refresh-notice');
          return [getComputedStyle(n).color, getComputedStyle(n).backgroundColor];
        }"""
    )
    light = [int(v) for v in re.findall(r"\d+", ink)[:3]]
    dark = [int(v) for v in re.findall(r"\d+", ground)[:3]]
    assert sum(light) > 450 and sum(dark) < 150, (ink, ground)
    context.close()


def _alert_with_events(org: Organization) -> Alert:
    made = alert(org, "Checkout errors", service(org, "Checkout API"), match_app="checkout")
    made.threshold = 10
    made.window_minutes = 5
    made.save()
    now = time.time()
    declined = [
        Event(timestamp=now - 50 + 10 * i, message="declined", app="checkout", level=Level.ERROR)
        for i in range(5)
    ]
    evaluation.record(org.pk, declined)
    return made


def test_a_server_error_on_the_alert_pages_refresh_keeps_the_page(
    page: Page, live_server, org: Organization, settings
) -> None:
    settings.DEBUG = True  # htmx-debug.js is on the page, as under `make run`
    made = _alert_with_events(org)
    fire(made, minutes_ago=2)
    base = live_server.url
    sign_in(page, base, "owner@acme.example")
    page.clock.install()
    address = f"{base}/o/{org.slug}/alerts/{made.pk}/"
    before = timezone.now().strftime("%H:%M")  # the owner's zone is UTC
    page.goto(address)
    after = timezone.now().strftime("%H:%M")
    expect(page.locator("#firing-targets")).to_be_visible()

    page.route(re.compile(r".*/live/.*"), lambda route: route.fulfill(status=500, body="boom"))
    with page.expect_response(re.compile(r".*/live/.*")):
        page.clock.run_for(16_000)
    notice = page.get_by_role("status").filter(has_text="Couldn't update")
    expect(notice.first).to_be_visible()
    found = STALE.search(notice.first.inner_text())
    assert found and found.group(1) in (before, after), notice.first.inner_text()
    expect(page).to_have_url(address)
    expect(page.get_by_role("heading", name="Checkout errors")).to_be_visible()
    # In development, a banner points at the error instead of opening it as the page.
    expect(page.locator("#htmx-debug-banner")).to_contain_text("a background refresh failed")
    # The section's "As of" line says so after its second miss.
    updated = page.locator("#alert-live [data-refresh-status]")
    expect(updated).to_contain_text("As of")
    expect(updated).not_to_contain_text("Out of date")
    page.clock.run_for(16_000)
    expect(updated).to_contain_text("Out of date")
    expect(page).to_have_url(address)


def test_a_failed_test_event_says_nothing_was_sent(
    page: Page, live_server, org: Organization
) -> None:
    target = service(org, "Checkout API")
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(f"{live_server.url}/o/{org.slug}/settings/integrations/")
    held: list[Route] = []
    page.route(f"**/services/{target.pk}/test/", lambda route: held.append(route))
    row = page.locator(f"#service-{target.pk}")
    row.get_by_role("button", name="Send test event").click()
    busy = row.locator("form[action$='/test/'] button")
    expect(busy).to_be_disabled()
    expect(busy).to_have_accessible_name("Sending…")
    expect(busy.get_by_text("Sending…")).to_be_visible()
    assert held, "the test event's request was not held"
    held[0].abort("connectionrefused")
    result = page.locator(f"#test-result-{target.pk}")
    expect(result).to_have_text("Couldn't reach Tripwire: nothing was sent. Try again.")
    expect(result.get_by_role("alert")).to_be_visible()
    expect(row.get_by_role("button", name="Send test event")).to_be_enabled()


def test_the_chart_takes_the_new_colours_when_the_scheme_changes(
    browser: Browser, live_server, org: Organization
) -> None:
    made = _alert_with_events(org)
    made.counting_since = timezone.now() - timedelta(minutes=10)
    made.save()
    context = browser.new_context(viewport=LAPTOP, color_scheme="light")
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(f"{live_server.url}/o/{org.slug}/alerts/{made.pk}/")
    expect(page.locator("#alert-chart canvas")).to_have_count(1)
    axis = """() => {
      const u = document.querySelector('#alert-chart')._alertChart;
      return u.axes[0].stroke(u, 0);
    }"""
    light = page.evaluate(axis)
    page.emulate_media(color_scheme="dark")
    expect(page.locator("#alert-chart canvas")).to_have_count(1)
    drawn = light
    for _ in range(50):  # page.wait_for_function would need eval, which the policy refuses
        drawn = page.evaluate(axis)
        if drawn != light:
            break
        page.wait_for_timeout(100)
    dark = [int(v) for v in re.findall(r"\d+", drawn)[:3]]
    assert sum(dark) > 450, dark  # light ink for the dark page
    context.close()


def test_a_delivery_still_being_sent_says_when_it_could_not_update(
    page: Page, live_server, org: Organization
) -> None:
    """A test event's panel (Integrations, the alert form, its own page) is refreshed every
    second while it is queued: if that fails, it says since when rather than staying
    "Queued" as if Tripwire knew."""
    target = service(org, "Checkout API")
    queued = delivery(org, target, status="queued", is_test=True)
    sign_in(page, live_server.url, "owner@acme.example")
    url = f"{live_server.url}/o/{org.slug}/pagerduty/deliveries/{queued.pk}/"
    page.goto(url)
    panel = page.locator(f"#delivery-{queued.pk}")
    expect(panel).to_be_visible()
    drawn_at = panel.get_attribute("data-refreshed-at")
    page.route(url + "*", lambda route: route.abort("connectionrefused"))
    notice = page.get_by_role("status").filter(has_text="Couldn't update")
    expect(notice).to_be_visible(timeout=5000)
    found = STALE.search(notice.inner_text())
    assert found and found.group(1) == drawn_at, notice.inner_text()
