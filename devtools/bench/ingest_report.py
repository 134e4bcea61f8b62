"""The figures of `make bench` per alert count, its targets, the printed report and the
saved JSON (`var/bench/ingest.json`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from devtools.bench.common import BUSY_MACHINE, cores_line, save_result

TARGET_RATIO = 0.7  # events/s at the largest alert count over events/s at the smallest
TARGET_PER_CORE = 25_000  # events/s per gunicorn core at the smallest count (50)
TARGET_P99_LOADED_MS = 200.0  # crossing POST -> trigger, under load, at the largest count
WEB = "gunicorn"  # the web server's role in CpuMeter's figures
PER_CORE = (
    "events/s divided by the cores the gunicorn processes (its workers and their master) "
    "used during the throughput phase"
)


def per_core(events_per_s: float, cores: dict[str, float]) -> float | None:
    """Events/s per core the web server used; None if it used none (nothing measured)."""
    used = cores.get(WEB, 0.0)
    return round(events_per_s / used, 1) if used > 0 else None


def combined(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One count's throughput rounds as one phase: events and seconds summed, cores
    averaged over the time each round took, and each round's events/s kept."""
    seconds = sum(r["seconds"] for r in rounds)
    cores: dict[str, float] = {}
    for r in rounds:
        for role, used in r["cpu_cores_used"].items():
            cores[role] = cores.get(role, 0.0) + used * r["seconds"] / seconds
    requests = sum(r["requests"] for r in rounds)
    failures: dict[str, int] = {}
    for r in rounds:
        for why, times in r["failures"].items():
            failures[why] = failures.get(why, 0) + times
    return {
        "accepted_events": sum(r["accepted_events"] for r in rounds),
        "requests": requests,
        "seconds": round(seconds, 2),
        "failures": failures,
        "requests_per_second": round(requests / seconds, 1),
        "cpu_cores_used": {role: round(used, 2) for role, used in cores.items()},
        "everyday_alerts_fired": max(r.get("everyday_alerts_fired", 0) for r in rounds),
        # The busiest round's, for the warning: an average would hide a slow stretch.
        "other_processes_peak": max(
            r["cpu_cores_used"].get("other processes", 0.0) for r in rounds
        ),
        "events_per_s_by_round": [round(r["accepted_events"] / r["seconds"], 1) for r in rounds],
    }


def count_figures(
    alerts: int,
    throughput: dict[str, Any],
    quiet: dict[str, Any],
    loaded: dict[str, Any] | None,
    **more: Any,
) -> dict[str, Any]:
    """One alert count's figures: the headline ones first, then each phase's detail."""
    eps = throughput["accepted_events"] / throughput["seconds"]
    cores = throughput["cpu_cores_used"]
    return {
        "alerts": alerts,
        "events_per_s": round(eps, 1),
        "cores_used": cores,
        "gunicorn_cores": cores.get(WEB),
        "events_per_s_per_gunicorn_core": per_core(eps, cores),
        "p50_ms_quiet": quiet["p50_ms"],
        "p99_ms_quiet": quiet["p99_ms"],
        "p50_ms_under_load": loaded["p50_ms"] if loaded else None,
        "p99_ms_under_load": loaded["p99_ms"] if loaded else None,
        "throughput": throughput,
        "latency_quiet": quiet,
        "latency_under_load": loaded,
        **more,
    }


def _verdict(value: float | None, target: float, at_least: bool) -> dict[str, Any]:
    met = None if value is None else (value >= target if at_least else value <= target)
    return {"value": value, "target": target, "at_least" if at_least else "at_most": True,
            "met": met}  # fmt: skip


def summarise(runs: list[dict[str, Any]], setup: dict[str, Any]) -> dict[str, Any]:
    """The whole result: each count's figures, the ratio of the largest count's events/s to
    the smallest's (`ratio_<largest>_to_<smallest>`), and the targets met or not."""
    ordered = sorted(runs, key=lambda r: r["alerts"])
    small, large = ordered[0], ordered[-1]
    ratio = (
        round(large["events_per_s"] / small["events_per_s"], 3) if small["events_per_s"] else None
    )
    lo, hi = small["alerts"], large["alerts"]
    by_round = zip(
        small["throughput"].get("events_per_s_by_round", []),
        large["throughput"].get("events_per_s_by_round", []),
        strict=False,
    )
    return {
        "alert_counts": [r["alerts"] for r in ordered],
        f"ratio_{hi}_to_{lo}": ratio,
        # The same ratio within each round (the counts' phases of a round run back to back).
        f"ratio_{hi}_to_{lo}_by_round": [round(b / a, 3) for a, b in by_round if a],
        "targets": {
            f"ratio_{hi}_to_{lo}": _verdict(ratio, TARGET_RATIO, True),
            f"events_per_s_per_gunicorn_core_at_{lo}": _verdict(
                small["events_per_s_per_gunicorn_core"], TARGET_PER_CORE, True
            ),
            f"p99_ms_under_load_at_{hi}": _verdict(
                large["p99_ms_under_load"], TARGET_P99_LOADED_MS, False
            ),
        },
        "per_core_means": PER_CORE,
        "by_alerts": {str(r["alerts"]): r for r in ordered},
        "setup": setup,
    }


def _ms(value: float | None) -> str:
    return "   -" if value is None else f"{value:6.0f}"


def _table(runs: list[dict[str, Any]]) -> list[str]:
    lines = [
        "  alerts   events/s   gunicorn cores   events/s per core   p99 quiet   p99 under load"
        "   matches/event",
    ]
    for r in runs:
        pc = r["events_per_s_per_gunicorn_core"]
        mix = r.get("mix", {})
        mean, most = mix.get("matches_per_event_mean", "-"), mix.get("matches_per_event_max", "-")
        matches = f"{mean} (max {most})"
        lines.append(
            f"  {r['alerts']:>6}   {r['events_per_s']:>8,.0f}   {r['gunicorn_cores'] or 0:>14.2f}"
            f"   {'-' if pc is None else f'{pc:,.0f}':>17}   {_ms(r['p99_ms_quiet'])} ms"
            f"   {_ms(r['p99_ms_under_load'])} ms      "
            f"   {matches}"
        )
    return lines


def _target_line(v: dict[str, Any], what: str, shape: str) -> str:
    mark = {True: "ok", False: "MISSED", None: "not measured"}[v["met"]]
    sign = ">=" if "at_least" in v else "<="
    shown = "-" if v["value"] is None else format(v["value"], shape)
    return f"  {what} {sign} {v['target']:{shape}}: {shown}  ({mark})"


def lines(result: dict[str, Any], warn: Callable[[str], str] = str) -> list[str]:
    """The printed report."""
    s = result["setup"]
    runs = list(result["by_alerts"].values())
    lo, hi = result["alert_counts"][0], result["alert_counts"][-1]
    out = [
        "",
        f"Ingest benchmark, one run ({s.get('at', '?')}, commit {s.get('git_commit') or '?'})",
        f"  {s.get('database')} + {s.get('broker')}, {s.get('cpus')} CPUs; gunicorn "
        f"{s.get('web_workers')} {s.get('web_worker_class')} workers, Celery concurrency "
        f"{s.get('celery_concurrency')}; {s.get('client_threads')} client threads posting "
        f"batches of {s.get('batch')} for {s.get('seconds')} s per count"
        + (f" (in {s['rounds']} rounds, the counts taking turns)" if s.get("rounds", 1) > 1 else "")
        + "; latency: "
        f"{s.get('samples')} crossings at {s.get('rate')}/s, quiet and under load; "
        f"the whole run took {s.get('run_seconds', '?')} s",
        "",
        *_table(runs),
        "",
        f"  Per core: {PER_CORE}.",
        "  Latency: from just before the threshold-crossing POST to the sandbox's receipt of "
        "the trigger.",
        "",
        "Targets:",
    ]
    t = result["targets"]
    rounds = result.get(f"ratio_{hi}_to_{lo}_by_round") or []
    if len(rounds) > 1:
        out.insert(
            -2,
            f"  Events/s at {hi} / at {lo} alerts, round by round: "
            + ", ".join(f"{r:.2f}" for r in rounds)
            + " (the target is on the whole run's).",
        )
    out += [
        _target_line(t[f"ratio_{hi}_to_{lo}"], f"events/s at {hi} / at {lo} alerts", ".2f"),
        _target_line(
            t[f"events_per_s_per_gunicorn_core_at_{lo}"],
            f"events/s per gunicorn core at {lo} alerts",
            ",.0f",
        ),
        _target_line(t[f"p99_ms_under_load_at_{hi}"], f"p99 ms under load at {hi} alerts", ".0f"),
    ]
    for r in runs:
        out += ["", f"  {r['alerts']} alerts, throughput phase: " + cores_line(r["cores_used"])]
        failures = r["throughput"].get("failures")
        if failures:
            out.append(warn(f"    failures: {failures}"))
    others = _busiest_others(result)
    if others > BUSY_MACHINE:
        out += [
            "",
            warn(
                f"  Other processes on this machine took up to {others:.2f} cores during the "
                "run: the figures are lower than the product's. Run again when it is quiet."
            ),
        ]
    return out


def _busiest_others(result: dict[str, Any]) -> float:
    phases = [result["setup"].get("other_processes_before_cores", 0.0)]
    for r in result["by_alerts"].values():
        for phase in (r["throughput"], r["latency_quiet"], r["latency_under_load"]):
            if phase and "cpu_cores_used" in phase:
                phases.append(phase["cpu_cores_used"].get("other processes", 0.0))
            if phase and "other_processes_peak" in phase:
                phases.append(phase["other_processes_peak"])
    return max(phases)


def save(result: dict[str, Any]) -> Path:
    return save_result("ingest", result)
