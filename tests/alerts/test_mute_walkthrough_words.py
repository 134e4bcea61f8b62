"""What a new user met muting an alert (walk-through w1): the weekly form ticked Sunday in
advance, so ticking Monday saved "Mon, Sun"; mute times were shown without their zone beside
a schedule in another zone; the log said a weekly mute as raw fields; and some sentences
were broken ("Muted Muted until", "one day.; It would", a Stop watching question whose
second half started in lower case)."""

from __future__ import annotations

import re
from datetime import time as clock
from datetime import timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, MuteWindow
from alerts_saas.audit.models import Entry
from alerts_saas.audit.words import describe
from tests.tenant_objects import _pd_service

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = "0"


@pytest.fixture
def alert(org: Organization) -> Alert:
    made = Alert.objects.create(organization=org, name="API errors per host", threshold=1)
    made.targets.add(_pd_service(org, org.memberships.get().user))
    return made


def _text(html: str) -> str:
    spaced = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    return re.sub(r" ([,.;:)])", r"\1", spaced)


def _weekly(client, org, alert, **posted: object):
    data = {"kind": "weekly", "weekly-start": "13:00", "weekly-end": "02:00"}
    data |= {"weekly-time_zone": "Europe/Berlin", **posted}
    return client.post(f"/o/{org.slug}/alerts/{alert.pk}/mute/", data, follow=True)


def test_no_day_is_ticked_in_advance_and_the_days_ticked_are_the_days_saved(
    org, alert, admin_client
) -> None:
    page = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    boxes = re.findall(r'<input[^>]*name="weekly-weekdays"[^>]*>', page)
    assert len(boxes) == 7
    assert not [box for box in boxes if "checked" in box]  # Sunday was ticked already

    # What a browser sends when the person ticks Monday alone.
    _weekly(admin_client, org, alert, **{"weekly-weekdays": [MONDAY]})
    window = MuteWindow.objects.get(alert=alert)
    assert window.weekdays == MONDAY
    assert "Mon 13:00 to 02:00 (+1 day) (Europe/Berlin)" in _text(
        admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    )


def test_a_weekly_mute_with_no_day_and_no_length_says_both_reasons_as_sentences(
    org, alert, admin_client
) -> None:
    answer = _text(_weekly(admin_client, org, alert, **{"weekly-end": "13:00"}).content.decode())
    assert (
        "Not muted: choose at least one day. It would end as it starts: choose another time."
        in answer
    )
    assert ".;" not in answer and not MuteWindow.objects.exists()


def _mute_for_two_hours(org, alert) -> MuteWindow:
    now = timezone.now()
    return MuteWindow.objects.create(
        organization=org, alert=alert, starts_at=now, ends_at=now + timedelta(hours=2)
    )


def _shown(moment, zone) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %H:%M} {local.tzname()}"


def test_mute_times_name_their_zone_in_the_viewers_zone_and_say_muted_once(
    org, alert, admin_client
) -> None:
    window = _mute_for_two_hours(org, alert)
    page = _text(admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode())
    assert f"Muted until {_shown(window.ends_at, ZoneInfo('UTC'))}: firings show" in page
    assert "Muted Muted" not in page

    owner = org.memberships.get().user
    owner.time_zone = "Europe/Berlin"
    owner.save()
    page = _text(admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode())
    in_berlin = _shown(window.ends_at, BERLIN)
    assert f"Muted until {in_berlin}: firings show" in page  # the banner
    assert f"Mutes Muted until {in_berlin} · by" in page  # the Mutes list

    listing = _text(admin_client.get(f"/o/{org.slug}/alerts/").content.decode())
    local = window.ends_at.astimezone(BERLIN)
    assert f"Muted until {local:%H:%M} {local.tzname()}" in listing
    assert "Muted Muted" not in listing


def test_the_activity_log_says_a_weekly_mute_in_words(org, alert, admin_client) -> None:
    _weekly(
        admin_client,
        org,
        alert,
        **{"weekly-weekdays": ["0", "6"], "weekly-reason": "Monday maintenance"},
    )
    entry = Entry.objects.get(object_type="mute_window", action="created")
    sentence = str(describe(entry))
    assert sentence == (
        "owner@acme.example muted alert “API errors per host”: every week: Mon, Sun 13:00 to "
        "02:00 (+1 day), Europe/Berlin, reason: “Monday maintenance”"
    )
    assert "weekdays" not in sentence and "780 min" not in sentence
    activity = _text(admin_client.get(f"/o/{org.slug}/settings/activity/").content.decode())
    assert "every week: Mon, Sun 13:00 to 02:00 (+1 day), Europe/Berlin" in activity


def test_a_one_off_mute_is_still_logged_by_its_from_and_until(org, alert) -> None:
    window = _mute_for_two_hours(org, alert)
    entry = Entry.objects.get(object_type="mute_window", object_id=str(window.pk))
    assert [c["field"] for c in entry.changes] == ["from", "until"]


def _stop_watching(firing: bool) -> str:
    context = {
        "tenant": SimpleNamespace(organization=SimpleNamespace(slug="acme")),
        "alert": SimpleNamespace(pk=1),
        "value": "web-1",
        "shown": "web-1",
        "firing": firing,
    }
    html = render_to_string("alerts/_stop_watching.html", context)
    found = re.search(r'data-confirm="([^"]*)"', html)
    assert found is not None
    return re.sub(r"\s+", " ", found.group(1))


def test_stop_watching_asks_in_whole_sentences_whether_or_not_the_host_fires() -> None:
    quiet = _stop_watching(firing=False)
    assert quiet.startswith("Stop watching web-1? It is not firing now. ")
    assert "it is not paged for again" not in quiet
    sentences = re.split(r"(?<=[.?]) ", quiet)
    assert all(s[0].isupper() for s in sentences)
    firing = _stop_watching(firing=True)
    assert firing == (
        "Stop watching web-1? Its incident is resolved in PagerDuty, and it is not paged for "
        "again until it sends a matching event."
    )


def test_a_weekly_mute_start_time_is_kept_as_typed(org, alert, admin_client) -> None:
    _weekly(admin_client, org, alert, **{"weekly-weekdays": ["6"]})
    window = MuteWindow.objects.get(alert=alert)
    assert (window.start_time, window.duration_minutes) == (clock(13), 780)


def test_ending_one_of_two_mutes_says_the_other_ones_end_in_the_viewers_zone(
    org, alert, admin_client
) -> None:
    owner = org.memberships.get().user
    owner.time_zone = "Europe/Berlin"
    owner.save()
    first = _mute_for_two_hours(org, alert)
    now = timezone.now()
    later = MuteWindow.objects.create(
        organization=org, alert=alert, starts_at=now, ends_at=now + timedelta(hours=3)
    )
    answer = admin_client.post(f"/o/{org.slug}/alerts/mutes/{first.pk}/end/", follow=True)
    assert later.ends_at is not None
    local = later.ends_at.astimezone(BERLIN)
    assert f"another window still mutes it until {local:%H:%M} {local.tzname()}." in _text(
        answer.content.decode()
    )
