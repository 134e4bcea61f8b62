"""A host an absence alert pages about stays firing until it sends again (time alone never
resolves the page for a silence), and a person stops watching one taken down for good from
the alert page: its incident resolves, and it is not paged for again until it sends."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from alerts_saas.alerts import evaluation, firings, resolving
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.counting import CounterSet, counts
from alerts_saas.alerts.models import Alert, ConditionKind, Firing, GroupBy
from alerts_saas.audit.models import Entry
from integrations.pagerduty.models import Delivery, EventAction

pytestmark = pytest.mark.django_db


def _per_host(org, service, kind: str = ConditionKind.ABSENCE) -> Alert:
    alert = Alert.objects.create(
        organization=org,
        name="Host went quiet" if kind == ConditionKind.ABSENCE else "Errors per host",
        kind=kind,
        threshold=1,
        window_minutes=1,
        group_by=GroupBy.SOURCE,
    )
    alert.targets.add(service)
    Alert.objects.filter(pk=alert.pk).update(counting_since=datetime.now(UTC) - timedelta(hours=1))
    return Alert.objects.get(pk=alert.pk)


def _quiet(org, alert: Alert, *hosts: str) -> float:
    """Each host beat once 100 s ago and then went quiet: their firings are open."""
    start = time.time() - 100
    evaluation.record(org.pk, [Event(timestamp=start, source=h) for h in hosts], now=start)
    assert evaluation.evaluate(now=start + 65)["opened"] == len(hosts)
    return start


def test_stop_watching_a_quiet_host_resolves_its_incident_and_forgets_it(
    org, make_service, admin_client
):
    alert = _per_host(org, make_service())
    start = _quiet(org, alert, "web-1", "web-2")
    page = admin_client.get(alert.get_absolute_url()).content.decode()
    assert page.count("Stop watching</button>") == 4  # each host's row, and its firing entry
    assert "stays watched until it sends a matching event again" in page

    url = reverse("alerts:stop_watching", args=[org.slug, alert.pk])
    answer = admin_client.post(url, {"value": "web-1"}, follow=True)
    text = answer.content.decode()
    assert "web-1 is no longer watched by “Host went quiet”" in text
    gone = Firing.objects.get(alert=alert, group="web-1")
    assert gone.clear_reason == Firing.ClearReason.RESOLVED and gone.cleared_by is not None
    resolve = Delivery.objects.get(firing=gone, event_action=EventAction.RESOLVE)
    assert resolve.reason == "by_hand"
    assert Firing.objects.get(alert=alert, group="web-2").cleared_at is None
    counter = CounterSet.of(alert)
    assert [g.value for g in counts().groups([counter])[counter]] == ["web-2"]
    entry = Entry.objects.filter(organization=org).latest("pk")
    assert "no longer watched" in str(entry.changes)

    # Not paged for again while it stays quiet; watched again once it sends.
    assert evaluation.evaluate(now=start + 600)["opened"] == 0
    assert not Firing.objects.filter(alert=alert, group="web-1", cleared_at__isnull=True).exists()
    now = time.time()
    evaluation.record(org.pk, [Event(timestamp=now, source="web-1")], now=now)
    assert [g.value for g in counts().groups([counter])[counter]].count("web-1") == 1


def test_stop_watching_is_post_only_and_scoped_to_the_organization(
    org, make_service, admin_client, make_org, make_user
):
    alert = _per_host(org, make_service())
    _quiet(org, alert, "web-1")
    url = reverse("alerts:stop_watching", args=[org.slug, alert.pk])
    assert admin_client.get(url).status_code == 405
    other = make_org("Other Co", owner=make_user("owner@other.example"))
    stranger_url = reverse("alerts:stop_watching", args=[other.slug, alert.pk])
    admin_client.force_login(other.memberships.get().user)
    assert admin_client.post(stranger_url, {"value": "web-1"}).status_code == 404
    assert Firing.objects.get(alert=alert).cleared_at is None


def test_an_unknown_value_changes_nothing(org, make_service, admin_client):
    alert = _per_host(org, make_service())
    url = reverse("alerts:stop_watching", args=[org.slug, alert.pk])
    text = admin_client.post(url, {"value": "web-9"}, follow=True).content.decode()
    assert "web-9 was not watched by “Host went quiet”: nothing changed." in text


def test_a_per_host_absence_alert_that_watches_nothing_says_so(org, make_service, admin_client):
    """No host ever sent a matching event: the alert can't fire, and the page says so rather
    than "OK"."""
    service = make_service()
    alert = _per_host(org, service)
    page = admin_client.get(alert.get_absolute_url()).content.decode()
    assert "Nothing is watched yet:" in page and "so this alert can't fire" in page
    assert "No source is watched yet" in page and "it fires below" not in page
    presence = _per_host(org, service, kind=ConditionKind.PRESENCE)
    page = admin_client.get(presence.get_absolute_url()).content.decode()
    assert "Nothing is watched yet" not in page and "Stop watching" not in page


def test_a_beat_that_read_a_host_before_it_was_stopped_does_not_page_it_again(
    org, make_service, admin_user
):
    """The beat's decision to open was made on counts read before the person stopped
    watching the host: it is not acted on, and the next beat no longer watches it."""
    alert = _per_host(org, make_service())
    _quiet(org, alert, "web-1")
    decided = timezone.now() - timedelta(seconds=1)  # the beat read its counts then
    with transaction.atomic():
        assert resolving.stop_watching(Alert.objects.get(pk=alert.pk), "web-1", admin_user)
    assert firings.open_firings(alert, [("web-1", 0)], decided) == []
    assert firings.open_firings(alert, [("web-1", 0)], timezone.now()) == []  # forgotten
    # It sends again, and is watched again: a fresh decision pages it.
    evaluation.record(org.pk, [Event(timestamp=time.time(), source="web-1")])
    assert firings.open_firings(alert, [("web-1", 0)], timezone.now())


@pytest.fixture(params=["redis", "database"])
def each_store(request, settings):
    """Each count store in turn: Redis, and the database's (`make run` without Redis)."""
    if request.param == "database":
        settings.REDIS_URL = ""
    counts.cache_clear()
    yield request.param
    counts.cache_clear()


def test_a_beat_that_read_a_host_before_it_was_stopped_does_not_page_it_if_it_never_fired(
    org, make_service, admin_user, each_store
):
    """A host that went quiet but had not fired yet when the person stopped watching it
    (a machine taken down on purpose): the beat that read it just before opens nothing,
    and the other hosts it decided about still open. In either count store."""
    alert = _per_host(org, make_service())
    start = time.time() - 30  # quiet for 30 s of its 60 s window: not firing yet
    hosts = [Event(timestamp=start, source=host) for host in ("web-1", "web-2")]
    evaluation.record(org.pk, hosts, now=start)
    assert not Firing.objects.filter(alert=alert).exists()
    decided = timezone.now()  # the beat read both hosts quiet long enough, then:
    with transaction.atomic():
        assert resolving.stop_watching(Alert.objects.get(pk=alert.pk), "web-1", admin_user)
    opened = firings.open_firings(alert, [("web-1", 0), ("web-2", 0)], decided)
    assert [f.group for f in opened] == ["web-2"]
    assert not Firing.objects.filter(alert=alert, group="web-1").exists()


def test_a_count_store_that_cannot_tell_which_hosts_are_watched_does_not_stop_a_page(
    org, make_service, monkeypatch
):
    """The check against a stop made a moment ago needs the count store; without it the
    firing opens (and pages) rather than an alert's save failing or a page going unsent."""
    alert = _per_host(org, make_service())
    start = time.time() - 30
    evaluation.record(org.pk, [Event(timestamp=start, source="web-1")], now=start)

    def unreachable(self, alert, values):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(type(counts()), "registered", unreachable)
    opened = firings.open_firings(alert, [("web-1", 0)], timezone.now())
    assert [f.group for f in opened] == ["web-1"]
