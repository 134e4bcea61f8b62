"""Stop watching a value with a NUL character in it: PostgreSQL's text can't hold one, and
the lookup answered 500 (DataError). No value Tripwire keeps has one (ingest keeps a NUL as
U+FFFD), so the API refuses it in words (400: the caller sent something it can fix, and the
message says how), and the page's button, which only ever posts kept values, says it was not
watched; neither changes anything."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from alerts_saas.accounts.models import Role
from alerts_saas.alerts.models import Firing
from integrations.pagerduty.models import Delivery, EventAction
from tests.alerts.test_stop_watching import _per_host, _quiet

pytestmark = pytest.mark.django_db


def test_the_api_refuses_a_nul_in_words_and_changes_nothing(api, org, service) -> None:
    alert = _per_host(org, service)
    _quiet(org, alert, "web-1")

    refused = api.post(f"/alerts/{alert.pk}/stop-watching", {"value": "web-1\u0000"}, status=400)

    said = (
        "can't contain a NUL character (\\u0000): Tripwire keeps an event's NUL as U+FFFD (�), "
        "so send the value with U+FFFD in its place, as the alert page shows it"
    )
    assert refused.json()["errors"] == [{"field": "value", "message": said}]
    assert refused.json()["message"].startswith("The request was not understood")
    assert Firing.objects.get(alert=alert).is_open
    assert not Delivery.objects.filter(event_action=EventAction.RESOLVE).exists()


def test_the_value_as_tripwire_keeps_it_is_stopped(api, org, service) -> None:
    """What the refusal advises: the value with U+FFFD, as ingest kept the event's NUL."""
    alert = _per_host(org, service)
    _quiet(org, alert, "web-1\ufffd")
    api.post(f"/alerts/{alert.pk}/stop-watching", {"value": "web-1\ufffd"}, status=200)
    assert not Firing.objects.get(alert=alert).is_open


def test_the_pages_button_with_a_nul_says_not_watched(org, service) -> None:
    alert = _per_host(org, service)
    _quiet(org, alert, "web-1")
    client = Client(raise_request_exception=False)
    client.force_login(org.memberships.get(role=Role.OWNER).user)
    url = reverse("alerts:stop_watching", args=[org.slug, alert.pk])

    answer = client.post(url, {"value": "web-1\u0000"}, follow=True)

    assert answer.status_code == 200
    text = answer.content.decode()
    assert "web-1\ufffd was not watched by “Host went quiet”: nothing changed." in text
    assert "\u0000" not in text
    assert Firing.objects.get(alert=alert).is_open
    assert not Delivery.objects.filter(event_action=EventAction.RESOLVE).exists()
