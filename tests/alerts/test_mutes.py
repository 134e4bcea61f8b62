"""Mute windows: weekly schedules across midnight and DST, chained windows, and what a
muted firing pages (nothing, until the window is over) without HTTP or a worker."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts_saas.alerts import evaluation, firings, mute_release, mutes
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Alert, Firing, MuteWindow
from alerts_saas.audit.models import Entry
from integrations.pagerduty.models import Delivery, EventAction

BERLIN = ZoneInfo("Europe/Berlin")
SUNDAY = "6"


def weekly(days: str, start: clock, minutes: int, zone: str = "Europe/Berlin") -> MuteWindow:
    return MuteWindow(weekdays=days, start_time=start, duration_minutes=minutes, time_zone=zone)


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)


def test_a_sunday_window_holds_on_sundays_only_in_its_own_zone():
    window = weekly(SUNDAY, clock(2), 120)
    assert mutes.span_at(window, berlin(2026, 11, 29, 1, 59)) is None
    start, end = mutes.span_at(window, berlin(2026, 11, 29, 2, 0))
    assert (start, end) == (berlin(2026, 11, 29, 2), berlin(2026, 11, 29, 4))
    assert mutes.span_at(window, berlin(2026, 11, 29, 3, 59)) is not None
    assert mutes.span_at(window, berlin(2026, 11, 29, 4, 0)) is None  # the end is excluded
    assert mutes.span_at(window, berlin(2026, 11, 30, 3, 0)) is None  # a Monday
    # Berlin's 02:30 is 01:30 UTC in winter, its 04:00 is 03:00: the window's zone counts.
    assert mutes.span_at(window, datetime(2026, 11, 29, 1, 30, tzinfo=UTC)) is not None
    assert mutes.span_at(window, datetime(2026, 11, 29, 3, 0, tzinfo=UTC)) is None


def test_a_window_across_midnight_holds_into_the_next_day():
    saturday_night = weekly("5", clock(23), 120)
    assert mutes.span_at(saturday_night, berlin(2026, 11, 29, 0, 30)) is not None  # Sunday
    assert mutes.span_at(saturday_night, berlin(2026, 11, 29, 1, 0)) is None
    assert mutes.span_at(saturday_night, berlin(2026, 11, 28, 22, 59)) is None
    assert mutes.schedule_words(saturday_night) == "Sat 23:00 to 01:00 (+1 day) (Europe/Berlin)"


def test_wall_clock_hours_across_dst():
    """01:00 to 04:00 on the clock: 2 real hours when the clocks go forward, 4 when back."""
    window = weekly(SUNDAY, clock(1), 180)
    spring = mutes.span_at(window, berlin(2026, 3, 29, 1, 30))
    autumn = mutes.span_at(window, berlin(2026, 10, 25, 1, 30))
    assert spring is not None and autumn is not None
    assert spring[1] - spring[0] == timedelta(hours=2)
    assert autumn[1] - autumn[0] == timedelta(hours=4)
    assert spring[0].astimezone(BERLIN).hour == autumn[0].astimezone(BERLIN).hour == 1
    assert spring[1].astimezone(UTC) == datetime(2026, 3, 29, 2, tzinfo=UTC)  # 04:00 CEST
    assert autumn[1].astimezone(UTC) == datetime(2026, 10, 25, 3, tzinfo=UTC)  # 04:00 CET
    # The second 02:30 of the autumn night (CET) is still inside.
    assert mutes.span_at(window, datetime(2026, 10, 25, 1, 30, tzinfo=UTC)) is not None


def test_a_start_the_clocks_skip_begins_at_the_jump_and_ends_as_typed():
    window = weekly(SUNDAY, clock(2, 30), 60)  # 02:30 to 03:30, Europe/Berlin
    start, end = mutes.next_span(window, datetime(2026, 3, 28, 12, tzinfo=UTC))
    assert start.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST
    assert end.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST


def test_a_window_the_clocks_skip_entirely_mutes_nothing_that_night():
    window = weekly(SUNDAY, clock(2, 30), 30)  # 02:30 to 03:00: skipped on 29 March
    start, _ = mutes.next_span(window, datetime(2026, 3, 28, 12, tzinfo=UTC))
    assert start.astimezone(UTC) == datetime(2026, 4, 5, 0, 30, tzinfo=UTC)  # a week later


def test_next_span_is_the_current_one_or_the_next_to_start():
    window = weekly("06", clock(2), 120, zone="UTC")  # Mondays and Sundays
    monday_noon = datetime(2026, 11, 30, 12, tzinfo=UTC)
    assert mutes.next_span(window, monday_noon)[0] == datetime(2026, 12, 6, 2, tzinfo=UTC)
    during = datetime(2026, 11, 30, 3, tzinfo=UTC)
    assert mutes.next_span(window, during)[0] == datetime(2026, 11, 30, 2, tzinfo=UTC)


def test_windows_that_meet_or_overlap_are_one_mute():
    at = datetime(2026, 11, 29, 2, 30, tzinfo=UTC)
    first = MuteWindow(starts_at=at - timedelta(hours=1), ends_at=at + timedelta(minutes=30))
    second = weekly(SUNDAY, clock(3), 60, zone="UTC")  # 03:00 to 04:00, meets the first
    third = MuteWindow(starts_at=at + timedelta(hours=3), ends_at=at + timedelta(hours=4))
    assert mutes.muted_until([first, second, third], at) == datetime(2026, 11, 29, 4, tzinfo=UTC)
    assert mutes.muted_until([third], at) is None


def test_an_alert_mute_holds_every_target_a_service_mute_only_its_own():
    at = datetime(2026, 11, 29, 2, 30, tzinfo=UTC)
    span = {"starts_at": at - timedelta(minutes=5), "ends_at": at + timedelta(minutes=5)}
    of_alert = mutes.Mutes(at, (MuteWindow(alert_id=1, **span),))
    assert of_alert.muted_targets(1, [10, 11]) == {10, 11}
    assert of_alert.muted_targets(2, [10, 11]) == set()
    of_service = mutes.Mutes(at, (MuteWindow(service_id=11, **span),))
    assert of_service.muted_targets(1, [10, 11]) == {11}
    assert of_service.held_until(1, [10, 11]) == at + timedelta(minutes=5)


# -- With the database ------------------------------------------------------------------


@pytest.fixture
def alert(org, make_service) -> Alert:
    alert = Alert.objects.create(organization=org, name="Checkout errors", threshold=1)
    alert.targets.set([make_service("Checkout API 001"), make_service("Checkout API 002")])
    return alert


def mute(subject: Alert | object, minutes: float = 10, **fields: object) -> MuteWindow:
    now = timezone.now()
    key = "alert" if isinstance(subject, Alert) else "service"
    return MuteWindow.objects.create(
        organization_id=subject.organization_id,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(minutes=minutes),
        **{key: subject},
        **fields,
    )


def fire(alert: Alert) -> Firing:
    [firing] = evaluation.record(alert.organization_id, [Event(timestamp=time.time())])
    return firing


def triggers(firing: Firing) -> list[Delivery]:
    return list(firing.deliveries.filter(event_action=EventAction.TRIGGER))


@pytest.mark.django_db
def test_a_window_mutes_an_alert_or_a_service_never_both_nor_neither(org, alert):
    service = alert.targets.first()
    now = timezone.now()
    once = {"starts_at": now, "ends_at": now + timedelta(hours=1)}
    for subject in ({"alert": alert, "service": service}, {}):
        with pytest.raises(IntegrityError), transaction.atomic():
            MuteWindow.objects.create(organization=org, **subject, **once)
    with pytest.raises(IntegrityError), transaction.atomic():  # ends before it starts
        MuteWindow.objects.create(
            organization=org, alert=alert, starts_at=now, ends_at=now - timedelta(minutes=1)
        )
    with pytest.raises(IntegrityError), transaction.atomic():  # weekly without a time
        MuteWindow.objects.create(organization=org, alert=alert, weekdays="6")


@pytest.mark.django_db
def test_a_muted_alert_opens_a_held_firing_that_pages_nobody_until_the_end(alert):
    window = mute(alert)
    firing = fire(alert)
    assert firing.held and firing.is_open
    assert triggers(firing) == []
    assert mute_release.release_due()["released"] == 0  # still muted

    window.ends_at = timezone.now()
    window.save()
    assert mute_release.release_due() == {"held": 1, "released": 1, "failed": 0}
    firing.refresh_from_db()
    assert not firing.held
    assert {d.service_id for d in triggers(firing)} == set(
        alert.targets.values_list("pk", flat=True)
    )
    assert mute_release.release_due()["held"] == 0


@pytest.mark.django_db
def test_a_service_mute_holds_only_that_services_trigger(alert):
    quiet, loud = alert.targets.order_by("name")
    window = mute(quiet)
    firing = fire(alert)
    assert firing.held
    assert [d.service_id for d in triggers(firing)] == [loud.pk]
    window.delete()
    mute_release.release_due()
    assert sorted(d.service_id for d in triggers(firing)) == sorted([quiet.pk, loud.pk])
    assert len(triggers(firing)) == 2  # the loud one was not paged twice


@pytest.mark.django_db
def test_a_firing_that_clears_while_muted_sends_nothing_then_or_after(alert):
    window = mute(alert)
    firing = fire(alert)
    firings.clear_firing(firing, Firing.ClearReason.CLEARED, timezone.now(), 0)
    window.delete()
    assert mute_release.release_due()["held"] == 0
    assert not firing.deliveries.exists()


@pytest.mark.django_db
def test_a_mute_that_starts_after_paging_neither_resolves_nor_pages_again(alert):
    firing = fire(alert)
    assert not firing.held and len(triggers(firing)) == 2
    mute(alert)
    firings.sync_targets(firing, alert, 1)  # as after an edit of the alert
    assert not firing.deliveries.filter(event_action=EventAction.RESOLVE).exists()
    assert len(triggers(firing)) == 2


@pytest.mark.django_db
def test_another_organizations_windows_mute_nothing_here(alert, make_org):
    theirs = make_org("Globex")
    other = Alert.objects.create(organization=theirs, name="Theirs")
    now = timezone.now()
    MuteWindow.objects.create(
        organization=theirs, alert=other, starts_at=now, ends_at=now + timedelta(hours=1)
    )
    targets = list(alert.targets.values_list("pk", flat=True))
    assert mutes.muted_targets(alert, targets, now + timedelta(seconds=1)) == set()
    assert not fire(alert).held


# -- The pages --------------------------------------------------------------------------


@pytest.mark.django_db
def test_muting_from_the_alert_page_shows_everywhere_and_ending_it_pages_the_held_firing(
    org, alert, admin_client
):
    page = f"/o/{org.slug}/alerts/{alert.pk}/"
    response = admin_client.post(
        f"{page}mute/", {"kind": "once", "mute-length": "30", "mute-reason": "deploy"}
    )
    assert response.status_code == 302 and response["Location"] == page
    window = MuteWindow.objects.get(alert=alert)
    assert window.reason == "deploy" and window.created_by.email == "owner@acme.example"
    assert timedelta(minutes=29) < window.ends_at - timezone.now() <= timedelta(minutes=30)

    firing = fire(alert)
    detail = admin_client.get(page).content.decode()
    assert 'id="held-note"' in detail and "it will page then if still firing" in detail
    # The time it pages names its zone, as every mute time does (the viewer's; UTC here).
    until = window.ends_at.astimezone(UTC)
    [note] = re.findall(r'id="held-note">(.*?)</p>', detail)
    note = re.sub(r"<[^>]+>", "", note)
    assert f"Muted until {until:%a} {until.day} {until:%b %H:%M} UTC: it will page" in note
    assert "Held by a mute: nothing sent yet." in detail
    assert 'data-active="1"' in detail and "End now" in detail
    listing = admin_client.get(f"/o/{org.slug}/alerts/").content.decode()
    assert "mute-mark" in listing and "— deploy" in listing
    home = admin_client.get(f"/o/{org.slug}/").content.decode()
    assert 'id="dash-muted"' in home and "Checkout errors" in home

    response = admin_client.post(f"/o/{org.slug}/alerts/mutes/{window.pk}/end/", {"from": "detail"})
    assert response.status_code == 302
    window.refresh_from_db()
    assert window.ends_at <= timezone.now()
    assert len(triggers(firing)) == 2  # paged at once, not on the next beat
    assert "mute-mark" not in admin_client.get(f"/o/{org.slug}/alerts/").content.decode()
    actions = list(Entry.objects.filter(object_type="mute_window").values_list("action", flat=True))
    assert sorted(actions) == ["changed", "created"]


@pytest.mark.django_db
def test_a_weekly_schedule_is_made_in_the_chosen_zone_and_removing_it_deletes_it(
    org, alert, admin_client
):
    response = admin_client.post(
        f"/o/{org.slug}/alerts/{alert.pk}/mute/",
        {
            "kind": "weekly",
            "weekly-weekdays": ["6"],
            "weekly-start": "23:00",
            "weekly-end": "01:00",
            "weekly-time_zone": "America/New_York",
            "weekly-reason": "backups",
        },
    )
    assert response.status_code == 302
    window = MuteWindow.objects.get(alert=alert)
    assert (window.weekdays, window.start_time, window.duration_minutes) == ("6", clock(23), 120)
    assert window.time_zone == "America/New_York" and window.ends_at is None
    detail = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    assert "Sun 23:00 to 01:00 (+1 day) (America/New_York)" in detail
    admin_client.post(f"/o/{org.slug}/alerts/mutes/{window.pk}/end/")
    assert not MuteWindow.objects.exists()


@pytest.mark.django_db
def test_a_mute_in_the_past_or_with_no_day_is_refused_in_words(org, alert, admin_client):
    url = f"/o/{org.slug}/alerts/{alert.pk}/mute/"
    past = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = admin_client.post(url, {"kind": "once", "mute-length": "until", "mute-until": past})
    followed = admin_client.get(response["Location"]).content.decode()
    assert "Not muted: that time has passed" in followed
    admin_client.post(url, {"kind": "weekly", "weekly-start": "02:00", "weekly-end": "04:00"})
    assert not MuteWindow.objects.exists()


@pytest.mark.django_db
def test_a_service_mute_from_settings_and_another_organizations_windows_are_out_of_reach(
    org, alert, admin_client, make_org
):
    service = alert.targets.order_by("name").first()
    response = admin_client.post(
        f"/o/{org.slug}/alerts/services/{service.pk}/mute/",
        {"kind": "once", "mute-length": "60", "mute-reason": "PagerDuty maintenance"},
    )
    assert response.status_code == 302
    settings_page = admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert f'id="service-mute-{service.pk}"' in settings_page
    assert "PagerDuty maintenance" in settings_page
    firing = fire(alert)
    assert firing.held and len(triggers(firing)) == 1

    theirs = make_org("Globex")
    other = Alert.objects.create(organization=theirs, name="Theirs")
    now = timezone.now()
    window = MuteWindow.objects.create(
        organization=theirs, alert=other, starts_at=now, ends_at=now + timedelta(hours=1)
    )
    assert admin_client.post(f"/o/{org.slug}/alerts/mutes/{window.pk}/end/").status_code == 404
    assert admin_client.post(f"/o/{org.slug}/alerts/{other.pk}/mute/").status_code == 404


@pytest.mark.django_db
def test_a_firing_after_or_before_a_window_pages_normally_and_a_weekly_window_holds(alert):
    now = timezone.now()
    for starts, ends in ((-60, -1), (5, 60)):  # ended, and not started yet
        MuteWindow.objects.create(
            organization_id=alert.organization_id,
            alert=alert,
            starts_at=now + timedelta(minutes=starts),
            ends_at=now + timedelta(minutes=ends),
        )
    firing = fire(alert)
    assert not firing.held and len(triggers(firing)) == 2
    firings.clear_firing(firing, Firing.ClearReason.CLEARED, timezone.now(), 0)

    started = (now - timedelta(minutes=30)).astimezone(UTC)
    MuteWindow.objects.create(
        organization_id=alert.organization_id,
        alert=alert,
        weekdays=str(started.weekday()),
        start_time=started.time().replace(microsecond=0),
        duration_minutes=60,
        time_zone="UTC",
    )
    evaluation.record(alert.organization_id, [Event(timestamp=time.time())])
    held = Firing.objects.get(alert=alert, cleared_at__isnull=True)
    assert held.held and triggers(held) == []
