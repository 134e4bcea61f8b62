"""The alert form's limits, each said with its reason: a description people can read, and a
number of events that can arrive in the window."""

from __future__ import annotations

import pytest

from alerts_saas.alerts.models import Alert

pytestmark = pytest.mark.django_db


def _new(client, org, data):
    return client.post(f"/o/{org.slug}/alerts/new/", data)


def test_a_threshold_no_window_can_reach_is_refused_with_the_reason(
    admin_client, org, connected_service, form_data, settings
) -> None:
    settings.INGEST_EVENTS_PER_MINUTE = 600_000
    data = form_data([connected_service.pk], threshold="99999999999", window_minutes="5")
    response = _new(admin_client, org, data)
    assert response.status_code == 400
    assert (
        "Use 3,000,000 or fewer: at most 3,000,000 events can arrive in 5 minutes (600,000 a "
        "minute is the most Tripwire accepts), so a higher number could never be reached."
    ) in response.content.decode()
    assert not Alert.objects.exists()


def test_the_threshold_limit_follows_the_window(
    admin_client, org, connected_service, form_data, settings
) -> None:
    settings.INGEST_EVENTS_PER_MINUTE = 1_000
    over = form_data([connected_service.pk], threshold="120001", window_minutes="2")
    over["window_unit"] = "hours"
    assert "Use 120,000 or fewer" in _new(admin_client, org, over).content.decode()
    at = {**over, "threshold": "120000"}
    assert _new(admin_client, org, at).status_code == 302
    assert Alert.objects.get().threshold == 120_000


def test_a_test_alert_checks_the_same_limits(
    admin_client, org, connected_service, form_data
) -> None:
    data = form_data([connected_service.pk], threshold="99999999999")
    response = admin_client.post(f"/o/{org.slug}/alerts/test/", data)
    assert response.status_code == 400
    assert "so a higher number could never be reached." in response.content.decode()


def test_a_huge_description_is_refused_with_its_length(
    admin_client, org, connected_service, form_data
) -> None:
    data = form_data([connected_service.pk], description="x" * 240_000)
    response = _new(admin_client, org, data)
    assert response.status_code == 400
    assert (
        "A description is read on the alert&#x27;s page: keep it to 2000 characters or fewer "
        "(it has 240000)."
    ) in response.content.decode()
    assert not Alert.objects.exists()
    ok = form_data([connected_service.pk], description="Checkout is failing. " * 90)
    assert _new(admin_client, org, ok).status_code == 302


def test_the_fewer_than_help_quotes_the_alerts_own_window(
    admin_client, org, connected_service, form_data
) -> None:
    data = form_data([connected_service.pk], kind="absence", threshold="1", window_minutes="15")
    assert _new(admin_client, org, data).status_code == 302
    alert = Alert.objects.get()
    page = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/edit/").content.decode()
    assert (
        'fewer than <span data-says="threshold">1 matching event</span> in '
        '<span data-says="window">15 minutes</span>'
    ) in page


def test_resolving_quiet_values_is_kept_only_for_an_absence_alert_per_value(
    admin_client, org, connected_service, form_data
) -> None:
    """The form offers it beside "Count separately for each"; saved on any other alert, it
    is off, as the page shows it only for "fewer than" counted per value."""
    page = admin_client.get(f"/o/{org.slug}/alerts/new/").content.decode()
    assert 'name="resolve_quiet_values"' in page and "hosts that come and go" in page
    wanted = {"kind": "absence", "group_by": "source", "resolve_quiet_values": "on"}
    data = {**form_data([connected_service.pk], threshold="1"), **wanted}
    assert _new(admin_client, org, data).status_code == 302
    data = {**data, "name": "Errors per host", "kind": "presence"}
    assert _new(admin_client, org, data).status_code == 302
    kept = dict(Alert.objects.values_list("kind", "resolve_quiet_values"))
    assert kept == {"absence": True, "presence": False}
