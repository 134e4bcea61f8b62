"""The count store for alerts that group (one count per host, app or attribute value) and
whose severity follows the events, on Redis and on the database alike; and the beat's
decisions per value: a quiet value fires, a forgotten one clears."""

from __future__ import annotations

import time
from datetime import timedelta

import orjson
import pytest
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts import counting, evaluation
from alerts_saas.alerts.conditions import Event, group_reader
from alerts_saas.alerts.counting import CounterSet, Tally
from alerts_saas.alerts.models import (
    DEFAULT_SOURCE,
    Alert,
    ConditionKind,
    Firing,
    GroupBy,
    Level,
)
from alerts_saas.alerts.payload import AlertDraft, draft_of, render_payload, severity_of_level

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["redis", "database"])
def store(request, settings):
    counting.counts.cache_clear()
    if request.param == "database":
        settings.REDIS_URL = ""
    yield counting.counts()
    counting.counts.cache_clear()


def grouped(org, **fields) -> Alert:
    return Alert.objects.create(
        organization=org,
        name=fields.pop("name", "Per host"),
        window_minutes=1,
        group_by=fields.pop("group_by", GroupBy.SOURCE),
        **fields,
    )


def test_each_value_counts_on_its_own_beside_the_alerts_total(store, org):
    alert = grouped(org)
    whole = CounterSet.of(alert)
    now = time.time()
    bucket = int(now // whole.size)
    tallies = {
        whole: Tally(buckets={bucket: 5}),
        whole.in_group("web-1"): Tally(buckets={bucket: 3}, group_limit=10, first=now - 30),
        whole.in_group("web-2"): Tally(buckets={bucket: 2}, group_limit=10, first=now),
    }
    totals = store.add(tallies, list(tallies), now)
    assert [totals[c] for c in tallies] == [5, 3, 2]
    seen = store.groups([whole])[whole]
    assert {g.value for g in seen} == {"web-1", "web-2"}
    first = {g.value: g.first_seen for g in seen}
    # A value's first sighting is its earliest event's time, not when it arrived.
    assert first["web-1"] == pytest.approx(now - 30, abs=0.01)
    assert store.totals([whole.in_group("web-3")], now)[whole.in_group("web-3")] == 0


def test_a_new_value_past_the_limit_is_refused_and_known_ones_still_count(store, org):
    alert = grouped(org)
    whole = CounterSet.of(alert)
    now = time.time()
    bucket = int(now // whole.size)

    def add(value: str) -> counting.Totals:
        counter = whole.in_group(value)
        return store.add({counter: Tally(buckets={bucket: 1}, group_limit=2)}, [counter], now)

    assert not add("a").refused and not add("b").refused
    refused = add("c")
    assert refused.refused == {whole.in_group("c")} and refused[whole.in_group("c")] == 0
    assert add("a")[whole.in_group("a")] == 2  # known values go on counting
    assert {g.value for g in store.groups([whole])[whole]} == {"a", "b"}
    store.forget(whole, ["a"])
    assert not add("c").refused  # forgetting makes room
    assert store.totals([whole.in_group("a")], now)[whole.in_group("a")] == 0


def test_a_batch_of_rows_gets_the_sums_it_wants_in_order(store, org):
    """What ingestion calls (`Counts.count`): every row counted, a sum back for each row
    that wants one, in the rows' order, and -1 for a value refused at its alert's limit."""
    alert = grouped(org)
    whole = CounterSet.of(alert)
    now = time.time()
    bucket = int(now // whole.size)
    rows = [
        (whole, Tally(buckets={bucket: 4}), False),
        (whole.in_group("a"), Tally(buckets={bucket: 3}, group_limit=1, first=now), True),
        (whole.in_group("b"), Tally(buckets={bucket: 1}, group_limit=1, first=now), True),
    ]
    since, sums = store.count(rows, now)
    assert sums == [3, -1]
    assert since <= now
    assert store.totals([whole], now)[whole] == 4  # counted though no sum was wanted
    again = [(whole, Tally(buckets={bucket: 1}), True), (whole.in_group("a"), Tally(), True)]
    assert store.count(again, now)[1] == [5, 3]


def test_the_highest_level_of_the_window_is_kept_per_bucket(store, org):
    alert = grouped(org, group_by=GroupBy.NOTHING, severity_from_events=True)
    counter = CounterSet.of(alert)
    now = time.time()
    assert store.highest_level(counter, now) is None
    old, fresh = int((now - 120) // counter.size), int(now // counter.size)
    store.add({counter: Tally(buckets={old: 1}, levels={old: Level.EMERGENCY})}, [], now)
    store.add({counter: Tally(buckets={fresh: 1}, levels={fresh: Level.WARNING})}, [], now)
    store.add({counter: Tally(buckets={fresh: 1}, levels={fresh: Level.INFO})}, [], now)
    # The emergency is two minutes old: out of the one-minute window.
    assert store.highest_level(counter, now) == Level.WARNING


def test_latest_events_are_kept_per_value(store, org):
    alert = grouped(org)
    whole = CounterSet.of(alert)
    now = time.time()
    bucket = int(now // whole.size)
    for n in range(12):
        value = "web-1" if n % 3 else "web-2"
        store.add(
            {
                whole.in_group(value): Tally(
                    buckets={bucket: 1},
                    recent=[orjson.dumps({"n": n})],
                    group_limit=10,
                    first=now,
                )
            },
            [],
            now,
        )
    assert [e["n"] for e in store.recent(whole.in_group("web-2"))] == [9, 6, 3, 0]
    assert [e["n"] for e in store.recent(whole.in_group("web-1"), 3)] == [11, 10, 8]


@pytest.mark.parametrize(
    ("level", "severity"),
    [
        (Level.EMERGENCY, "critical"),
        (Level.CRITICAL, "critical"),
        (Level.ERROR, "error"),
        (Level.WARNING, "warning"),
        (Level.NOTICE, "info"),
        (Level.DEBUG, "info"),
    ],
)
def test_event_levels_map_to_pagerduty_severities(level, severity):
    assert severity_of_level(level) == severity


def test_the_group_field_reads_an_events_value():
    by_attribute = group_reader(Alert(group_by=GroupBy.ATTRIBUTE, group_attribute="region"))
    assert by_attribute is not None
    assert by_attribute(Event(timestamp=0, attributes={"region": "eu-west-1"})) == "eu-west-1"
    assert by_attribute(Event(timestamp=0, attributes={"region": 42})) == "42"
    assert by_attribute(Event(timestamp=0)) == ""  # events without it count together
    assert group_reader(Alert(group_by=GroupBy.APP))(Event(timestamp=0, app="api")) == "api"
    assert group_reader(Alert()) is None


def test_the_summary_names_the_value():
    draft = AlertDraft(
        name="Disk", severity="error", summary_template="{alert} on {group}", source="s",
        organization_name="Acme", group_field="source",
    )  # fmt: skip
    assert render_payload(draft, count=3, group="db-1")["summary"] == "Disk on db-1"
    assert render_payload(draft, count=3, group="")["summary"] == "Disk on no source"
    draft.summary_template = "{alert}: {count}"
    payload = render_payload(draft, count=3, group="db-1")
    assert payload["summary"] == "[source db-1] Disk: 3"
    assert payload["custom_details"]["group"] == {"field": "source", "value": "db-1"}


def test_an_alert_counting_each_host_sends_the_host_as_pagerdutys_source():
    """PagerDuty's source is "the unique location of the affected system, preferably a
    hostname": the host a per-host firing is about, unless the alert sets its own."""
    draft = AlertDraft(
        name="Disk", severity="error", summary_template="{alert}", source=DEFAULT_SOURCE,
        organization_name="Acme", group_field="source", per_source=True,
    )  # fmt: skip
    assert render_payload(draft, count=3, group="db-1")["source"] == "db-1"
    # Events without a source: the alert's own.
    assert render_payload(draft, count=3, group="")["source"] == DEFAULT_SOURCE
    draft.source = "payments-cluster"  # set on the alert: kept
    assert render_payload(draft, count=3, group="db-1")["source"] == "payments-cluster"
    # Counting each app (or attribute) value: the source stays the alert's.
    per_app = AlertDraft(
        name="Disk", severity="error", summary_template="{alert}", source=DEFAULT_SOURCE,
        organization_name="Acme", group_field="app",
    )  # fmt: skip
    assert render_payload(per_app, count=3, group="checkout")["source"] == DEFAULT_SOURCE
    saved = Alert(name="Disk", group_by=GroupBy.SOURCE, organization=Organization(name="Acme"))
    assert draft_of(saved, details={}).per_source


def test_a_quiet_value_fires_and_stays_firing_past_the_forget_windows(store, org, settings):
    settings.ALERT_GROUP_FORGET_WINDOWS = 3
    alert = grouped(org, kind=ConditionKind.ABSENCE, threshold=1)
    Alert.objects.filter(pk=alert.pk).update(counting_since=timezone.now() - timedelta(hours=1))
    alert.refresh_from_db()
    whole = CounterSet.of(alert)
    start = time.time() - 600
    for value in ("web-1", "web-2"):
        counter = whole.in_group(value)
        store.add(
            {counter: Tally(buckets={int(start // whole.size): 1}, group_limit=10, first=start)},
            [],
            start,
        )
    # Both beat at `start`; web-2 beats again 30 s later.
    later = whole.in_group("web-2")
    store.add(
        {later: Tally(buckets={int((start + 30) // whole.size): 1}, group_limit=10)}, [], start + 30
    )

    assert evaluation.evaluate(now=start + 40)["opened"] == 0
    assert evaluation.evaluate(now=start + 65)["opened"] == 1  # web-1: a minute without a beat
    assert list(Firing.objects.filter(cleared_at__isnull=True).values_list("group", flat=True)) == [
        "web-1"
    ]
    assert evaluation.evaluate(now=start + 95)["opened"] == 1  # and web-2, a minute after its
    # Three windows without news, and many more: a quiet host is what the alert pages for,
    # so its firing stays open and its value watched, until it sends again or a person
    # stops watching it.
    for later in (300, 3_000):
        assert evaluation.evaluate(now=start + later)["cleared"] == 0
    assert Firing.objects.filter(cleared_at__isnull=True).count() == 2
    assert {g.value for g in store.groups([whole])[whole]} == {"web-1", "web-2"}


def test_an_alert_that_resolves_quiet_values_forgets_them_and_says_so(store, org, settings):
    """Hosts that come and go (`resolve_quiet_values`): a value quiet for the forget
    windows is forgotten, and its firing clears as "No longer seen"."""
    settings.ALERT_GROUP_FORGET_WINDOWS = 3
    alert = grouped(org, kind=ConditionKind.ABSENCE, threshold=1, resolve_quiet_values=True)
    Alert.objects.filter(pk=alert.pk).update(counting_since=timezone.now() - timedelta(hours=1))
    whole = CounterSet.of(alert)
    start = time.time() - 600
    counter = whole.in_group("web-1")
    tally = Tally(buckets={int(start // whole.size): 1}, group_limit=10, first=start)
    store.add({counter: tally}, [], start)
    assert evaluation.evaluate(now=start + 65)["opened"] == 1
    assert evaluation.evaluate(now=start + 300)["cleared"] == 1
    assert Firing.objects.get().clear_reason == Firing.ClearReason.FORGOTTEN
    assert store.groups([whole])[whole] == []
    assert evaluation.evaluate(now=start + 400)["opened"] == 0  # nothing left to miss


def test_a_presence_alerts_quiet_values_are_forgotten(store, org, settings):
    """A host that stopped erroring has nothing open: forgotten after the forget windows."""
    settings.ALERT_GROUP_FORGET_WINDOWS = 3
    alert = grouped(org, threshold=5)
    whole = CounterSet.of(alert)
    start = time.time() - 600
    counter = whole.in_group("web-1")
    tally = Tally(buckets={int(start // whole.size): 1}, group_limit=10, first=start)
    store.add({counter: tally}, [], start)
    assert evaluation.evaluate(now=start + 100)["cleared"] == 0
    assert [g.value for g in store.groups([whole])[whole]] == ["web-1"]
    evaluation.evaluate(now=start + 190)
    assert store.groups([whole])[whole] == []
    assert not Firing.objects.exists()
