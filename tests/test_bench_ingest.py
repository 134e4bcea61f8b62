"""`make bench`'s parts that can be checked fast (not a bench run): the alert and event mix
has a team's variety with few alerts able to match any one event, alert sets switch in
bulk, and the report writes the figures per alert count with the targets."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, ConditionKind, Firing, Level
from devtools.bench import alert_mix, alert_set, ingest_report
from devtools.bench.alert_mix import alert_specs, make_events, matching, meets
from integrations.pagerduty.models import PagerDutyService

EVERYDAY_AT_2000 = 2000 - 10 - 1  # the probes and the canary make up the rest


def test_larger_sets_extend_smaller_ones() -> None:
    large = alert_specs(EVERYDAY_AT_2000)

    assert alert_specs(489) == large[:489]
    assert alert_specs(39) == large[:39]
    assert len({spec["name"] for spec in large}) == len(large)


def test_alerts_have_a_teams_variety() -> None:
    specs = alert_specs(EVERYDAY_AT_2000)
    mix = alert_mix.describe_mix(specs, [])
    n = len(specs)

    assert mix["apps_watched"] == len(alert_mix.APPS) == 120
    assert mix["regex"] > 0.1 * n
    assert mix["message_contains"] > 0.1 * n
    assert mix["attribute"] > 0.15 * n
    assert 0.02 * n < mix["absence"] < 0.1 * n
    assert mix["combined"] > 0.5 * n
    assert sum(bool(s.get("match_source")) for s in specs) > 0.05 * n
    assert sum(bool(s.get("match_level")) for s in specs) > 0.2 * n
    # Most watch one app or host; a few watch the whole organization.
    scoped = [s for s in specs if s.get("match_app") or s.get("match_source")]
    assert len(specs) - len(scoped) == len(alert_mix.global_specs())
    # The small set has the variety too.
    small = alert_mix.describe_mix(alert_specs(39), [])
    assert min(small["regex"], small["message_contains"], small["attribute"], small["absence"])
    assert small["apps_watched"] >= 25


def test_every_alert_is_one_the_product_accepts() -> None:
    for spec in alert_specs(EVERYDAY_AT_2000):
        Alert(**spec).clean()  # a regular expression RE2 can't run raises ValidationError


def test_events_have_a_teams_variety() -> None:
    events = make_events(5000, seed=1)
    apps = Counter(e["app"] for e in events)

    assert len(apps) >= 110
    assert apps.most_common(1)[0][1] < 0.1 * len(events)  # noisy apps, none drowning the rest
    assert len({e["source"] for e in events}) >= 300
    assert {e["level"] for e in events} == set(alert_mix.LEVELS)
    assert len({e["message"] for e in events}) > 0.8 * len(events)
    assert len({k for e in events for k in e["attributes"]}) >= 8
    assert all(e["source"].startswith(e["app"]) for e in events)


def test_only_a_handful_of_alerts_can_match_an_event() -> None:
    specs = alert_specs(EVERYDAY_AT_2000)
    events = make_events(4000, seed=2)
    matched = [len(m) for m in matching(specs, events)]
    index = alert_mix.Index.of(specs)

    assert sum(matched) / len(matched) < 4
    assert sorted(matched)[int(0.99 * len(matched))] <= 12
    assert max(matched) <= 20
    # Whatever an event's app and host, fewer than 2% of the alerts watch them.
    assert max(len(index.candidates(e)) for e in events) < 0.02 * len(specs)


def test_the_alerts_are_live_not_dead_weight() -> None:
    """Most alerts meet some events of the stream: they cost the matcher real work."""
    specs = alert_specs(EVERYDAY_AT_2000)
    hit = {i for m in matching(specs, make_events(10_000, seed=3)) for i in m}

    assert len(hit) > 0.5 * len(specs)


def _event(**fields: Any) -> dict[str, Any]:
    return {"app": "checkout-api", "source": "checkout-api-1", "level": "info", "message": "",
            "attributes": {}, **fields}  # fmt: skip


def test_meets_reads_the_rules_as_the_alert_form_says() -> None:
    errors = {"match_app": "checkout-api", "match_level": Level.ERROR}
    assert meets(errors, _event(level="critical"))
    assert not meets(errors, _event(level="warning"))
    assert not meets(errors, _event(level="error", app="cart-api"))
    contains = {"match_message": "Timeout talking to"}
    assert meets(contains, _event(message="TIMEOUT TALKING TO redis after 3 ms"))
    regex = {"match_message": r"\s5\d\d in \d+ ms$", "match_message_regex": True}
    assert meets(regex, _event(message="GET /api/x 503 in 12 ms"))
    assert not meets(regex, _event(message="GET /api/x 503 in 12 ms, twice"))
    retried = {"match_attribute": "retry", "match_attribute_value": "true"}
    assert meets(retried, _event(attributes={"retry": True}))
    assert not meets(retried, _event(attributes={}))
    assert meets({"match_attribute": "status", "match_attribute_value": "500"},
                 _event(attributes={"status": 500}))  # fmt: skip
    assert meets({"name": "every event"}, _event())


# -- The report ------------------------------------------------------------------------


def _fabricated(alerts: int, eps: float, gunicorn: float, p99_loaded: float) -> dict[str, Any]:
    cores = {"gunicorn": gunicorn, "worker": 0.1, "other processes": 0.05}
    throughput = {"accepted_events": int(eps * 10), "seconds": 10.0, "requests": 100,
                  "failures": {}, "cpu_cores_used": cores}  # fmt: skip
    quiet = {"p50_ms": 20.0, "p99_ms": 40.0, "cpu_cores_used": cores}
    loaded = {"p50_ms": p99_loaded / 2, "p99_ms": p99_loaded, "cpu_cores_used": cores}
    mix = {"matches_per_event_mean": 2.1, "matches_per_event_max": 9}
    return ingest_report.count_figures(alerts, throughput, quiet, loaded, mix=mix)


def test_the_report_writes_figures_per_alert_count_and_the_targets(
    settings: Any, tmp_path: Path
) -> None:
    settings.VAR_DIR = tmp_path
    runs = [
        _fabricated(2000, 30_000, 1.5, 150.0),
        _fabricated(50, 40_000, 1.25, 80.0),
        _fabricated(500, 36_000, 1.4, 120.0),
    ]
    result = ingest_report.summarise(runs, {"cpus": 2, "at": "now"})
    saved = json.loads(ingest_report.save(result).read_text())

    assert saved["alert_counts"] == [50, 500, 2000]
    assert saved["ratio_2000_to_50"] == 0.75
    at_50 = saved["by_alerts"]["50"]
    assert at_50["events_per_s"] == 40_000
    assert at_50["cores_used"]["gunicorn"] == 1.25
    assert at_50["events_per_s_per_gunicorn_core"] == 32_000
    assert at_50["p99_ms_quiet"] == 40.0
    assert saved["by_alerts"]["2000"]["p99_ms_under_load"] == 150.0
    for figures in saved["by_alerts"].values():
        assert {"events_per_s", "cores_used", "p99_ms_quiet", "p99_ms_under_load"} <= set(figures)
    targets = saved["targets"]
    assert targets["ratio_2000_to_50"] == {"value": 0.75, "target": 0.7, "at_least": True,
                                           "met": True}  # fmt: skip
    assert targets["events_per_s_per_gunicorn_core_at_50"]["met"] is True
    assert targets["p99_ms_under_load_at_2000"]["met"] is True
    assert "divided by the cores the gunicorn" in saved["per_core_means"]


def test_the_report_says_which_targets_are_missed() -> None:
    runs = [_fabricated(50, 20_000, 1.0, 90.0), _fabricated(2000, 10_000, 1.0, 450.0)]
    result = ingest_report.summarise(runs, {"cpus": 2})
    text = "\n".join(ingest_report.lines(result))

    assert result["ratio_2000_to_50"] == 0.5
    assert [t["met"] for t in result["targets"].values()] == [False, False, False]
    assert text.count("MISSED") == 3
    assert "events/s per gunicorn core at 50 alerts >= 25,000: 20,000  (MISSED)" in text
    assert "divided by the cores the gunicorn" in text
    assert "20,000" in text and "450 ms" in text


def test_rounds_combine_into_one_phase_and_each_rounds_ratio_is_kept() -> None:
    """The counts take turns: each count's rounds add up to its figures (cores weighted by
    each round's time), and the ratio is also given round by round."""

    def round_of(events: int, seconds: float, web: float, failed: int = 0) -> dict[str, Any]:
        return {
            "accepted_events": events,
            "requests": events // 500,
            "seconds": seconds,
            "failures": {"503": failed} if failed else {},
            "cpu_cores_used": {"gunicorn": web, "Redis (shared)": 0.2},
            "everyday_alerts_fired": 0,
        }

    small = ingest_report.combined([round_of(200_000, 5.0, 1.5), round_of(100_000, 5.0, 1.3)])
    assert small["accepted_events"] == 300_000 and small["seconds"] == 10.0
    assert small["events_per_s_by_round"] == [40_000, 20_000]
    assert small["cpu_cores_used"]["gunicorn"] == 1.4
    large = ingest_report.combined(
        [round_of(150_000, 5.0, 1.4, failed=2), round_of(90_000, 4.0, 1.4, failed=1)]
    )
    assert large["events_per_s_by_round"] == [30_000, 22_500]
    assert large["failures"] == {"503": 3}
    busy = round_of(100_000, 5.0, 1.3)
    busy["cpu_cores_used"]["other processes"] = 0.6
    quiet_rounds = [round_of(100_000, 5.0, 1.3), round_of(100_000, 5.0, 1.3)]
    one_busy = ingest_report.combined([busy, *quiet_rounds])
    assert one_busy["cpu_cores_used"]["other processes"] == 0.2  # the average hides it...
    busy_run = ingest_report.summarise(
        [
            ingest_report.count_figures(50, one_busy, {"p50_ms": 1.0, "p99_ms": 2.0}, None),
            ingest_report.count_figures(2000, large, {"p50_ms": 1.0, "p99_ms": 2.0}, None),
        ],
        {"cpus": 2, "rounds": 3},
    )
    # ...the warning does not: one busy round is a slow stretch the figures carry.
    assert "took up to 0.60 cores" in "\n".join(ingest_report.lines(busy_run))
    quiet = {"p50_ms": 20.0, "p99_ms": 40.0}
    runs = [
        ingest_report.count_figures(50, small, quiet, None),
        ingest_report.count_figures(2000, large, quiet, None),
    ]
    result = ingest_report.summarise(runs, {"cpus": 2, "rounds": 2})

    assert result["by_alerts"]["50"]["events_per_s"] == 30_000
    assert result["ratio_2000_to_50"] == round((240_000 / 9) / 30_000, 3)
    assert result["ratio_2000_to_50_by_round"] == [0.75, 1.125]
    text = "\n".join(ingest_report.lines(result))
    assert "Events/s at 2000 / at 50 alerts, round by round: 0.75, 1.12" in text
    assert "(in 2 rounds, the counts taking turns)" in text


def test_no_load_phase_means_no_verdict_on_it() -> None:
    figures = _fabricated(50, 20_000, 0.0, 1.0)
    figures["p99_ms_under_load"] = None
    result = ingest_report.summarise([figures], {})

    assert figures["events_per_s_per_gunicorn_core"] is None  # no gunicorn CPU: not measured
    assert result["targets"]["p99_ms_under_load_at_50"]["met"] is None
    assert "not measured" in "\n".join(ingest_report.lines(result))


# -- Switching alert sets -------------------------------------------------------------


@pytest.fixture
def bench_org(make_org: Callable[..., Organization]) -> tuple[Organization, list[Any]]:
    org = make_org("Bench")
    services = [
        PagerDutyService.objects.create(
            organization=org, name=f"service {k}", integration_key=f"{k:032d}"
        )
        for k in range(3)
    ]
    return org, services


def test_switching_between_counts_adds_and_deletes_in_bulk(
    bench_org: tuple[Organization, list[PagerDutyService]],
) -> None:
    org, services = bench_org
    user = org.memberships.get().user
    probes = alert_set.create_probes(org, user, services)
    started = time.monotonic()

    big = alert_set.switch(org, user, services, 2000, len(probes))
    assert time.monotonic() - started < 15  # in bulk: a per-alert create takes minutes
    assert (big.alerts, big.added, big.deleted) == (2000, 2000 - 4, 0)
    assert Alert.objects.filter(organization=org).count() == 2000
    # Each pages a service, but the canary: it must not page anyone.
    assert Alert.targets.through.objects.filter(alert__organization=org).count() == 2000 - 1
    assert Alert.objects.filter(organization=org, kind=ConditionKind.ABSENCE).count() > 40

    small = alert_set.switch(org, user, services, 50, len(probes))
    assert (small.alerts, small.added, small.deleted) == (50, 0, 2000 - 50)
    names = set(Alert.objects.filter(organization=org).values_list("name", flat=True))
    assert names >= {p.name for p in probes} | {"canary 50"}
    assert "canary 2000" not in names
    assert names - {p.name for p in probes} - {"canary 50"} == {
        s["name"] for s in alert_specs(50 - 4)
    }

    again = alert_set.switch(org, user, services, 500, len(probes))
    assert (again.added, again.deleted) == (450, 0)
    assert not Firing.objects.filter(organization=org).exists()


def test_everyday_alerts_are_out_of_the_throughput_phases_reach(
    bench_org: tuple[Organization, list[PagerDutyService]],
) -> None:
    org, services = bench_org
    user = org.memberships.get().user
    alert_set.switch(org, user, services, 500, 0)
    alerts = Alert.objects.filter(organization=org).exclude(name__startswith="canary ")

    presence = alerts.filter(kind=ConditionKind.PRESENCE)
    assert presence.count() > 400
    assert not presence.filter(threshold__lt=alert_set.UNREACHABLE).exists()
    assert not alerts.filter(kind=ConditionKind.ABSENCE, threshold__gt=1).exists()
    canary = Alert.objects.get(organization=org, name="canary 500")
    assert (canary.threshold, canary.match_attribute_value) == (1, "500")


# -- CPU per event, in process (`python -m devtools.bench ingest-cpu`) -----------------


@pytest.mark.django_db(transaction=True)
def test_ingest_cpu_posts_through_the_whole_path_and_prints_cpu_per_event() -> None:
    from io import StringIO

    from django.core.management import call_command

    from alerts_saas.alerts.counting import CounterSet, counts
    from devtools.bench.ingest_cpu import Command

    out = StringIO()
    args = ["--alerts", "30,11", "--batch", "20", "--batches", "2", "--passes", "2"]
    call_command(Command(), *args, stdout=out)
    lines = out.getvalue().splitlines()

    for count in (11, 30):
        [line] = [line for line in lines if line.lstrip().startswith(f"{count} alerts:")]
        cpu = float(line.split(":", 1)[1].split("µs")[0])
        assert 0 < cpu < 100_000
    org = Organization.objects.get(slug="bench-ingest-cpu")
    assert Alert.objects.filter(organization=org).count() == 30  # the last count stays
    every = Alert.objects.get(organization=org, name="every event")
    # Each count: a warm-up pass and two measured ones, of two batches of 20 events.
    assert counts().totals([CounterSet.of(every)], time.time())[CounterSet.of(every)] == 2 * 6 * 20
