""" "Send test alert" on a 390 px phone in headless Chromium: it stands apart from Save, asks
first in an accessible dialog naming who it pages (dark mode), sends once when confirmed, and
a second tap while that test is open pages no one again; without JavaScript the same question
is a step of its own (light mode)."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from alerts_saas.accounts.models import Organization
from integrations.pagerduty.incidents.models import OnCallNow
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
from tests.alerts.test_alert_page import _alert
from tests.browser import PHONE, low_contrast, overflow, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ASKS = "This pages Olivia Oncall (Checkout API 001) now. Send a test alert?"


def _edit_page(browser: Browser, live_server, org, service, scheme: str, js: bool) -> Page:
    OnCallNow.objects.update_or_create(
        service=service,
        defaults={
            "organization_id": org.pk,
            "names": ["Olivia Oncall"],
            "escalation_policy": "Checkout",
            "checked_at": timezone.now(),
            "problem": "",
        },
    )
    alert = _alert(org, service)
    context = browser.new_context(
        viewport=PHONE,
        color_scheme=scheme,  # type: ignore[arg-type]
        java_script_enabled=js,
    )
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(f"{live_server.url}/o/{org.slug}/alerts/{alert.pk}/edit/")
    return page


def _triggers() -> int:
    return Delivery.objects.filter(is_test=True, event_action=EventAction.TRIGGER).count()


def test_send_test_alert_asks_in_a_dialog_and_sends_once_on_a_phone_in_dark(
    browser: Browser,
    live_server,
    org: Organization,
    connected_service: PagerDutyService,
    screenshot,
) -> None:
    page = _edit_page(browser, live_server, org, connected_service, "dark", js=True)
    save = page.get_by_role("button", name="Save alert").bounding_box()
    send = page.get_by_role("button", name="Send test alert").bounding_box()
    assert save and send
    assert send["y"] - (save["y"] + save["height"]) >= 40  # not a slip of the thumb away

    page.get_by_role("button", name="Send test alert").click()
    question = page.get_by_role("dialog", name="Send a test alert?")
    expect(question).to_be_visible()
    expect(question).to_contain_text(ASKS)
    # "may be", or what its rule makes it: told by each person's own rules, no promise
    expect(question).to_contain_text("by their high-urgency rules (usually a phone call or push)")
    assert page.evaluate("document.getElementById('test-confirm').matches(':modal')")
    expect(question.get_by_role("button", name="Cancel")).to_be_focused()
    assert overflow(page) <= 0 and low_contrast(page) == []
    screenshot(page, "asks-who-it-pages-dark")
    assert _triggers() == 0

    page.keyboard.press("Escape")  # changed their mind: nothing sent
    expect(question).to_have_count(0)
    assert _triggers() == 0

    for tap in range(2):
        page.get_by_role("button", name="Send test alert").click()
        with page.expect_response(re.compile(r"/alerts/test/$")):
            question.get_by_role("button", name="Yes, send the test alert").click()
        expect(page.locator("#test-results article.delivery")).to_have_count(1)
        if tap:  # the first test is still open: refused in words, nothing sent again
            expect(page.locator("#test-note")).to_contain_text(
                "Not sent again to Checkout API 001: the test alert sent from this form is "
                "still open there"
            )
    assert _triggers() == 1
    assert overflow(page) <= 0 and low_contrast(page) == []
    screenshot(page, "second-tap-refused-dark")


def test_without_javascript_the_question_is_its_own_step(
    browser: Browser,
    live_server,
    org: Organization,
    connected_service: PagerDutyService,
    screenshot,
) -> None:
    page = _edit_page(browser, live_server, org, connected_service, "light", js=False)
    page.get_by_role("button", name="Send test alert").click()
    question = page.get_by_role("dialog", name="Send a test alert?")
    expect(question).to_be_visible()
    expect(question).to_contain_text(ASKS)
    assert overflow(page) <= 0
    screenshot(page, "asks-without-javascript")
    assert _triggers() == 0

    question.get_by_role("button", name="Cancel").click()
    expect(page.locator("#test-note")).to_have_text("Nothing was sent.")
    expect(question).to_have_count(0)
    assert _triggers() == 0

    page.get_by_role("button", name="Send test alert").click()
    question.get_by_role("button", name="Yes, send the test alert").click()
    expect(page.locator("#test-results article.delivery")).to_have_count(1)
    assert _triggers() == 1
    screenshot(page, "sent-without-javascript")
