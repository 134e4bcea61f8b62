"""A delivery's own page on a 390 px phone in dark mode: when it was queued, what it was
sent for and its attempts read in one column that fits the screen, and they stay while the
page polls the delivery until it is final (the panel it asks for keeps them): once it is
delivered, the page says when."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Firing
from integrations.pagerduty.models import Delivery
from tests.browser import low_contrast, overflow, phone, sign_in
from tests.dashboard.conftest import alert, delivery, service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_delivery_page_on_a_dark_phone_keeps_its_facts_as_it_settles(
    browser: Browser, live_server, org: Organization
) -> None:
    checkout = service(org, "Checkout API for the payments team in the European region")
    made = alert(org, "Checkout errors on the card payment path", checkout)
    firing = Firing.objects.create(organization=org, alert=made, count_at_open=1)
    queued_at = timezone.now() - timedelta(minutes=3)
    sent = delivery(
        org,
        checkout,
        made=made,
        firing=firing,
        status=Delivery.Status.QUEUED,
        at=queued_at,
        attempts=1,
        response_status=503,
        response_message="Service Unavailable",
        last_error="PagerDuty answered 503: Service Unavailable",
        next_attempt_at=timezone.now() + timedelta(minutes=5),
    )

    context = phone(browser, "dark")
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "owner@acme.example")
        page.goto(f"{live_server.url}/o/{org.slug}/pagerduty/deliveries/{sent.pk}/")
        facts = page.locator("#delivery-facts")
        expect(facts).to_contain_text("Queued")
        expect(facts).to_contain_text("3 minutes ago")
        expect(facts.get_by_role("link", name=f"Alert “{made.name}”")).to_be_visible()
        expect(facts).to_contain_text("1 attempt: PagerDuty answered HTTP 503")
        expect(facts).not_to_contain_text("Delivered")
        assert overflow(page) == 0
        assert low_contrast(page) == []

        Delivery.objects.filter(pk=sent.pk).update(
            status=Delivery.Status.DELIVERED,
            attempts=2,
            response_status=202,
            response_message="Event processed",
            latency_ms=85,
            delivered_at=timezone.now(),
            last_error="",
        )
        expect(page.locator("#delivery-facts dt").filter(has_text="Delivered")).to_be_visible()
        expect(page.locator("#delivery-facts")).to_contain_text(
            "2 attempts; the last: PagerDuty answered HTTP 202 “Event processed” in 85 ms."
        )
        expect(page.locator("#delivery-facts")).to_contain_text("Queued")
        assert overflow(page) == 0
    finally:
        context.close()
