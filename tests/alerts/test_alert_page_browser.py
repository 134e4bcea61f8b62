"""The alert page and the condition form in headless Chromium: a firing alert's banner and
chart (uPlot draws a canvas), the page refreshing itself when the firing clears, the list
with the firing alert first, and the condition's help and errors in the form."""

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
from tests.browser import sign_in
from tests.tenant_objects import _pd_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _firing_alert(org: Organization) -> Alert:
    service = _pd_service(org, org.memberships.get().user)
    alert = Alert.objects.create(
        organization=org,
        name="Checkout errors",
        threshold=3,
        window_minutes=5,
        match_app="checkout",
        match_level=Level.ERROR,
        counting_since=timezone.now() - timedelta(minutes=30),
    )
    alert.targets.add(service)
    Alert.objects.create(
        organization=org,
        name="A quiet alert",
        match_app="search",
        counting_since=timezone.now() - timedelta(minutes=30),
    )
    now = time.time()
    [firing] = evaluation.record(
        org.pk,
        [
            Event(
                timestamp=now - 60 + i,
                message=f"card declined #{i}",
                app="checkout",
                level=Level.ERROR,
                source="web-1",
                attributes={"order": 4400 + i},
            )
            for i in range(4)
        ],
    )
    assert firing.alert_id == alert.pk
    return alert


def test_a_firing_alert_page_with_its_chart_refreshes_when_the_firing_clears(
    page: Page, live_server, org: Organization, screenshot
) -> None:
    alert = _firing_alert(org)
    base = live_server.url
    sign_in(page, base, "owner@acme.example")

    # The list: the firing alert first, and how many fire.
    page.goto(f"{base}/o/{org.slug}/alerts/")
    expect(page.locator("#firing-count")).to_have_text("Firing 1 alert is firing.")
    expect(page.locator("tbody tr").first).to_contain_text("Checkout errors")
    expect(page.locator("tbody tr").first.locator(".badge").first).to_have_text("Firing")
    screenshot(page, "list-firing-first")

    # The alert's page: the banner, the condition, the chart, the events, the firing.
    page.clock.install()
    page.goto(f"{base}/o/{org.slug}/alerts/{alert.pk}/")
    banner = page.locator("#alert-state")
    expect(banner.locator("h2")).to_contain_text("FIRING since")
    target = alert.targets.get().name
    expect(banner.locator("#firing-targets")).to_contain_text(f"{target}: Trigger")
    expect(page.locator(".condition-summary")).to_contain_text(
        "At least 3 matching events in 5 minutes"
    )
    expect(page.locator(".condition-summary")).to_contain_text(
        "App is “checkout”, level error or above"
    )
    chart = page.locator("#alert-chart")
    expect(chart.locator("canvas")).to_have_count(1)
    expect(chart.locator(".u-legend")).to_contain_text("Fires at 3")
    assert chart.bounding_box()["height"] > 200
    expect(page.locator("#recent-events tbody tr")).to_have_count(4)
    expect(page.locator("#recent-events tbody tr").first).to_contain_text("card declined #3")
    expect(page.locator("#firings")).to_contain_text("Still firing")
    screenshot(page, "alert-firing")

    # The condition no longer holds (the threshold was raised elsewhere): within 15 s the
    # page says so by itself, and the chart is drawn again.
    Alert.objects.filter(pk=alert.pk).update(threshold=10)
    evaluation.reevaluate(Alert.objects.get(pk=alert.pk), restarted=False)
    assert Firing.objects.get().clear_reason == Firing.ClearReason.EDITED
    with page.expect_response(f"**/alerts/{alert.pk}/live/"):
        page.clock.run_for(16_000)
    expect(banner.locator("h2")).to_have_text("OK")
    expect(banner).to_contain_text("4 matching events in the last 5 minutes; it fires at 10.")
    expect(page.locator("#firings")).to_contain_text("Condition edited")
    expect(page.locator("#alert-chart canvas")).to_have_count(1)
    expect(page.locator("#alert-chart .u-legend")).to_contain_text("Fires at 10")
    screenshot(page, "alert-cleared-by-refresh")


def test_the_condition_form_explains_both_kinds_and_refuses_a_bad_expression(
    page: Page, live_server, org: Organization, screenshot
) -> None:
    _pd_service(org, org.memberships.get().user)
    base = live_server.url
    sign_in(page, base, "owner@acme.example")
    page.goto(f"{base}/o/{org.slug}/alerts/new/")
    condition = page.locator("#condition")
    presence_help = condition.locator(".kind-help-presence")
    absence_help = condition.locator(".kind-help-absence")
    expect(presence_help).to_be_visible()
    expect(absence_help).to_be_hidden()

    page.get_by_label("Fire when").select_option(label="Fewer than")
    expect(absence_help).to_be_visible()
    expect(absence_help).to_contain_text("waits one full window after saving")
    expect(presence_help).to_be_hidden()
    page.fill("input[name=name]", "Nightly job heartbeat")
    page.get_by_label("Number of matching events").fill("1")
    page.get_by_label("Window length").fill("2")
    page.get_by_label("Window unit").select_option("hours")
    page.get_by_label("App is").fill("billing")
    page.get_by_label("Message contains").fill("finished (")
    page.get_by_label("Regular expression").check()
    page.locator("input[name=match_attribute]").fill("job")
    page.locator("#targets input[name=targets]").first.check()
    screenshot(page, "condition-filled")

    page.get_by_role("button", name="Save alert").click()
    message_field = page.locator(".field", has=page.locator("input[name=match_message]"))
    expect(message_field.locator(".errorlist")).to_contain_text(
        "This is not a regular expression we can run"
    )
    attribute_value = page.locator(".field", has=page.locator("input[name=match_attribute_value]"))
    expect(attribute_value.locator(".errorlist")).to_contain_text("Give the value “job” must equal")
    expect(page.get_by_label("Fire when")).to_have_value("absence")
    expect(page.get_by_label("Window unit")).to_have_value("hours")
    screenshot(page, "condition-errors")
    assert not Alert.objects.exists()

    page.get_by_label("Message contains").fill(r"finished \(ok\)")
    page.get_by_label("Equals").fill("nightly")
    page.get_by_role("button", name="Save alert").click()
    expect(page.locator(".messages")).to_have_text("Alert “Nightly job heartbeat” saved.")
    alert = Alert.objects.get()
    assert (alert.kind, alert.threshold, alert.window_minutes) == ("absence", 1, 120)
    row = page.locator(f"#alert-{alert.pk}")
    expect(row).to_contain_text("Fewer than 1 matching event in 2 hours")
    expect(row.locator(".badge").first).to_have_text("Waiting")

    page.get_by_role("link", name="Nightly job heartbeat").click()
    expect(page.locator("#alert-state h2")).to_have_text("Waiting")
    expect(page.get_by_text("No matching events yet.")).to_be_visible()
    page.get_by_role("link", name="Settings / Ingest keys").click()
    expect(page).to_have_url(f"{base}/o/{org.slug}/settings/ingest-keys/")
