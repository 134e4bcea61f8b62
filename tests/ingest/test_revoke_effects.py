"""Revoking an ingest key names, before the click, the absence alerts it would set off: those
whose latest events can only have come with it ("fires within"), and those whose events may
have ("if its events come with this key"). Tripwire doesn't record which key sent an event;
the page never claims more than the keys' last use and the alerts' windows tell."""

from __future__ import annotations

import html
import re

import orjson
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alerts_saas.alerts.models import Alert, Firing, GroupBy
from alerts_saas.ingest.models import IngestKey
from tests.ingest_key_uses import absence, counted, used

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    page = response.content.decode()
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page)))


def _revoke_page(client, key: IngestKey):
    return client.get(f"/o/{key.organization.slug}/settings/ingest-keys/{key.pk}/revoke/")


@pytest.fixture
def keys(org):
    web, web_secret = IngestKey.issue(org, "web servers")
    batch, _ = IngestKey.issue(org, "batch jobs")
    return web, web_secret, batch


def test_alerts_only_this_key_fed_are_named_as_firing_within_their_window(
    org, admin_client, keys, post_events, make_org
) -> None:
    web, web_secret, batch = keys
    absence(org, "Backup heartbeat", 10)
    absence(org, "Hosts reporting", 5, group_by=GroupBy.SOURCE)
    already = absence(org, "Cron heartbeat", 5)
    Firing.objects.create(organization=org, alert=already, count_at_open=0)
    absence(org, "Switched off", 5, enabled=False)
    Alert.objects.create(organization=org, name="Checkout errors", threshold=5)
    elsewhere = make_org("Globex")
    used(IngestKey.issue(elsewhere, "theirs")[0], 0)  # another organization's key
    absence(elsewhere, "Their heartbeat", 60)
    assert post_events([{"app": "backup", "message": "done"}], secret=web_secret).status_code == 202

    page = _text(_revoke_page(admin_client, web))
    assert "Absence alerts this can set off" in page
    assert (
        "No other key had events accepted within these alerts' windows, so the events they count "
        "came with this key. Once the key is revoked, those events stop, and each fires "
        "within its window unless they come in with another key by then: "
        "Backup heartbeat (fewer than 1 matching event in 10 minutes): fires within 10 "
        "minutes. Hosts reporting (fewer than 1 matching event in 5 minutes): fires within "
        "5 minutes." in page
    )
    assert (
        "Absence alerts the revoke does not set off Cron heartbeat (fewer than 1 matching event "
        "in 5 minutes): already firing." in page
    )
    for not_set_off in ("Switched off", "Checkout errors", "Their heartbeat"):
        assert not_set_off not in page
    assert "Tripwire doesn't record which key sent an event" not in page
    assert (
        "To keep them quiet, put a new key in the senders' configuration before revoking this "
        "one, or disable those alerts first." in page
    )

    # The other key has never sent anything: revoking it sets nothing off.
    other = _text(_revoke_page(admin_client, batch))
    assert (
        "This key has never been used, so revoking it sets off none of the organization's "
        "3 absence alerts." in other
    )
    assert "Absence alerts this can set off" not in other


def test_with_another_key_used_in_a_window_the_page_says_may(org, admin_client, keys) -> None:
    web, _, batch = keys
    counted(absence(org, "Backup heartbeat", 60))
    counted(absence(org, "Queue heartbeat", 5))
    used(web, 0)
    used(batch, 30)  # within the hour's window, not within the 5 minutes'

    page = _text(_revoke_page(admin_client, web))
    assert (
        "Queue heartbeat (fewer than 1 matching event in 5 minutes): fires within 5 minutes."
        in page
    )
    assert (
        "No other key had events accepted within this alert's window, so the events it counts came "
        "with this key. Once the key is revoked, those events stop, and it fires within its "
        "window unless they come in with another key by then: Queue heartbeat" in page
    )
    assert (
        "This alert counts events that came with this key or with another one that had "
        "events accepted within its window. Tripwire doesn't record which key sent an event: "
        "if its events come with this key, it fires within its window once the key is "
        "revoked: Backup heartbeat (fewer than 1 matching event in 1 hour): within 1 hour, "
        "if its events come with this key." in page
    )
    assert "To keep them quiet" in page and "or disable those alerts first." in page
    assert "Backup heartbeat (fewer than 1 matching event in 1 hour): fires within" not in page


def test_a_key_not_used_within_any_window_sets_nothing_off(org, admin_client, keys) -> None:
    web, _, _ = keys
    absence(org, "Queue heartbeat", 5)
    used(web, 20)
    page = _text(_revoke_page(admin_client, web))
    assert (
        "No events sent with this key were accepted within any absence alert's window, so "
        "revoking it sets off "
        "none of the organization's 1 absence alert." in page
    )
    assert "Queue heartbeat" not in page


def test_the_page_costs_the_same_queries_however_many_absence_alerts(
    org, admin_client, keys
) -> None:
    web, _, batch = keys
    used(web, 0)
    used(batch, 3)
    _revoke_page(admin_client, web)  # the first page of an organization remembers it

    def queries_with(alerts: int) -> int:
        for n in range(Alert.objects.filter(organization=org).count(), alerts):
            counted(absence(org, f"Heartbeat {n}", 5 if n % 2 else 1))
        with CaptureQueriesContext(connection) as captured:
            assert _revoke_page(admin_client, web).status_code == 200
        return len(captured)

    assert queries_with(2) == queries_with(24)
    page = _text(_revoke_page(admin_client, web))
    assert page.count("and 2 more.") == 2  # 12 of each: "fires within" (1 minute) and "may" (5)


def test_a_key_used_only_for_changes_or_refused_events_fed_no_alert(
    org, admin_client, keys, post_events
) -> None:
    """Sending a change, or a batch whose events were all refused, uses a key but feeds no
    alert: the key that sent the events is named as the one whose revoke fires it."""
    web, web_secret, _ = keys
    absence(org, "Backup heartbeat", 10)
    _, deploys_secret = IngestKey.issue(org, "deploys")
    assert post_events([{"app": "backup", "message": "done"}], secret=web_secret).status_code == 202
    deploy = {"payload": {"summary": "Deployed checkout v2.14.0", "source": "ci"}}
    changes = Client().post(
        "/api/v1/changes",
        data=orjson.dumps(deploy),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {deploys_secret}",
    )
    assert changes.status_code == 202, changes.content
    refused = post_events([{"level": 3}], secret=IngestKey.issue(org, "broken")[1])
    assert refused.status_code == 400

    page = _text(_revoke_page(admin_client, web))
    assert (
        "No other key had events accepted within this alert's window, so the events it counts "
        "came with this key." in page
    ), page
    assert "Backup heartbeat (fewer than 1 matching event in 10 minutes): fires within" in page
    assert "if its events come with this key" not in page

    deploys = IngestKey.objects.get(organization=org, name="deploys")
    assert deploys.last_used_at is not None and deploys.events_accepted_at is None
    assert (
        "No events sent with this key have been accepted (it was used only for changes, or for "
        "events that were all refused), so revoking it sets off none of the organization's 1 "
        "absence alert." in _text(_revoke_page(admin_client, deploys))
    )
