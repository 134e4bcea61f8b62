""" "Send test alert" says how urgent the test will be where Tripwire can know it: for an
OAuth-connected service, what the service's urgency rule (read from PagerDuty in the
background, with who is on call) makes of the test's severity; where it can't (a pasted
key, or no fresh reading), that the test may be high urgency. The page itself never waits
on PagerDuty."""

from __future__ import annotations

import html
import time

import pytest

from integrations.pagerduty.incidents import oncall
from integrations.pagerduty.incidents.models import OnCallNow
from integrations.pagerduty.models import Delivery

pytestmark = pytest.mark.django_db

SEVERITY_BASED = {"type": "constant", "urgency": "severity_based"}
LOW = {"type": "constant", "urgency": "low"}
BY_HOURS = {
    "type": "use_support_hours",
    "during_support_hours": {"type": "constant", "urgency": "high"},
    "outside_support_hours": {"type": "constant", "urgency": "severity_based"},
}
NINE_TO_FIVE = {
    "type": "fixed_time_per_day",
    "time_zone": "Europe/Paris",
    "start_time": "09:00:00",
    "end_time": "17:00:00",
    "days_of_week": [1, 2, 3, 4, 5],
}


def _asked(admin_client, org, form_data, services, severity: str) -> str:
    """The first press of "Send test alert…": the question, nothing sent."""
    data = {**form_data([s.pk for s in services], severity=severity)}
    del data["confirm_test"]
    page = admin_client.post(f"/o/{org.slug}/alerts/test/", data).content.decode()
    assert '<dialog id="test-confirm" open' in page and not Delivery.objects.exists()
    return " ".join(html.unescape(page).split())


def _read(service, pagerduty, rule, hours=None) -> None:
    """The service's rule in PagerDuty, read by the background refresh (run here)."""
    pagerduty.set_urgency_rule(service.pd_service_id, rule, hours)
    oncall.on_call([service])  # the form's first look: a row, a refresh asked
    oncall.refresh([service.pk])


@pytest.mark.parametrize(
    ("rule", "severity", "said"),
    [
        (
            {"type": "constant", "urgency": "high"},
            "info",
            "The urgency setting of Checkout API 001 makes this test high urgency: PagerDuty "
            "notifies whoever is on call by their high-urgency rules (usually a phone call or "
            "push).",
        ),
        (
            LOW,
            "critical",
            "The urgency setting of Checkout API 001 makes this test low urgency: PagerDuty "
            "notifies whoever is on call by their low-urgency rules (often email only).",
        ),
        (
            SEVERITY_BASED,
            "critical",
            "Checkout API 001 sets urgency by severity, and this test is sent as critical, "
            "which is high urgency: PagerDuty notifies whoever is on call by their "
            "high-urgency rules (usually a phone call or push).",
        ),
        (
            SEVERITY_BASED,
            "warning",
            "Checkout API 001 sets urgency by severity, and this test is sent as warning, "
            "which is low urgency: PagerDuty notifies whoever is on call by their low-urgency "
            "rules (often email only).",
        ),
    ],
)
def test_the_question_says_what_the_services_rule_makes_of_the_tests_severity(
    admin_client, org, connected_service, form_data, pagerduty, rule, severity, said
) -> None:
    _read(connected_service, pagerduty, rule)
    page = _asked(admin_client, org, form_data, [connected_service], severity)
    assert said in page
    assert "may be high urgency" not in page
    # How a person is notified is their own setting: nothing promises who wakes.
    dialog = page[page.index('<dialog id="test-confirm"') :]
    assert "wake" not in dialog[: dialog.index("</dialog>")]
    assert "An Event Orchestration rule in PagerDuty can still change the urgency." in page


def test_by_support_hours_it_says_both_sides(
    admin_client, org, connected_service, form_data, pagerduty
) -> None:
    _read(connected_service, pagerduty, BY_HOURS, NINE_TO_FIVE)
    page = _asked(admin_client, org, form_data, [connected_service], "warning")
    assert (
        "The urgency setting of Checkout API 001 makes this test high urgency during its "
        "support hours and low urgency outside them. PagerDuty notifies whoever is on call by "
        "their rules for that urgency (high: usually a phone call or push; low: often email "
        "only)." in page
    )
    # Critical is high on both sides: one plain answer.
    page = _asked(admin_client, org, form_data, [connected_service], "critical")
    assert "makes this test high urgency: PagerDuty notifies whoever is on call" in page


def test_a_pasted_key_service_may_be_high_urgency(
    admin_client, org, connected_service, make_service, form_data, pagerduty
) -> None:
    _read(connected_service, pagerduty, LOW)
    pasted = make_service("Checkout API 002")
    page = _asked(admin_client, org, form_data, [connected_service, pasted], "info")
    assert "The urgency setting of Checkout API 001 makes this test low urgency" in page
    assert (
        "PagerDuty sets the urgency in Checkout API 002 by its own settings, which Tripwire "
        "can't read through a pasted integration key, so this test may be high urgency: then "
        "PagerDuty notifies whoever is on call by their high-urgency rules (usually a phone "
        "call or push)." in page
    )


def test_with_pagerduty_slow_the_page_does_not_wait_and_says_may(
    admin_client, org, connected_service, form_data, pagerduty
) -> None:
    pagerduty.set_urgency_rule(connected_service.pd_service_id, LOW)
    pagerduty.fault("rest-us", "hang", count=5, seconds=30)
    asked_before = len(pagerduty.requests_log(host="rest-us"))

    started = time.monotonic()
    page = _asked(admin_client, org, form_data, [connected_service], "info")
    assert time.monotonic() - started < 10  # far less than PagerDuty's hang
    pagerduty.clear_faults()
    assert len(pagerduty.requests_log(host="rest-us")) == asked_before  # asked in a task
    assert (
        "Tripwire couldn't read the urgency setting of Checkout API 001 just now, so this "
        "test may be high urgency: then PagerDuty notifies whoever is on call by their "
        "high-urgency rules (usually a phone call or push)." in page
    )


def test_a_refresh_that_failed_leaves_no_stale_promise(
    admin_client, org, connected_service, form_data, pagerduty
) -> None:
    _read(connected_service, pagerduty, LOW)
    pagerduty.fault("rest-us", "500", count=10)
    oncall.refresh([connected_service.pk])  # PagerDuty failing at the next reading
    assert OnCallNow.objects.get(service=connected_service).urgency_rule == {}
    page = _asked(admin_client, org, form_data, [connected_service], "info")
    assert "Tripwire couldn't read the urgency setting of Checkout API 001 just now" in page
    assert "low urgency" not in page
