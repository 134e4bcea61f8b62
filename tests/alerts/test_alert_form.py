"""Alert definitions: the form, its errors, and "Send test alert" before saving."""

from __future__ import annotations

import pytest

from alerts_saas.alerts.models import Alert
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery

pytestmark = pytest.mark.django_db


def test_create_an_alert_with_details_and_targets(admin_client, org, connected_service, form_data):
    response = admin_client.post(
        f"/o/{org.slug}/alerts/new/", form_data([connected_service.pk]), follow=True
    )
    assert "Alert “Checkout errors” saved." in response.content.decode()
    alert = Alert.objects.get()
    assert list(alert.targets.all()) == [connected_service]
    assert {d.key: d.value for d in alert.details.all()} == {
        "runbook": "https://wiki.example/checkout"
    }
    page = admin_client.get(f"/o/{org.slug}/alerts/").content.decode()
    assert "5 or more matching events in 10 minutes" in page
    assert "Checkout API 001" in page


def test_unknown_placeholders_and_missing_targets_are_form_errors(
    admin_client, org, connected_service, form_data
):
    data = form_data([], summary_template="{alert} hit {hosts} on {}")
    response = admin_client.post(f"/o/{org.slug}/alerts/new/", data)
    body = response.content.decode()
    assert response.status_code == 400
    assert "Unknown placeholder {hosts}." in body
    assert "Choose at least one PagerDuty service to page." in body
    assert "The alert was not saved." in body
    assert not Alert.objects.exists()


def test_duplicate_detail_keys_are_refused(admin_client, org, connected_service, form_data):
    data = form_data(
        [connected_service.pk], **{"details-1-key": "runbook", "details-1-value": "other"}
    )
    response = admin_client.post(f"/o/{org.slug}/alerts/new/", data)
    assert "“runbook” is used twice." in response.content.decode()
    assert not Alert.objects.exists()


def test_a_saved_key_repeated_by_a_stale_edit_is_said_in_words(
    admin_client, org, connected_service, form_data
):
    """Another tab's post, without the saved row's id, repeats its key: nothing is saved."""
    admin_client.post(f"/o/{org.slug}/alerts/new/", form_data([connected_service.pk]))
    alert = Alert.objects.get()
    response = admin_client.post(
        f"/o/{org.slug}/alerts/{alert.pk}/edit/", form_data([connected_service.pk], name="Renamed")
    )
    assert response.status_code == 409
    assert "changed while you were editing it" in response.content.decode()
    alert.refresh_from_db()
    assert alert.name == "Checkout errors" and alert.details.count() == 1


def test_a_test_alert_from_an_unsaved_form_reaches_pagerduty(
    admin_client, org, connected_service, form_data, pagerduty
):
    response = admin_client.post(f"/o/{org.slug}/alerts/test/", form_data([connected_service.pk]))
    assert response.status_code == 200
    assert not Alert.objects.exists()  # nothing saved
    delivery = Delivery.objects.get(event_action="trigger")
    assert delivery.is_test and delivery.alert is None
    body = delivery.body["payload"]
    # The summary, which wakes someone, claims no events; the details show how a real one reads.
    assert body["summary"] == (
        "[TEST] Checkout errors: a test alert from Tripwire. No events were counted; nothing "
        "is wrong."
    )
    assert body["custom_details"]["summary_when_it_fires"] == (
        "Checkout errors: 5 errors in 10 minutes (Acme Ops) (example: no events were counted)"
    )
    assert body["custom_details"]["runbook"] == "https://wiki.example/checkout"
    assert body["custom_details"]["test"].startswith("[TEST]")
    assert body["severity"] == "critical" and body["class"] == "http-5xx"
    page = response.content.decode()
    assert "Queued for delivery" in page and "&quot;summary&quot;" in page  # JSON shown
    assert engine.attempt(delivery.pk) == Delivery.Status.DELIVERED
    received = pagerduty.events(dedup_key=delivery.dedup_key)
    assert received[0]["body"]["payload"]["summary"].startswith("[TEST] Checkout errors")


def test_form_errors_come_first_and_nothing_is_sent(
    admin_client, org, connected_service, form_data
):
    response = admin_client.post(
        f"/o/{org.slug}/alerts/test/", form_data([connected_service.pk], name="", threshold="0")
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "Fix the errors below before sending a test alert." in body
    assert "This field is required." in body
    assert not Delivery.objects.exists()


def test_a_saved_alerts_test_is_in_its_history(admin_client, org, connected_service, form_data):
    admin_client.post(f"/o/{org.slug}/alerts/new/", form_data([connected_service.pk]))
    alert = Alert.objects.get()
    admin_client.post(
        f"/o/{org.slug}/alerts/test/", {**form_data([connected_service.pk]), "alert_id": alert.pk}
    )
    admin_client.post(
        f"/o/{org.slug}/alerts/test/", {**form_data([connected_service.pk]), "alert_id": alert.pk}
    )
    # The second is held back while the first test's incident is open (tests/alerts/
    # test_test_alert_guard.py says how); once it is resolved, a new one goes with a new key.
    deliveries = Delivery.objects.filter(alert=alert, event_action="trigger")
    assert deliveries.count() == 1
    first = deliveries.get()
    engine.attempt(first.pk)
    admin_client.post(f"/o/{org.slug}/pagerduty/deliveries/{first.pk}/resolve/")
    engine.attempt(Delivery.objects.get(event_action="resolve", reason="by_hand").pk)
    admin_client.post(
        f"/o/{org.slug}/alerts/test/", {**form_data([connected_service.pk]), "alert_id": alert.pk}
    )
    assert deliveries.count() == 2
    assert deliveries.values("dedup_key").distinct().count() == 2  # a fresh key each time
    page = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    assert page.count('id="delivery-row-') == 4  # each trigger and its resolve
    assert page.count("to be sent at ") == 1  # the second's automatic resolve
    delivered = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/?status=delivered")
    assert delivered.content.decode().count('id="delivery-row-') == 2


def test_connect_from_the_unsaved_form_brings_the_draft_back(
    admin_client, org, authorize, pagerduty, form_data
):
    data = form_data([], name="Draft alert", next=f"/o/{org.slug}/alerts/new/")
    callback = authorize(admin_client, **data)
    response = admin_client.get(callback, follow=True)
    select_url = response.redirect_chain[-1][0]
    ids = {s["name"]: s["id"] for s in pagerduty.account("us")["services"]}
    response = admin_client.post(
        select_url, {"service": [ids["Checkout API 050"], ids["Checkout API 051"]]}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"/o/{org.slug}/alerts/new/"
    page = response.content.decode()
    assert "Remember to save the alert." in page
    assert 'value="Draft alert"' in page
    assert "https://wiki.example/checkout" in page
    assert page.count("checked") >= 2  # the new services are ticked
    assert "This field is required" not in page
    assert not Alert.objects.exists()


def test_disable_and_delete_keep_the_history(admin_client, org, connected_service, form_data):
    admin_client.post(f"/o/{org.slug}/alerts/new/", form_data([connected_service.pk]))
    alert = Alert.objects.get()
    admin_client.post(
        f"/o/{org.slug}/alerts/test/", {**form_data([connected_service.pk]), "alert_id": alert.pk}
    )
    admin_client.post(f"/o/{org.slug}/alerts/{alert.pk}/toggle/")
    alert.refresh_from_db()
    assert not alert.enabled
    assert (
        "Yes, delete"
        in admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/delete/").content.decode()
    )
    admin_client.post(f"/o/{org.slug}/alerts/{alert.pk}/delete/")
    assert not Alert.objects.exists()
    assert sorted(Delivery.objects.values_list("event_action", flat=True)) == [
        "resolve",  # the test incident's automatic resolve, still to come
        "trigger",
    ]


def test_tests_sent_before_saving_join_the_saved_alerts_history(
    admin_client, org, connected_service, form_data
):
    response = admin_client.post(f"/o/{org.slug}/alerts/test/", form_data([connected_service.pk]))
    trigger = Delivery.objects.get(event_action="trigger")
    assert f'name="test_delivery" value="{trigger.pk}"' in response.content.decode()
    engine.attempt(trigger.pk)
    admin_client.post(f"/o/{org.slug}/pagerduty/deliveries/{trigger.pk}/resolve/")
    admin_client.post(
        f"/o/{org.slug}/alerts/new/",
        {**form_data([connected_service.pk]), "test_delivery": [trigger.pk]},
    )
    alert = Alert.objects.get()
    assert set(Delivery.objects.values_list("alert_id", flat=True)) == {alert.pk}
    listing = admin_client.get(f"/o/{org.slug}/alerts/").content.decode()
    assert ">Test alert resolve queued</span>" in listing and "Never" not in listing  # its resolve


def test_another_organizations_test_deliveries_cannot_be_adopted(
    admin_client, org, connected_service, form_data, make_org
):
    other = make_org("Other")
    from tests.tenant_objects import _delivery

    foreign = _delivery(other, other.memberships.get().user)
    Delivery.objects.filter(pk=foreign.pk).update(alert=None)
    admin_client.post(
        f"/o/{org.slug}/alerts/new/",
        {**form_data([connected_service.pk]), "test_delivery": [foreign.pk]},
    )
    foreign.refresh_from_db()
    assert foreign.alert_id is None


def test_cancel_on_the_service_choice_brings_the_draft_back(
    admin_client, org, authorize, form_data
):
    data = form_data([], name="Half-written", next=f"/o/{org.slug}/alerts/new/")
    response = admin_client.get(authorize(admin_client, **data), follow=True)
    select_url = response.redirect_chain[-1][0]
    response = admin_client.post(select_url.replace("/services/", "/services/cancel/"), follow=True)
    assert response.redirect_chain[-1][0] == f"/o/{org.slug}/alerts/new/"
    assert 'value="Half-written"' in response.content.decode()
    assert "No services were added from acme-us." in response.content.decode()


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ("{count:s} errors", "{count:s}: write the placeholder alone, as {count}."),
        ("{alert!x}", "{alert!x}: write the placeholder alone, as {alert}."),
        ("{alert:>999999999}", "write the placeholder alone, as {alert}."),
        ("{alert", "The template has a stray brace"),
        ("{0} and {}", "Unknown placeholder {0}."),
    ],
)
def test_templates_that_could_fail_at_send_time_are_refused(
    admin_client, org, connected_service, form_data, template, error
):
    response = admin_client.post(
        f"/o/{org.slug}/alerts/test/", form_data([connected_service.pk], summary_template=template)
    )
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Delivery.objects.exists()


@pytest.mark.parametrize("posted", ["²", "٣", "99999999999999999999999", "-1", "0"])
def test_odd_ids_in_the_form_are_no_such_row_not_a_crash(
    admin_client, org, connected_service, form_data, posted
):
    """Ids our pages post are read warily: Unicode digits and overflows are "not found"."""
    response = admin_client.post(
        f"/o/{org.slug}/alerts/test/", {**form_data([connected_service.pk]), "alert_id": posted}
    )
    assert response.status_code == 404
    assert not Delivery.objects.exists()
    response = admin_client.post(
        f"/o/{org.slug}/alerts/new/", {**form_data([connected_service.pk]), "test_delivery": posted}
    )
    assert response.status_code == 302
    assert Alert.objects.get().name == "Checkout errors"
