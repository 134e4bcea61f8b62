"""Where the CPU goes in `make bench-delivery`: microseconds of CPU per notification, by
process role, the median over a system's rounds.

On the bench's 2-core machine Tripwire and the plain loop are both bound by CPU, so the ratio
of their rates follows the inverse ratio of these totals. The table shows what the plain loop
does not do (write, claim and settle a row in PostgreSQL, a Celery task per chunk, a rate-limit
reservation in Redis) and what each of those costs. "Other processes" (anything else running
on the machine) is left out of the totals, and so are the shared servers' roles (every
redis-server on the machine, PostgreSQL's background and ended backends): another run's work
lands there too. They are shown; on a quiet machine Tripwire's Redis is about 13 µs.

The plain loop's processes are started (spawned, imported, connected) inside its phase; that
start is measured once with an empty loop and taken off the load generator's CPU (its
processes are the load generator's children) in each round, since it is not sending.
"""

from __future__ import annotations

import statistics
from typing import Any

# Roles charged to a system, and their short names in the printed table.
ROLES = {
    "worker": "worker",
    "PostgreSQL (this database)": "PostgreSQL",
    "PostgreSQL background and ended backends (shared)": "PostgreSQL background",
    "Redis (shared)": "Redis",
    "load generator (this process)": "load generator",
    "alertmanager": "alertmanager",
    "sink": "sink",
    "kernel interrupts (network)": "interrupts",
}


LOAD_GENERATOR = "load generator (this process)"
# Shown, but left out of the totals: another run's work (a test run's) lands there too.
SHARED_BACKGROUND = "PostgreSQL background and ended backends (shared)"
SHARED = (SHARED_BACKGROUND, "Redis (shared)")


def cpu_seconds(cores: dict[str, float], seconds: float) -> dict[str, float]:
    """CPU seconds per role over a phase of `seconds`, from the cores each used."""
    return {role: round(used * seconds, 4) for role, used in cores.items()}


def _one_round(phase: dict[str, Any], start: float) -> dict[str, float]:
    received = max(1, phase["received"])
    spent = dict(phase["cpu_seconds"])
    spent[LOAD_GENERATOR] = max(0.0, spent.get(LOAD_GENERATOR, 0.0) - start)
    return {role: spent.get(role, 0.0) / received * 1e6 for role in ROLES}


def per_notification(
    rounds: list[dict[str, Any]], system: str, start: float = 0.0
) -> dict[str, float] | None:
    """Median µs of CPU per notification by role over `system`'s rounds (None if it did not
    run), with `start` CPU seconds taken off the load generator's in each round; "total"
    sums the roles but the shared servers'."""
    mine = [_one_round(r, start) for r in rounds if r["system"] == system]
    if not mine:
        return None
    medians = {role: round(statistics.median(m[role] for m in mine), 1) for role in ROLES}
    shown = {role: value for role, value in medians.items() if value >= 0.5}
    own = sum(value for role, value in shown.items() if role not in SHARED)
    return {**shown, "total": round(own, 1)}


def table(r: dict[str, Any]) -> list[str]:
    """The printed lines: each system's µs per notification by role, and the rate ratio that
    these totals predict when both systems are bound by CPU."""
    cpu = r["cpu_us_per_notification"]
    lines = [
        "",
        "  CPU per notification (µs, median of rounds; other processes, Redis and PostgreSQL's "
        "background, all shared, left out of the totals):",
    ]
    for name, key in (
        ("Tripwire", "tripwire"),
        ("Alertmanager", "alertmanager"),
        ("plain loop", "plain"),
        ("durable loop", "durable"),
    ):
        figures = cpu.get(key)
        if figures is None:
            continue
        parts = ", ".join(
            f"{ROLES[role]} {value:.0f}" for role, value in figures.items() if role != "total"
        )
        lines.append(f"    {name:<13} total {figures['total']:5.0f}: {parts}")
    if r.get("setup", {}).get("quick"):
        # /proc counts CPU in 10 ms ticks: a quick round's few ms per process are noise.
        lines.append("    (--quick: rounds too short for these figures; use a full run)")
    tw, plain = cpu.get("tripwire"), cpu.get("plain")
    if tw and plain and tw["total"]:
        lines.append(
            f"    plain / Tripwire CPU per notification: {plain['total'] / tw['total']:.2f} "
            f"(the rate ratio when both are bound by CPU; measured {r['ratio_plain']:.2f})"
        )
    return lines
