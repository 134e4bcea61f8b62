"""Test incidents resolve themselves: the resolve queued with a test trigger, what the test
panel says in each state, taking it over by hand or by removing the service, and the
setting. (With a real worker: tests/delivery/test_autoresolve_worker.py.)"""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone

from integrations.pagerduty import autoresolve
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, PagerDutyService, Reason
from tests.alerts.conftest import alert_form
from tests.test_settings import _manage

pytestmark = pytest.mark.django_db

UNKNOWN_KEY = "0123456789abcdef0123456789abcdef"  # PagerDuty refuses it: 400


def _base(org) -> str:
    return f"/o/{org.slug}/settings/integrations/pagerduty"


@pytest.fixture
def service(org) -> PagerDutyService:
    """A service nothing is sent to in these tests (the states are set by hand)."""
    return PagerDutyService.objects.create(
        organization=org, name="Checkout API 001", region="us", integration_key=UNKNOWN_KEY
    )


def _send_test(client, org, service) -> tuple[str, Delivery, Delivery | None]:
    """Press "Send test event"; the panel htmx gets, the trigger and its resolve."""
    response = client.post(
        f"{_base(org)}/services/{service.pk}/test/", {"confirm": "1"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    trigger = Delivery.objects.get(event_action="trigger")
    resolve = Delivery.objects.filter(event_action="resolve").first()
    return response.content.decode(), trigger, resolve


def _panel(client, org, delivery: Delivery, shown: str | None = None):
    query = {"shown": shown} if shown is not None else {}
    return client.get(
        f"/o/{org.slug}/pagerduty/deliveries/{delivery.pk}/", query, HTTP_HX_REQUEST="true"
    )


def _text(html: str) -> str:
    """The words, tags dropped: a time's <time> within its sentence, others as spaces."""
    html = re.sub(r"</?time[^>]*>", "", html)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _at(moment) -> str:
    """A time as the panel says it, tags stripped (_text): in the person's zone (UTC here),
    with its day when that is not today (a run just after midnight)."""
    return _text(str(autoresolve.clock(moment, timezone.now())))


def _set(delivery: Delivery, **fields: object) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(**fields)
    delivery.refresh_from_db()


# --- Queued together -----------------------------------------------------------------------


def test_a_test_trigger_is_queued_with_its_resolve_due_later(
    admin_client, org, service, monkeypatch
):
    page, trigger, resolve = _send_test(admin_client, org, service)
    assert resolve is not None
    assert (resolve.dedup_key, resolve.service_id, resolve.is_test) == (
        trigger.dedup_key,
        service.pk,
        True,
    )
    assert resolve.body == {"event_action": "resolve", "dedup_key": trigger.dedup_key}
    assert resolve.reason == Reason.TEST_EXPIRED and resolve.created_by is None
    assert resolve.pk > trigger.pk  # the claim sends it only after its trigger is final
    waited = resolve.next_attempt_at - trigger.created_at
    assert timedelta(minutes=10) <= waited < timedelta(minutes=10, seconds=1)
    # The engine's claim takes no row before its time, and the sweeper leaves it alone.
    assert engine.attempt(resolve.pk) is None
    assert resolve.pk not in _swept(monkeypatch)
    assert Delivery.objects.get(pk=resolve.pk).status == Delivery.Status.QUEUED
    # Queued: said with its time, in the panel and in the history.
    assert "Queued for delivery…" in page
    history = admin_client.get(f"{_base(org)}/services/{service.pk}/deliveries/")
    assert f"to be sent at {_at(resolve.next_attempt_at)} (in 10 minutes)" in _text(
        history.content.decode()
    )


def _swept(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ids the sweeper hands over now."""
    handed: list[int] = []
    monkeypatch.setattr(engine, "enqueue", lambda ids, countdown=0: handed.extend(ids))
    engine.sweep()
    monkeypatch.undo()
    return handed


def test_a_test_alert_from_the_alert_form_gets_its_resolve_too(admin_client, org, service):
    response = admin_client.post(f"/o/{org.slug}/alerts/test/", alert_form([service.pk]))
    assert response.status_code == 200
    trigger = Delivery.objects.get(event_action="trigger")
    resolve = Delivery.objects.get(event_action="resolve")
    assert resolve.dedup_key == trigger.dedup_key and resolve.reason == Reason.TEST_EXPIRED
    page = _text(response.content.decode())
    assert (
        f"The test incident resolves itself at {_at(resolve.next_attempt_at)} (in 10 minutes), "
        "or as soon as PagerDuty takes this trigger if that is later."
    ) in page
    assert page.count("Test trigger to") == 1  # the resolve has no panel of its own here


def test_zero_turns_it_off(admin_client, org, service, settings):
    settings.TEST_INCIDENT_AUTO_RESOLVE = timedelta(0)
    page, trigger, resolve = _send_test(admin_client, org, service)
    assert resolve is None
    _set(trigger, status=Delivery.Status.DELIVERED, attempts=1)
    page = _text(_panel(admin_client, org, trigger).content.decode())
    assert "itself" not in page and "automatically" not in page
    assert "Resolve test incident" in page


# --- What the panel says, state by state ---------------------------------------------------


def test_the_panel_while_the_trigger_is_queued_or_retrying(admin_client, org, service):
    page, trigger, resolve = _send_test(admin_client, org, service)
    due = _at(resolve.next_attempt_at)
    queued = (
        f"The test incident resolves itself at {due} (in 10 minutes), or as soon as PagerDuty "
        "takes this trigger if that is later."
    )
    assert queued in _text(page)
    assert "Resolve test incident" not in page
    assert 'hx-trigger="every 1s"' in page
    # Retrying: the same, and the retry's own words.
    _set(
        trigger,
        attempts=1,
        last_error="PagerDuty answered 500: boom",
        next_attempt_at=timezone.now() + timedelta(seconds=20),
    )
    page = _text(_panel(admin_client, org, trigger).content.decode())
    assert "Attempt 1 failed: PagerDuty answered 500: boom." in page and queued in page
    # Still retrying when the resolve's time has come: it goes once the trigger is through.
    _set(resolve, next_attempt_at=timezone.now() - timedelta(minutes=1))
    page = _text(_panel(admin_client, org, trigger).content.decode())
    assert (
        "The test incident resolves itself as soon as PagerDuty takes this trigger "
        f"(it was due at {_at(resolve.next_attempt_at)})."
    ) in page
    assert "Resolve test incident" not in page


def test_the_panel_once_the_trigger_is_delivered(admin_client, org, service):
    _page, trigger, resolve = _send_test(admin_client, org, service)
    _set(trigger, status=Delivery.Status.DELIVERED, attempts=1, delivered_at=timezone.now())
    response = _panel(admin_client, org, trigger, shown="queued/scheduled")
    page = response.content.decode()
    assert (
        f"The test incident resolves itself at {_at(resolve.next_attempt_at)} (in 10 minutes)."
        in _text(page)
    )
    assert "Resolve test incident" in page  # to resolve it now
    # It keeps asking, slowly, until the resolve is through; the page's services table is
    # refreshed once, when what the panel shows changes.
    assert 'hx-trigger="every 5s"' in page and "delivered/scheduled" in page
    assert response["HX-Trigger"] == "deliveryFinished"
    assert "HX-Trigger" not in _panel(admin_client, org, trigger, shown="delivered/scheduled")
    # The services' "Last delivery" is the trigger, not the resolve still to come.
    integrations = admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert ">Delivered</span>" in integrations and ">Queued</span>" not in integrations


def test_the_panel_while_the_resolve_is_sent_and_retried(admin_client, org, service):
    _page, trigger, resolve = _send_test(admin_client, org, service)
    _set(trigger, status=Delivery.Status.DELIVERED, attempts=1)
    _set(resolve, status=Delivery.Status.SENDING, attempts=1, next_attempt_at=timezone.now())
    page = _text(_panel(admin_client, org, trigger).content.decode())
    assert "Resolving the test incident automatically…" in page
    assert "Resolve test incident" not in page  # one is on its way
    _set(
        resolve,
        status=Delivery.Status.QUEUED,
        last_error="PagerDuty answered 502: Bad Gateway",
        next_attempt_at=timezone.now() + timedelta(seconds=5),
    )
    page = _text(_panel(admin_client, org, trigger).content.decode())
    assert (
        "Resolving the test incident automatically: attempt 1 failed "
        "(PagerDuty answered 502: Bad Gateway); trying again."
    ) in page


def test_the_panel_once_resolved_automatically(admin_client, org, service):
    _page, trigger, resolve = _send_test(admin_client, org, service)
    _set(trigger, status=Delivery.Status.DELIVERED, attempts=1)
    delivered_at = timezone.now()
    _set(resolve, status=Delivery.Status.DELIVERED, attempts=1, delivered_at=delivered_at)
    response = _panel(admin_client, org, trigger, shown="delivered/scheduled")
    page = response.content.decode()
    assert f"The test incident was resolved automatically at {_at(delivered_at)}." in _text(page)
    assert "Resolve test incident" not in page and "hx-trigger" not in page  # settled
    assert response["HX-Trigger"] == "deliveryFinished"  # the services' last delivery moved
    # The resolve's own page says what it is.
    own = _text(_panel(admin_client, org, resolve).content.decode())
    assert "Test resolve to Checkout API 001" in own and "PagerDuty accepted it" in own


def test_the_panel_when_the_automatic_resolve_failed(admin_client, org, service):
    _page, trigger, resolve = _send_test(admin_client, org, service)
    _set(trigger, status=Delivery.Status.DELIVERED, attempts=1)
    _set(
        resolve,
        status=Delivery.Status.FAILED,
        attempts=1,
        last_error="Event object is invalid; Invalid routing key.",
    )
    page = _text(_panel(admin_client, org, trigger).content.decode())
    assert (
        "The test incident could not be resolved automatically: Event object is invalid; "
        "Invalid routing key."
    ) in page
    assert "Resolve test incident" in page  # try by hand


def test_a_trigger_refused_for_good_loses_its_resolve_and_the_panel_says_nothing_of_it(
    admin_client, org, make_service, pagerduty
):
    service = make_service(key=UNKNOWN_KEY)
    _page, trigger, resolve = _send_test(admin_client, org, service)
    assert engine.attempt(trigger.pk) == Delivery.Status.FAILED
    # Dropped in the transaction that recorded the failure: never sent, nothing in history.
    assert not Delivery.objects.filter(pk=resolve.pk).exists()
    assert [e["event_action"] for e in pagerduty.events(dedup_key=trigger.dedup_key)] == ["trigger"]
    page = _panel(admin_client, org, trigger).content.decode()
    assert "PagerDuty did not take it" in page
    for words in ("itself", "automatically", "Resolve test incident", "data-auto-resolve"):
        assert words not in page
    history = admin_client.get(f"{_base(org)}/services/{service.pk}/deliveries/")
    assert history.content.decode().count('id="delivery-row-') == 1


def test_a_failed_alert_trigger_leaves_other_resolves_alone(org, service):
    """Only a test incident's untried automatic resolve is dropped."""
    with transaction.atomic():
        [trigger] = autoresolve.queue_tests(
            [engine.build_event(service, "trigger", "t-1", {"summary": "t"}, is_test=True)]
        )
        other = engine.queue([engine.build_event(service, "resolve", "t-1")])[0]
    _set(trigger, status=Delivery.Status.FAILED)
    engine._drop_automatic_resolves({(org.pk, "t-1")})
    assert list(Delivery.objects.order_by("pk").values_list("pk", "reason")) == [
        (trigger.pk, ""),
        (other.pk, ""),
    ]


# --- Resolved first by a person, or by removing the service --------------------------------


def test_resolving_by_hand_first_takes_the_automatic_resolve_over(admin_client, org, service):
    _page, trigger, resolve = _send_test(admin_client, org, service)
    _set(trigger, status=Delivery.Status.DELIVERED, attempts=1)
    before = timezone.now()
    response = admin_client.post(
        f"/o/{org.slug}/pagerduty/deliveries/{trigger.pk}/resolve/", HTTP_HX_REQUEST="true"
    )
    [taken] = Delivery.objects.filter(event_action="resolve")
    assert taken.pk == resolve.pk  # the same row: one resolve, never two
    assert taken.reason == Reason.BY_HAND and taken.created_by == org.memberships.get().user
    assert taken.created_at >= before and taken.next_attempt_at <= timezone.now()
    assert taken.status == Delivery.Status.QUEUED and taken.attempts == 0
    # The trigger's panel comes back with the person's resolve in it, and no automatic words.
    page = _text(response.content.decode())
    assert page.count("Test resolve to Checkout API 001") == 1
    assert "automatically" not in page and "itself" not in page
    assert "Resolve test incident" not in page
    # Pressing again sends nothing more.
    admin_client.post(f"/o/{org.slug}/pagerduty/deliveries/{trigger.pk}/resolve/")
    assert Delivery.objects.filter(event_action="resolve").count() == 1


def test_a_resolve_the_worker_already_took_is_not_taken_over(admin_client, org, service):
    _page, trigger, resolve = _send_test(admin_client, org, service)
    _set(trigger, status=Delivery.Status.DELIVERED, attempts=1)
    _set(resolve, status=Delivery.Status.SENDING, attempts=1)
    admin_client.post(f"/o/{org.slug}/pagerduty/deliveries/{trigger.pk}/resolve/")
    [only] = Delivery.objects.filter(event_action="resolve")
    assert only.reason == Reason.TEST_EXPIRED and only.created_by is None


def test_a_failed_automatic_resolve_can_be_retried_by_hand(admin_client, org, service):
    _page, trigger, resolve = _send_test(admin_client, org, service)
    _set(trigger, status=Delivery.Status.DELIVERED, attempts=1)
    _set(resolve, status=Delivery.Status.FAILED, attempts=1, last_error="Nope")
    admin_client.post(f"/o/{org.slug}/pagerduty/deliveries/{trigger.pk}/resolve/")
    assert list(
        Delivery.objects.filter(event_action="resolve").values_list("reason", "status")
    ) == [
        (Reason.BY_HAND, Delivery.Status.QUEUED),
        (Reason.TEST_EXPIRED, Delivery.Status.FAILED),
    ]


def test_removing_the_service_sends_the_waiting_resolve_now(
    admin_client, org, connected_service, pagerduty
):
    admin_client.post(f"{_base(org)}/services/{connected_service.pk}/test/", {"confirm": "1"})
    trigger = Delivery.objects.get(event_action="trigger")
    engine.attempt(trigger.pk)
    confirm = admin_client.get(f"{_base(org)}/services/{connected_service.pk}/delete/")
    assert (
        "Tripwire will send a resolve for the incident it opened on this service that is still "
        "open in PagerDuty."
    ) in confirm.content.decode()
    admin_client.post(f"{_base(org)}/services/{connected_service.pk}/delete/", {"seen": ""})
    [resolve] = Delivery.objects.filter(event_action="resolve")
    assert resolve.status == Delivery.Status.DELIVERED
    assert resolve.reason == Reason.SERVICE_DELETED and resolve.created_by is not None
    assert pagerduty.alerts(dedup_key=trigger.dedup_key)[0]["status"] == "resolved"


# --- Words and the setting ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (3, "in less than a minute"),
        (60, "in 1 minute"),
        (599.7, "in 10 minutes"),
        (119 * 60, "in 119 minutes"),
        (5 * 3600, "in about 5 hours"),
    ],
)
def test_times_in_words(seconds, words):
    assert autoresolve.in_words(timedelta(seconds=seconds)) == words


def test_a_time_on_another_day_says_which():
    now = timezone.now().replace(hour=23, minute=55)
    later = now + timedelta(minutes=10)
    assert _text(autoresolve.clock(later, now)) == f"00:05 on {later.day} {later:%b}"
    assert _text(autoresolve.clock(now, now)) == "23:55"
    with timezone.override("America/New_York"):  # the person's zone, UTC on hover
        shown = autoresolve.clock(now, now)
    assert shown.endswith(f">{timezone.localtime(now, ZoneInfo('America/New_York')):%H:%M}</time>")
    assert f'title="{now:%-d %b %Y, %H:%M:%S} UTC"' in shown


@pytest.mark.parametrize(
    ("value", "printed"),
    [("0.05", "0:00:03"), ("", "0:10:00"), ("-1", "must be from 0 (off) to 1440 (a day)")],
)
def test_the_setting_is_minutes_from_the_environment(value, printed, tmp_path):
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.TEST_INCIDENT_AUTO_RESOLVE)",
        TEST_INCIDENT_AUTO_RESOLVE_MINUTES=value,
        VAR_DIR=str(tmp_path),
    )
    assert printed in result.stdout + result.stderr
