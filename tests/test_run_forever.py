"""scripts/run-forever.sh: what `make run` runs the worker and beat under (Procfile.dev)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

from tests.conftest import REPO, wait_for
from tests.signals import with_sigint

SCRIPT = REPO / "scripts" / "run-forever.sh"


def _start(*command: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        with_sigint(str(SCRIPT), *command),  # as honcho starts it
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _runs(path: Path) -> list[float]:
    return [float(line) for line in path.read_text().split()] if path.exists() else []


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_a_command_that_exits_1_is_started_again_within_5_s_and_sigterm_stops_it(
    tmp_path: Path,
) -> None:
    runs = tmp_path / "runs"
    # Each run notes when it started, then fails after a moment.
    proc = _start("sh", "-c", f'date +%s.%N >> "{runs}"; sleep 0.3; exit 1')
    try:
        wait_for(lambda: len(_runs(runs)) >= 3, timeout=15, message="three runs")
        starts = _runs(runs)
        gaps = [b - a for a, b in pairwise(starts)]
        assert all(1.0 <= gap < 5 for gap in gaps), gaps

        proc.send_signal(signal.SIGTERM)
        # 0 if it came between two runs, else the command's status: killed by the SIGTERM.
        assert proc.wait(timeout=5) in (0, 128 + signal.SIGTERM)
        count = len(_runs(runs))
        time.sleep(2)
        assert len(_runs(runs)) == count  # nothing started after the stop
        output = proc.stdout.read().decode() if proc.stdout else ""
        assert "exited with status 1; starting it again in 1 s" in output
    finally:
        _stop(proc)


def test_sigterm_and_sigint_reach_the_running_command(tmp_path: Path) -> None:
    child = (
        "import signal, sys, time\n"
        "name = {signal.SIGTERM: 'TERM', signal.SIGINT: 'INT'}\n"
        "def stop(signum, frame):\n"
        "    print('got', name[signum], flush=True)\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "signal.signal(signal.SIGINT, stop)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    for sig, name in ((signal.SIGTERM, "TERM"), (signal.SIGINT, "INT")):
        proc = _start(sys.executable, "-c", child)
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == b"ready"
            started = time.monotonic()
            proc.send_signal(sig)  # to the script alone, not its process group
            assert proc.wait(timeout=5) == 0
            assert time.monotonic() - started < 5
            assert proc.stdout.read().decode().strip() == f"got {name}"
        finally:
            _stop(proc)


def test_a_command_that_exits_0_is_not_started_again(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    proc = _start("sh", "-c", f'date +%s.%N >> "{runs}"')
    try:
        assert proc.wait(timeout=5) == 0
        time.sleep(1.5)
        assert len(_runs(runs)) == 1
    finally:
        _stop(proc)


def test_a_sigterm_at_any_moment_of_the_start_stops_the_command() -> None:
    """Also in the instant between starting the command and knowing its pid, which a loaded
    machine stretches: the stop must still reach the command, not wait for it to end."""
    for n in range(40):
        proc = _start("sleep", "60")
        try:
            time.sleep(n % 20 * 0.002)
            proc.send_signal(signal.SIGTERM)
            # Before its traps are set, the script itself is stopped (-SIGTERM): no command yet.
            stopped = (0, 128 + signal.SIGTERM, -signal.SIGTERM)
            assert proc.wait(timeout=5) in stopped, f"after {n % 20 * 2} ms"
        finally:
            _stop(proc)
