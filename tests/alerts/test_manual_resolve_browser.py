"""A firing that waits for a person, in headless Chromium: the banner says the condition
cleared and why it is still open; Resolve asks first (the CSP allows no inline script, so
the question comes from static JS), then resolves it."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts import evaluation
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Alert, Firing, Level
from integrations.pagerduty.models import EventAction
from tests.browser import sign_in
from tests.tenant_objects import _pd_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_page_says_it_waits_and_resolve_asks_then_resolves(
    page: Page, live_server, org: Organization, screenshot
) -> None:
    alert = Alert.objects.create(
        organization=org,
        name="Checkout errors",
        threshold=3,
        window_minutes=1,
        match_app="checkout",
        match_level=Level.ERROR,
        auto_resolve=False,
        counting_since=timezone.now() - timedelta(minutes=30),
    )
    alert.targets.add(_pd_service(org, org.memberships.get().user))
    started = time.time() - 120  # the events are out of the 1-minute window by now
    events = [Event(timestamp=started, app="checkout", level=Level.ERROR) for _ in range(3)]
    [firing] = evaluation.record(org.pk, events, now=started)
    evaluation.evaluate()
    firing.refresh_from_db()
    assert firing.is_open and firing.condition_cleared_at is not None

    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(f"{live_server.url}{alert.get_absolute_url()}")
    waits = page.locator("#firing-waits")
    expect(waits).to_contain_text("Condition cleared at")
    expect(waits).to_contain_text("stays open until resolved in PagerDuty or here.")
    expect(page.locator("#alert-resolving")).to_have_text("Resolves by hand: in PagerDuty or here")
    screenshot(page, "firing-waits-for-a-person")

    # Dismissed, nothing happens; accepted, it resolves.
    asked: list[str] = []

    def answer(dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss() if len(asked) == 1 else dialog.accept()

    page.on("dialog", answer)
    page.locator("#resolve-firing button").click()
    expect(page.locator("#firing-waits")).to_be_visible()
    assert asked == ["Resolves the incidents in PagerDuty for “Checkout errors”. Resolve it?"]
    assert Firing.objects.get(pk=firing.pk).is_open

    page.locator("#resolve-firing button").click()
    expect(page.locator(".flash-success")).to_contain_text("“Checkout errors” resolved.")
    expect(page.locator(f"#firing-{firing.pk}")).to_contain_text(
        "Resolved in Tripwire by owner@acme.example"
    )
    expect(page.locator("#firing-waits")).to_have_count(0)
    firing.refresh_from_db()
    assert firing.clear_reason == Firing.ClearReason.RESOLVED
    assert firing.deliveries.filter(event_action=EventAction.RESOLVE).count() == 1
