"""Muting in headless Chromium: mute an alert from its page for a deploy, a firing shows
held, the list and the dashboard say it is muted, and "End now" (after its confirmation)
pages the held firing at once."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Dialog, Page, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts import evaluation
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Alert, Firing, MuteWindow
from integrations.pagerduty.models import Delivery
from tests.browser import sign_in
from tests.tenant_objects import _pd_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_mute_an_alert_see_it_held_everywhere_and_end_the_mute(
    page: Page, live_server, org: Organization, screenshot
) -> None:
    alert = Alert.objects.create(
        organization=org,
        name="Checkout errors",
        threshold=1,
        window_minutes=5,
        counting_since=timezone.now() - timedelta(minutes=30),
    )
    alert.targets.add(_pd_service(org, org.memberships.get().user))
    base = live_server.url
    sign_in(page, base, "owner@acme.example")
    page.goto(f"{base}/o/{org.slug}/alerts/{alert.pk}/")
    expect(page.locator("#no-mutes")).to_contain_text("Not muted")

    page.locator("#mute-jump").click()  # opens the form below, the focus in it
    expect(page.get_by_label("For")).to_be_focused()
    page.get_by_label("For").select_option("120")
    page.get_by_label("Why").first.fill("deploy v2.14")
    page.get_by_role("button", name="Mute “Checkout errors”").click()
    expect(page.locator(".flash").first).to_contain_text("“Checkout errors” is muted until")
    line = page.locator("#mute-lines li").first
    expect(line).to_contain_text("Muted until")
    expect(line).to_contain_text("deploy v2.14")
    window = MuteWindow.objects.get(alert=alert)
    assert timedelta(minutes=119) < window.ends_at - timezone.now() <= timedelta(minutes=120)

    # It fires while muted: recorded and shown, not paged.
    [firing] = evaluation.record(org.pk, [Event(timestamp=time.time(), message="boom")])
    assert firing.held and not Delivery.objects.filter(firing=firing).exists()
    page.reload()
    expect(page.locator("#held-note")).to_contain_text("it will page then if still firing")
    expect(page.locator(f"#firing-{firing.pk}")).to_contain_text("Held by a mute: nothing sent")
    screenshot(page, "alert-muted-and-held")

    page.goto(f"{base}/o/{org.slug}/alerts/")
    row = page.locator(f"#alert-{alert.pk}")
    expect(row.locator(".mute-mark")).to_have_text("Muted")
    expect(row.locator(".mute-note")).to_contain_text("deploy v2.14")
    page.goto(f"{base}/o/{org.slug}/")
    expect(page.locator("#dash-muted")).to_contain_text("Checkout errors")
    expect(page.locator(".latest-delivery")).to_contain_text("it pages when the mute ends")
    screenshot(page, "dashboard-muted")

    # End it: the confirmation says what happens, and the held firing pages at once.
    page.goto(f"{base}/o/{org.slug}/alerts/{alert.pk}/")
    asked: list[str] = []

    def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("button", name="End now").click()
    expect(page.locator(".flash").first).to_contain_text("Tripwire pages again")
    assert asked and "a firing the mute held back pages now if it is still open" in asked[0]
    expect(page.locator("#no-mutes")).to_be_visible()
    assert not Firing.objects.get(pk=firing.pk).held
    assert Delivery.objects.filter(firing=firing, event_action="trigger").count() == 1
    page.goto(f"{base}/o/{org.slug}/alerts/")
    expect(page.locator(f"#alert-{alert.pk} .mute-mark")).to_have_count(0)


def test_mute_a_service_for_every_alert_from_settings(
    page: Page, live_server, org: Organization, screenshot
) -> None:
    service = _pd_service(org, org.memberships.get().user)
    base = live_server.url
    sign_in(page, base, "owner@acme.example")
    page.goto(f"{base}/o/{org.slug}/settings/integrations/")
    row = page.locator(f"#service-{service.pk}")
    row.get_by_text("Mute for every alert…").click()
    row.get_by_label("For").select_option("30")
    row.get_by_label("Why").fill("PagerDuty maintenance")
    row.get_by_role("button", name=f"Mute {service.name}").click()
    expect(page.locator(".flash").first).to_contain_text(f"Paging {service.name} is muted until")
    mute = page.locator(f"#service-mute-{service.pk}")
    expect(mute.locator(".badge")).to_have_text("Muted")
    expect(mute).to_contain_text("PagerDuty maintenance: no alert pages it until then")
    screenshot(page, "service-muted")
    page.goto(f"{base}/o/{org.slug}/")
    expect(page.locator("#dash-muted")).to_contain_text(f"Service {service.name}")

    page.goto(f"{base}/o/{org.slug}/settings/integrations/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#service-mute-{service.pk}").get_by_role("button", name="End now").click()
    expect(page.locator(f"#service-mute-{service.pk} .badge")).to_have_count(0)
    assert MuteWindow.objects.get(service=service).ends_at <= timezone.now()
