"""The alert form's condition: fire when at least / fewer than N matching events in a window,
the match rules and their errors in words, and what saving an edit does to the counts."""

from __future__ import annotations

import time

import pytest

from alerts_saas.alerts import evaluation
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.counting import CounterSet, counts
from alerts_saas.alerts.models import Alert, ConditionKind, Firing, Level
from integrations.pagerduty.models import Delivery, EventAction
from tests.alerts.conftest import resolves_of

pytestmark = pytest.mark.django_db


def _new(admin_client, org, data):
    return admin_client.post(f"/o/{org.slug}/alerts/new/", data)


def _errors_in(body: str) -> str:
    return body.replace("&quot;", '"').replace("&#x27;", "'")


def test_the_condition_and_match_rules_are_saved(admin_client, org, connected_service, form_data):
    data = form_data(
        [connected_service.pk],
        kind="absence",
        threshold="1",
        window_minutes="2",
        window_unit="hours",
        match_app="billing",
        match_source="cron-1",
        match_level=str(Level.WARNING),
        match_message=r"heartbeat \d+",
        match_message_regex="on",
        match_attribute="job",
        match_attribute_value="nightly",
    )
    response = _new(admin_client, org, data)
    assert response.status_code == 302, _errors_in(response.content.decode())[:3000]
    alert = Alert.objects.get()
    assert alert.kind == ConditionKind.ABSENCE and alert.is_absence
    assert (alert.threshold, alert.window_minutes) == (1, 120)
    assert (alert.match_app, alert.match_source, alert.match_level) == (
        "billing",
        "cron-1",
        Level.WARNING,
    )
    assert (alert.match_message, alert.match_message_regex) == (r"heartbeat \d+", True)
    assert (alert.match_attribute, alert.match_attribute_value) == ("job", "nightly")
    listing = admin_client.get(f"/o/{org.slug}/alerts/").content.decode()
    assert "Fewer than 1 matching event in 2 hours" in listing
    assert "level warning or above" in listing


def test_a_form_without_rules_counts_every_event_at_least(
    admin_client, org, connected_service, form_data
):
    assert _new(admin_client, org, form_data([connected_service.pk])).status_code == 302
    alert = Alert.objects.get()
    assert alert.kind == ConditionKind.PRESENCE  # no "kind" posted: the default
    assert alert.match_level is None and not alert.match_message_regex
    page = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    assert "At least 5 matching events in 10 minutes" in page
    assert "every event counts" in page


def test_the_form_reads_the_condition_as_a_sentence(admin_client, org, connected_service):
    page = admin_client.get(f"/o/{org.slug}/alerts/new/").content.decode()
    assert "Condition" in page and "matching events in" in page
    assert '<option value="presence" selected>At least</option>' in page
    assert '<option value="absence">Fewer than</option>' in page
    assert '<option value="" selected>Any level</option>' in page
    assert (
        "An event matches when it meets every rule you set (leave all empty to count "
        "every event):" in page
    )
    assert (
        'a heartbeat: fires when there are fewer than <span data-says="threshold">1 matching '
        'event</span> in <span data-says="window">5 minutes</span>'
    ) in page
    assert "waits one full window after saving before it can fire" in page
    assert "Regular expression" in page


def test_a_whole_number_of_hours_is_shown_in_hours(admin_client, org, connected_service):
    alert = Alert.objects.create(organization=org, name="Daily", window_minutes=1440)
    page = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/edit/").content.decode()
    assert 'name="window_minutes" value="24"' in page
    assert '<option value="hours" selected>hours</option>' in page


@pytest.mark.parametrize(
    ("pattern", "said"),
    [
        ("(unclosed", "This is not a regular expression we can run"),
        (r"(a)\1", "Backreferences and lookarounds are not supported."),
        ("(?<=x)y", "Backreferences and lookarounds are not supported."),
        ("a" * 501, "Keep it to 500 characters or fewer (it has 501)."),
    ],
)
def test_a_regular_expression_we_cannot_run_is_said_on_the_field(
    admin_client, org, connected_service, form_data, pattern, said
):
    data = form_data([connected_service.pk], match_message=pattern, match_message_regex="on")
    response = _new(admin_client, org, data)
    body = response.content.decode()
    assert response.status_code == 400
    assert said in body
    assert "The alert was not saved." in body
    assert not Alert.objects.exists()


def test_the_same_text_without_regular_expression_is_plain_text(
    admin_client, org, connected_service, form_data
):
    data = form_data([connected_service.pk], match_message="(unclosed")
    assert _new(admin_client, org, data).status_code == 302
    alert = Alert.objects.get()
    assert (alert.match_message, alert.match_message_regex) == ("(unclosed", False)


def test_regular_expression_without_text_is_dropped(
    admin_client, org, connected_service, form_data
):
    data = form_data([connected_service.pk], match_message="", match_message_regex="on")
    assert _new(admin_client, org, data).status_code == 302
    assert not Alert.objects.get().match_message_regex


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("", "eu-west-1", "Name the attribute that must equal “eu-west-1”."),
        ("region", "", "Give the value “region” must equal, or clear the attribute."),
    ],
)
def test_an_attribute_needs_both_a_name_and_a_value(
    admin_client, org, connected_service, form_data, key, value, said
):
    data = form_data([connected_service.pk], match_attribute=key, match_attribute_value=value)
    response = _new(admin_client, org, data)
    assert response.status_code == 400
    assert said in response.content.decode()
    assert not Alert.objects.exists()


@pytest.mark.parametrize(
    ("amount", "unit", "minutes"),
    [
        ("1", "minutes", 1),
        ("1440", "minutes", 1440),
        ("24", "hours", 1440),
        ("2", "hours", 120),
        ("0", "minutes", None),
        ("1441", "minutes", None),
        ("25", "hours", None),
        ("-5", "minutes", None),
        ("0", "hours", None),
    ],
)
def test_the_window_is_one_minute_to_24_hours(
    admin_client, org, connected_service, form_data, amount, unit, minutes
):
    data = form_data([connected_service.pk], window_minutes=amount, window_unit=unit)
    response = _new(admin_client, org, data)
    if minutes is None:
        assert response.status_code == 400
        assert (
            "The window must be between 1 minute and 24 hours (1440 minutes)."
            in response.content.decode()
        )
        assert not Alert.objects.exists()
    else:
        assert response.status_code == 302
        assert Alert.objects.get().window_minutes == minutes


def test_a_threshold_below_one_is_refused_in_words(admin_client, org, connected_service, form_data):
    response = _new(admin_client, org, form_data([connected_service.pk], threshold="0"))
    assert response.status_code == 400
    assert "Use 1 or more." in response.content.decode()


def test_a_test_alert_for_an_absence_alert_reads_as_too_few(
    admin_client, org, connected_service, form_data
):
    data = form_data(
        [connected_service.pk],
        kind="absence",
        threshold="1",
        window_minutes="5",
        summary_template="{alert}: {count} in {window}",
    )
    response = admin_client.post(f"/o/{org.slug}/alerts/test/", data)
    assert response.status_code == 200
    details = Delivery.objects.get(event_action="trigger").body["payload"]["custom_details"]
    example = "Checkout errors: 0 in 5 minutes (example: no events were counted)"
    assert details["summary_when_it_fires"] == example


def test_a_test_alert_uses_the_window_in_hours(admin_client, org, connected_service, form_data):
    data = form_data([connected_service.pk], window_minutes="3", window_unit="hours")
    assert admin_client.post(f"/o/{org.slug}/alerts/test/", data).status_code == 200
    details = Delivery.objects.get(event_action="trigger").body["payload"]["custom_details"]
    example = "Checkout errors: 5 errors in 3 hours (Acme Ops) (example: no events were counted)"
    assert details["summary_when_it_fires"] == example
    assert not Alert.objects.exists()


# -- Saving an edit ---------------------------------------------------------------------


@pytest.fixture
def firing_alert(admin_client, org, connected_service, form_data):
    """A saved alert (3 checkout events in 10 minutes) that is firing, its trigger queued."""
    data = form_data([connected_service.pk], threshold="3", match_app="checkout")
    assert _new(admin_client, org, data).status_code == 302
    alert = Alert.objects.get()
    events = [
        Event(timestamp=time.time(), message=f"card declined #{n}", app="checkout")
        for n in range(3)
    ]
    [firing] = evaluation.record(org.pk, events)
    assert firing.alert_id == alert.pk and firing.count_at_open == 3
    return alert


def _edit(admin_client, org, alert, data, **kwargs):
    """POST the edit form; its custom detail rows left empty (the saved one stays)."""
    data = {**data, "details-0-key": "", "details-0-value": ""}
    return admin_client.post(f"/o/{org.slug}/alerts/{alert.pk}/edit/", data, **kwargs)


def test_editing_what_counts_restarts_counting_and_clears_the_firing(
    admin_client, org, connected_service, form_data, firing_alert
):
    before = firing_alert.generation
    data = form_data(
        [connected_service.pk], threshold="3", match_app="checkout", match_level=str(Level.ERROR)
    )
    response = _edit(admin_client, org, firing_alert, data, follow=True)
    assert "Counting starts afresh" in response.content.decode()
    firing_alert.refresh_from_db()
    assert firing_alert.generation == before + 1
    firing = Firing.objects.get(alert=firing_alert)
    assert not firing.is_open
    assert firing.clear_reason == Firing.ClearReason.EDITED
    assert len(resolves_of(firing)) == 1
    assert (
        counts().totals([CounterSet.of(firing_alert)], time.time())[CounterSet.of(firing_alert)]
        == 0
    )


def test_a_window_change_restarts_counting_too(
    admin_client, org, connected_service, form_data, firing_alert
):
    data = form_data(
        [connected_service.pk], threshold="3", match_app="checkout", window_minutes="15"
    )
    _edit(admin_client, org, firing_alert, data)
    firing_alert.refresh_from_db()
    assert firing_alert.generation == 2
    assert Firing.objects.get().clear_reason == Firing.ClearReason.EDITED


def test_a_threshold_edit_keeps_the_counts_and_the_firing(
    admin_client, org, connected_service, form_data, firing_alert
):
    data = form_data(
        [connected_service.pk],
        threshold="2",
        match_app="checkout",
        name="Checkout errors, renamed",
        severity="warning",
    )
    response = _edit(admin_client, org, firing_alert, data, follow=True)
    assert "Counting starts afresh" not in response.content.decode()
    firing_alert.refresh_from_db()
    assert (firing_alert.generation, firing_alert.threshold) == (1, 2)
    firing = Firing.objects.get()
    assert firing.is_open
    assert not firing.deliveries.filter(event_action=EventAction.RESOLVE).exists()
    assert (
        counts().totals([CounterSet.of(firing_alert)], time.time())[CounterSet.of(firing_alert)]
        == 3
    )


def test_raising_the_threshold_above_the_count_clears_the_firing(
    admin_client, org, connected_service, form_data, firing_alert
):
    data = form_data([connected_service.pk], threshold="10", match_app="checkout")
    _edit(admin_client, org, firing_alert, data)
    firing_alert.refresh_from_db()
    assert firing_alert.generation == 1  # the counts stand: only the bar moved
    firing = Firing.objects.get()
    assert firing.clear_reason == Firing.ClearReason.EDITED and firing.count_at_clear == 3
    assert len(resolves_of(firing)) == 1


def test_lowering_the_threshold_to_the_count_fires_at_once(
    admin_client, org, connected_service, form_data
):
    data = form_data([connected_service.pk], threshold="5")
    _new(admin_client, org, data)
    alert = Alert.objects.get()
    evaluation.record(org.pk, [Event(timestamp=time.time()) for _ in range(2)])
    assert not Firing.objects.exists()
    _edit(admin_client, org, alert, {**data, "threshold": "2"})
    firing = Firing.objects.get()
    assert firing.is_open and firing.count_at_open == 2
    trigger = Delivery.objects.get(firing=firing)
    assert trigger.event_action == EventAction.TRIGGER
    assert trigger.dedup_key == firing.dedup_key(connected_service.pk)
