"""Woken at 3 a.m. on a 390 px phone, on an open firing's alert page (r18 #1): the first
large button was "Resolve and page again" (which pages again on purpose), then "Mute 1 h";
the PagerDuty incident's state and Acknowledge came only further down. The incident and its
Acknowledge now come first, within the first screen, then Resolve here and Mute 1 h; on a
laptop too."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from integrations.pagerduty.incidents.models import Incident
from integrations.pagerduty.models import PagerDutyService
from tests.alerts.mute_hour_setup import checkout_alert
from tests.browser import LAPTOP, overflow, phone, sign_in
from tests.dashboard.conftest import delivery

pytestmark = pytest.mark.django_db(transaction=True)

RESOLVE_AGAIN = "Resolve and page again"


def _paged(org: Organization) -> Alert:
    """ "Checkout errors" firing, its condition still holding, its incident open in PagerDuty
    and nobody has acknowledged it."""
    alert = checkout_alert(org)
    service = alert.targets.get()
    assert isinstance(service, PagerDutyService)
    trigger = delivery(org, service, made=alert, firing=alert.firings.get())
    Incident.objects.create(
        organization=org,
        service=service,
        dedup_key=trigger.dedup_key,
        pd_incident_id="PINC4",
        number=4,
        status="triggered",
        status_changed_at=timezone.now(),
    )
    return alert


def _top(page: Page, name: str) -> float:
    box = page.locator("#alert-state").get_by_role("button", name=name, exact=True).bounding_box()
    assert box is not None, name
    return float(box["y"])


def test_the_page_offers_acknowledge_before_resolve_and_page_again(
    org: Organization, admin_client: Client
) -> None:
    alert = _paged(org)
    html = admin_client.get(alert.get_absolute_url()).content.decode()
    ack = html.index(">Acknowledge</button>")
    assert ack < html.index(f"{RESOLVE_AGAIN}</button>")
    assert ack < html.index(">Mute 1 h</button>")
    assert ack < html.index(">Resolve in PagerDuty</button>") < html.index(RESOLVE_AGAIN)


@pytest.mark.browser
def test_acknowledge_is_the_first_button_of_the_firing_on_a_phone(
    browser: Browser, live_server, org: Organization, screenshot
) -> None:
    alert = _paged(org)
    url = f"{live_server.url}/o/{org.slug}/alerts/{alert.pk}/"

    context = phone(browser, "dark")
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(url)
    ack = page.locator("#alert-state").get_by_role("button", name="Acknowledge", exact=True)
    expect(ack).to_be_visible()
    expect(page.locator("#alert-state .incident .badge")).to_have_text("Triggered")
    ack_top = _top(page, "Acknowledge")
    assert ack_top < _top(page, RESOLVE_AGAIN)
    assert ack_top < _top(page, "Mute 1 h")
    # Within the first screen, without scrolling.
    assert ack_top + (ack.bounding_box() or {"height": 0})["height"] <= 844
    # The first button of the firing's card is Acknowledge.
    first = page.locator("#alert-state button").first
    expect(first).to_have_text("Acknowledge")
    assert overflow(page) == 0
    screenshot(page, "acknowledge-first-phone")
    context.close()

    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(url)
    assert _top(page, "Acknowledge") < _top(page, RESOLVE_AGAIN)
    screenshot(page, "acknowledge-first-laptop")
    context.close()
