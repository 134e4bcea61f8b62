"""The alert form in headless Chromium, against the local PagerDuty sandbox over real HTTP
and a real Celery worker: start an alert with nothing connected, connect PagerDuty from the
form and come back to the draft, send a test alert to two services, resolve one test
incident, save; and form errors come before any test alert is sent."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, Route, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
from tests.browser import authorize_on_sandbox, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHOSEN = ["Checkout API 120", "Checkout API 121"]
# A test claims no events (how a real one reads is in its details).
SUMMARY = (
    "[TEST] Checkout errors: a test alert from Tripwire. No events were counted; nothing is wrong."
)
# What we type into the alert form, by input name; each must survive the trip to PagerDuty.
TYPED = {
    "name": "Checkout errors",
    "threshold": "5",
    "window_minutes": "10",
    "summary_template": "{alert}: {count} errors in {window} ({org})",
    "source": "checkout-api",
    "component": "payments",
    "details-0-key": "runbook",
    "details-0-value": "https://wiki.example/checkout",
}
# The htmx polls of one delivery's panel (not its /resolve/ action).
DELIVERY_POLL = re.compile(r"/pagerduty/deliveries/\d+/$")


def _target(page: Page, name: str) -> Locator:
    """A service's checkbox in the alert form's targets ("<name> (<account>)")."""
    return page.locator("#targets").get_by_role(
        "checkbox", name=re.compile(rf"^{re.escape(name)}(?!\d)")
    )


def _expect_no_errors(page: Page) -> None:
    main = page.locator("main")
    expect(main.locator(".errorlist")).to_have_count(0)
    expect(main.locator(".field-error")).to_have_count(0)
    expect(main.locator(".flash-error")).to_have_count(0)


def _connect_two_services_from_the_form(page: Page, sandbox_url: str) -> None:
    """ "Connect PagerDuty" on the unsaved form: authorize on the sandbox, choose two."""
    authorize_on_sandbox(page, sandbox_url)
    page.get_by_role("button", name="Approve").click()

    expect(page.get_by_role("heading", name="Choose the services to connect")).to_be_visible()
    rows = page.locator("#service-rows")
    expect(rows).to_contain_text("139 services · page 1 of 6.")
    # The list is the server's; the search is htmx's once the page's scripts ran (on a
    # loaded machine, typing before then searched nothing).
    page.wait_for_load_state("load")
    page.get_by_placeholder("Service or team").fill("Checkout API 12")
    expect(rows).to_contain_text("10 of 139 services match “Checkout API 12” by name or team.")
    for name in CHOSEN:
        named = re.compile(rf"^{re.escape(name)}(?!\d)")
        rows.locator("label").filter(has=page.get_by_role("checkbox", name=named)).click()
        expect(rows.get_by_role("checkbox", name=named)).to_be_checked()
    expect(rows.locator("input[name=service]:checked")).to_have_count(2)
    page.get_by_role("button", name="Connect 2 services").click()


def test_new_alert_connect_pagerduty_from_the_form_test_resolve_and_save(
    page: Page, live_server, org: Organization, pagerduty, celery_worker, screenshot, settings
) -> None:
    base = live_server.url
    settings.SITE_URL = base  # where PagerDuty's OAuth callback comes back
    new_url = f"{base}/o/{org.slug}/alerts/new/"
    sign_in(page, base, "owner@acme.example")

    # 1. No alerts yet, and a way to create the first one.
    page.goto(f"{base}/o/{org.slug}/alerts/")
    expect(page.get_by_text("No alerts yet.")).to_be_visible()
    expect(page.get_by_text("You will need a PagerDuty service to page")).to_be_visible()
    screenshot(page, "alerts-empty")
    page.get_by_role("button", name="Create your first alert").click()

    # 2. The form, filled in, with nothing to page yet.
    expect(page).to_have_url(new_url)
    expect(page.get_by_role("heading", name="New alert")).to_be_visible()
    expect(page.get_by_text("No PagerDuty service is connected yet.")).to_be_visible()
    form = page.locator("main form")
    for name, value in TYPED.items():
        form.locator(f"[name='{name}']").fill(value)
    form.locator("select[name=severity]").select_option(label="Critical")
    screenshot(page, "form-filled-no-service")

    # 3. Connect PagerDuty with the form unsaved: sandbox sign-in, consent, two services.
    _connect_two_services_from_the_form(page, pagerduty.url)

    # 4. Back on the new alert, the draft as typed, both new services ticked, no errors.
    expect(page).to_have_url(new_url)
    expect(page.locator(".messages")).to_have_text(
        f"Connected {', '.join(CHOSEN)}. Remember to save the alert."
    )
    form = page.locator("main form")
    for name, value in TYPED.items():
        expect(form.locator(f"[name='{name}']")).to_have_value(value)
    expect(form.locator("select[name=severity]")).to_have_value("critical")
    for name in CHOSEN:
        expect(_target(page, name)).to_be_checked()
    expect(page.locator("#targets input[name=targets]:checked")).to_have_count(2)
    expect(page.get_by_text("No PagerDuty service is connected yet.")).to_have_count(0)
    _expect_no_errors(page)
    services = list(PagerDutyService.objects.filter(organization=org).order_by("name"))
    assert [s.name for s in services] == CHOSEN
    screenshot(page, "draft-restored-services-ticked")

    # 5. Send a test alert. Hold the panels' polls a moment to see them as first shown.
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route(DELIVERY_POLL, hold)
    page.get_by_role("button", name="Send test alert").click()
    question = page.get_by_role("dialog", name="Send a test alert?")  # asked first
    expect(question).to_be_visible()
    assert not Delivery.objects.exists()
    with page.expect_response(re.compile(r"/alerts/test/$")) as sent:
        question.get_by_role("button", name="Yes, send the test alert").click()
    assert sent.value.status == 200
    results = page.locator("#test-results")
    expect(results.get_by_role("heading", name="Test alert")).to_be_visible()
    panels = results.locator("article.delivery")
    expect(panels).to_have_count(2)
    for panel, name in zip(panels.all(), CHOSEN, strict=True):
        expect(panel).to_contain_text(f"Test trigger to {name}")
        expect(panel).to_have_attribute("data-status", "queued")
        expect(panel.locator(".badge")).to_have_text("Queued")
        expect(panel).to_contain_text("Queued for delivery…")
    expect(page).to_have_url(new_url)  # htmx swapped the form body; no page load
    screenshot(page, "test-alert-queued")
    page.unroute(DELIVERY_POLL, hold)
    for route in held:
        route.continue_()

    for panel in panels.all():
        expect(panel).to_have_attribute("data-status", "delivered", timeout=20_000)
        expect(panel.locator(".badge")).to_have_text("Delivered")
        expect(panel).to_contain_text("PagerDuty accepted it")
    triggers = list(
        Delivery.objects.filter(
            organization=org, is_test=True, event_action=EventAction.TRIGGER
        ).order_by("service_name")
    )
    assert [d.service_name for d in triggers] == CHOSEN
    assert all(d.alert_id is None for d in triggers)
    assert len({d.dedup_key for d in triggers}) == 2
    for panel, delivery in zip(panels.all(), triggers, strict=True):
        expect(panel.locator("p code")).to_have_text(delivery.dedup_key)
        received = pagerduty.events(dedup_key=delivery.dedup_key)
        assert len(received) == 1, received
        assert received[0]["event_action"] == "trigger"
        assert received[0]["status_code"] == 202
        assert received[0]["routing_key"] == delivery.service.integration_key
        payload = received[0]["body"]["payload"]
        assert payload["summary"] == SUMMARY
        assert payload["severity"] == "critical"
        assert payload["source"] == "checkout-api"
        assert payload["component"] == "payments"
        assert payload["custom_details"]["runbook"] == "https://wiki.example/checkout"
    first = panels.first
    event_as_sent = first.locator("details")
    expect(event_as_sent.locator("pre")).not_to_be_visible()
    event_as_sent.locator("summary").click()
    expect(event_as_sent.locator("pre")).to_be_visible()
    expect(event_as_sent.locator("pre")).to_contain_text(SUMMARY)
    expect(event_as_sent.locator("pre")).to_contain_text("https://wiki.example/checkout")
    screenshot(page, "test-alert-delivered")

    # 6. Resolve the first test incident: a resolve panel after it, delivered, resolved.
    first.get_by_role("button", name="Resolve test incident").click()
    expect(panels).to_have_count(3)
    resolve = results.locator("article.delivery").nth(1)
    expect(resolve).to_contain_text(f"Test resolve to {CHOSEN[0]}")
    expect(resolve).to_have_attribute("data-status", "delivered", timeout=20_000)
    expect(resolve.locator("p code")).to_have_text(triggers[0].dedup_key)
    resolved = pagerduty.alerts(dedup_key=triggers[0].dedup_key)
    assert [a["status"] for a in resolved] == ["resolved"]
    assert [a["status"] for a in pagerduty.alerts(dedup_key=triggers[1].dedup_key)] == ["triggered"]
    assert (
        Delivery.objects.filter(
            organization=org, event_action=EventAction.RESOLVE, dedup_key=triggers[0].dedup_key
        ).count()
        == 1
    )
    screenshot(page, "test-incident-resolved")

    # 7. Nothing was saved by testing; Save alert saves it, with both services.
    assert Alert.objects.count() == 0
    form.get_by_role("button", name="Save alert").click()
    expect(page).to_have_url(f"{base}/o/{org.slug}/alerts/")
    expect(page.locator(".messages")).to_have_text("Alert “Checkout errors” saved.")
    alert = Alert.objects.get()
    assert alert.name == "Checkout errors" and alert.severity == "critical"
    assert (alert.threshold, alert.window_minutes) == (5, 10)
    assert sorted(t.name for t in alert.targets.all()) == CHOSEN
    assert {d.key: d.value for d in alert.details.all()} == {
        "runbook": "https://wiki.example/checkout"
    }
    row = page.locator(f"#alert-{alert.pk}")
    expect(row).to_contain_text("Checkout errors")
    expect(row).to_contain_text("Critical")
    expect(row).to_contain_text("5 or more matching events in 10 minutes")
    expect(row).to_contain_text(", ".join(CHOSEN))
    expect(page.get_by_text("No alerts yet.")).to_have_count(0)
    screenshot(page, "alert-saved")


@pytest.mark.parametrize("debug", [False, True], ids=["production", "development"])
def test_form_errors_come_before_a_test_alert_and_nothing_is_sent(
    page: Page,
    live_server,
    org: Organization,
    connected_service: PagerDutyService,
    screenshot,
    settings,
    debug: bool,
) -> None:
    # In development (DEBUG) django-htmx swaps a 400's body over the whole document: the
    # errors must still come back in place, in the styled page.
    settings.DEBUG = debug
    base = live_server.url
    sign_in(page, base, "owner@acme.example")
    page.goto(f"{base}/o/{org.slug}/alerts/new/")
    expect(page.locator("input[name=name]")).to_have_value("")  # a fresh form: no name
    _target(page, connected_service.name).check()

    with page.expect_response(re.compile(r"/alerts/test/$")) as sent:
        page.get_by_role("button", name="Send test alert").click()
    assert sent.value.status < 500
    assert not Delivery.objects.exists()  # nothing queued, whatever the page shows
    expect(page.locator("#test-sending")).not_to_have_class(re.compile(r"htmx-request"))
    expect(page.locator("#test-sending")).to_be_hidden()  # no stuck "Sending…"
    screenshot(page, f"send-test-alert-without-a-name-{'debug' if debug else 'production'}")
    expect(page.get_by_text("Fix the errors below before sending a test alert.")).to_be_visible(
        timeout=5_000
    )
    name_field = page.locator(".field", has=page.locator("input[name=name]"))
    expect(name_field).to_have_class(re.compile(r"\bfield-error\b"))
    expect(name_field.locator(".errorlist")).to_have_text("This field is required.")
    expect(page.locator("main .errorlist")).to_have_count(1)  # only the name
    expect(page.locator("#test-results article.delivery")).to_have_count(0)
    expect(_target(page, connected_service.name)).to_be_checked()  # the rest as it was
    # Still the whole styled page around the form, not the form body alone.
    expect(page.get_by_role("heading", name="New alert")).to_be_visible()
    assert page.evaluate("document.styleSheets.length") > 0
    expect(page.locator("#alert-form-body")).to_have_count(1)
    assert not Delivery.objects.exists()
    assert not Alert.objects.exists()
