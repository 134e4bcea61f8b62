"""The printed report of `make bench-delivery`, with its targets, and the saved JSON."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from django.core.management.base import OutputWrapper
from django.core.management.color import Style

from devtools.bench.common import BUSY_MACHINE, REPO, cores_line, save_result

TARGET_RATIO = 0.8  # of Alertmanager's and of the plain loop's throughput
TARGET_P99_MS = 30.0  # at 20/s with the history in the table
TARGET_P50_MS = 12.0
SINK_HEADROOM = 3.0  # the sink alone takes at least this many times the fastest rate


def _mark(ok: bool, bad: str) -> str:
    return "ok" if ok else bad


def _rate(name: str, s: dict[str, Any] | None, rounds: list[dict[str, Any]]) -> str:
    if s is None:
        return f"  {name:<13}      null  (not run)"
    mine = ", ".join(f"{r['per_s']:.0f}" for r in rounds)
    return (
        f"  {name:<13}{s['median']:9.1f}/s  median of {len(rounds)} rounds "
        f"[{mine}], spread {s['spread_pct']:.0f}%"
    )


def report(out: OutputWrapper, style: Style, r: dict[str, Any]) -> None:
    s, rounds = r["setup"], r["rounds"]
    by = {
        name: [x for x in rounds if x["system"] == name]
        for name in ("Tripwire", "Alertmanager", "plain loop", "durable loop")
    }
    lines = [
        "",
        f"Delivery benchmark ({s['at']}, commit {_git_commit() or '?'}; {s['cpus']} CPUs; "
        f"worker concurrency {s['concurrency']} x {s['sends_in_flight']} sends in flight; "
        f"{s['notifications']:,} notifications a round)",
        f"  per-key limit: {s['rate_limit']}",
        f"  Alertmanager: {s['alertmanager'] or 'not run'}",
        f"  plain loop: {s['plain_loop']}",
        "",
        f"  Throughput, enqueue -> all at the sink (each system takes a round in batches of "
        f"{s.get('batch', '?')}: Tripwire as transactions of Delivery rows, Alertmanager as "
        "POSTs to its API):",
        _rate("Tripwire", r["spread"]["tripwire"], by["Tripwire"]),
        _rate("Alertmanager", r["spread"]["alertmanager"], by["Alertmanager"]),
        _rate("plain loop", r["spread"]["plain"], by["plain loop"]),
        _rate("durable loop", r["spread"].get("durable"), by["durable loop"]),
    ]
    if r["ratio_alertmanager"] is None:
        lines.append("    Tripwire / Alertmanager: null (Alertmanager not run)")
    else:
        ok = _mark(r["ratio_alertmanager"] >= TARGET_RATIO, "BELOW TARGET")
        lines.append(
            f"    Tripwire / Alertmanager: {r['ratio_alertmanager']:.2f}  "
            f"(target >= {TARGET_RATIO}: {ok})"
        )
    ok = _mark(r["ratio_plain"] >= TARGET_RATIO, "BELOW TARGET")
    lines.append(
        f"    Tripwire / plain loop  : {r['ratio_plain']:.2f}  (target >= {TARGET_RATIO}: {ok})"
    )
    if r.get("ratio_durable") is not None:
        lines.append(
            f"    Tripwire / durable loop: {r['ratio_durable']:.2f}  (no target: the plain loop's "
            "sends, each kept in a PostgreSQL row inserted, claimed and settled)"
        )
    incomplete = [x for x in rounds if not x["complete"]]
    dups = sum(x["duplicates"] for x in rounds)
    lines.append(f"    duplicates at the sink: {dups}; incomplete rounds: {len(incomplete)}")
    for name, mine in by.items():
        if mine:
            lines.append(f"    {name}, last round: " + cores_line(mine[-1]["cpu_cores_used"]))
    e, h = r["latency_empty"], r["latency_history"]
    lines += ["", f"  Latency, commit -> sink receipt, {e['rate']:g}/s:"]
    for label, x in (("empty table", e), (f"{x_rows(h)} rows", h)):
        p50 = _mark(x["p50_ms"] <= TARGET_P50_MS, "ABOVE TARGET")
        p99 = "no target"
        if x is h:
            judged = x["table_rows"] >= 1_000_000
            p99 = _mark(x["p99_ms"] <= TARGET_P99_MS, "ABOVE TARGET") if judged else "< 1M rows"

        lines.append(
            f"    {label:<16} p50 {x['p50_ms']:6.1f} ms ({p50})  p99 {x['p99_ms']:6.1f} ms "
            f"({p99})  max {x['max_ms']:.1f} ms  [{x['received']}/{x['count']}]"
        )
    lines.append(
        f"    targets: p50 <= {TARGET_P50_MS:g} ms; p99 <= {TARGET_P99_MS:g} ms with the history "
        "(at least 1,000,000 rows)"
    )
    headroom = _mark(r["sink_headroom"] >= SINK_HEADROOM, "TOO SLOW: the figures measure the sink")
    lines += [
        "",
        f"  Sink alone: {r['sink_per_s']:,.0f}/s from {r['sink']['clients']} keep-alive clients, "
        f"{r['sink_headroom']:.1f}x the fastest rate above "
        f"(needs >= {SINK_HEADROOM:g}x: {headroom})",
    ]
    phases = [*rounds, e, h]
    others = max(
        [s["other_processes_before_cores"]]
        + [p["cpu_cores_used"]["other processes"] for p in phases]
    )
    lines.append(f"  Other processes on the machine took up to {others:.2f} cores during the run.")
    if others > BUSY_MACHINE:
        lines.append(
            style.WARNING(
                "  That is more than a quiet machine: the figures are lower than the product's."
            )
        )
    lines += ["", f"Saved to {save_result('delivery', r)} (process logs in {s['logs']})"]
    out.write("\n".join(lines))


def x_rows(h: dict[str, Any]) -> str:
    return f"{h['table_rows']:,}"


def _git_commit() -> str:
    git = shutil.which("git")
    if git is None:
        return ""
    return subprocess.run(  # noqa: S603 - fixed argv
        [git, "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    ).stdout.strip()
