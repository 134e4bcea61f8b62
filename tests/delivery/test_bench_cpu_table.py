"""bench-delivery's table of CPU per notification (devtools/bench/delivery_cpu.py): the figures
that say where the gap to the plain loop goes must be arithmetic a reader can trust."""

from __future__ import annotations

from typing import Any

from devtools.bench.delivery_cpu import SHARED_BACKGROUND, cpu_seconds, per_notification, table


def _phase(system: str, received: int, spent: dict[str, float]) -> dict[str, Any]:
    return {"system": system, "received": received, "cpu_seconds": spent}


def test_cores_over_a_phase_become_cpu_seconds() -> None:
    assert cpu_seconds({"worker": 0.5, "sink": 0.1}, 2.0) == {"worker": 1.0, "sink": 0.2}


def test_median_of_rounds_per_notification_by_role() -> None:
    rounds = [
        _phase("Tripwire", 1000, {"worker": 0.2, "PostgreSQL (this database)": 0.1}),
        _phase("plain loop", 1000, {"load generator (this process)": 0.5}),
        _phase("Tripwire", 1000, {"worker": 0.3, "PostgreSQL (this database)": 0.1}),
        _phase("Tripwire", 2000, {"worker": 0.3, "PostgreSQL (this database)": 0.3}),
    ]

    figures = per_notification(rounds, "Tripwire")

    # Worker: 200, 300 and 150 µs a notification; PostgreSQL: 100, 100 and 150.
    assert figures == {"worker": 200.0, "PostgreSQL (this database)": 100.0, "total": 300.0}
    assert per_notification(rounds, "Alertmanager") is None


def test_the_plain_loops_process_start_is_taken_off_each_round() -> None:
    rounds = [_phase("plain loop", 2000, {"load generator (this process)": 0.6, "sink": 0.02})]

    # 0.4 s of the load generator's CPU was its processes' start: only the sends are left.
    figures = per_notification(rounds, "plain loop", 0.4)

    assert figures == {"load generator (this process)": 100.0, "sink": 10.0, "total": 110.0}


def test_the_shared_servers_are_shown_but_not_in_the_total() -> None:
    spent = {"worker": 0.2, SHARED_BACKGROUND: 0.05, "Redis (shared)": 0.01}
    rounds = [_phase("Tripwire", 1000, spent)]

    figures = per_notification(rounds, "Tripwire")

    assert figures == {
        "worker": 200.0,
        SHARED_BACKGROUND: 50.0,
        "Redis (shared)": 10.0,
        "total": 200.0,
    }


def test_the_printed_table_gives_the_ratio_the_totals_predict() -> None:
    result = {
        "ratio_plain": 0.31,
        "cpu_us_per_notification": {
            "tripwire": {"worker": 200.0, "PostgreSQL (this database)": 100.0, "total": 300.0},
            "alertmanager": None,
            "plain": {"load generator (this process)": 90.0, "total": 90.0},
        },
    }

    lines = [line.strip() for line in table(result)]

    assert "Tripwire      total   300: worker 200, PostgreSQL 100" in lines
    assert "plain loop    total    90: load generator 90" in lines
    assert not any("Alertmanager" in line for line in lines)
    assert lines[-1].startswith("plain / Tripwire CPU per notification: 0.30")
    assert "measured 0.31" in lines[-1]
