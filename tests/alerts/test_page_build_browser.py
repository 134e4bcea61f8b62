"""In headless Chromium: opening a past firing loads what it sent; the polled targets of
the open firing come back "304 Not Modified" while nothing changes, and the page keeps them
as they are, with no "Couldn't update" notice."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Page, Response, expect

from alerts_saas.accounts.models import Organization
from tests.alerts.test_page_build import _past_firing
from tests.browser import LAPTOP, sign_in
from tests.dashboard.conftest import alert, delivery, fire, service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_opening_a_past_firing_shows_what_it_sent(
    page: Page, live_server, org: Organization
) -> None:
    alert_id, past = _past_firing(org)
    page.set_viewport_size(LAPTOP)
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(f"{live_server.url}/o/{org.slug}/alerts/{alert_id}/")
    row = page.locator(f"#firing-{past.pk}")
    summary = row.locator("summary")
    expect(summary).to_contain_text("1 trigger, accepted · 1 resolve, failed")
    expect(row).not_to_contain_text("Trigger delivered at")
    with page.expect_response(f"**/firings/{past.pk}/sent/"):
        summary.click()
    expect(row).to_contain_text("Trigger delivered at")
    expect(row).to_contain_text("Resolve failed: PagerDuty answered 400")


def test_unchanged_targets_answer_304_and_stay_current(
    page: Page, live_server, org: Organization
) -> None:
    checkout = service(org, "Checkout API")
    made = alert(org, "Checkout errors", checkout)
    firing = fire(made, minutes_ago=3)
    delivery(org, checkout, made=made, firing=firing, delivered_at=timezone.now())
    statuses: list[int] = []

    def seen(response: Response) -> None:
        if response.url.endswith("/live/targets/"):
            statuses.append(response.status)

    page.on("response", seen)
    page.set_viewport_size(LAPTOP)
    sign_in(page, live_server.url, "owner@acme.example")
    page.clock.install()
    page.goto(f"{live_server.url}/o/{org.slug}/alerts/{made.pk}/")
    targets = page.locator("#firing-targets")
    expect(targets).to_contain_text("Trigger delivered at")
    for _ in range(3):
        with page.expect_response("**/live/targets/"):
            page.clock.run_for(3_100)
    assert statuses[0] == 200 and 304 in statuses[1:], statuses
    # Still there, as it was, and nothing says it is out of date.
    expect(targets).to_contain_text("Trigger delivered at")
    expect(page.get_by_text("Couldn't update")).to_have_count(0)
