"""scripts/test-suite.sh (`make test`): its two lanes, run here with a stand-in for pytest
that notes what happened to it, so the script's own behaviour is checked in seconds."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO, wait_for
from tests.signals import with_sigint

# A stand-in for pytest: each lane (TEST_LANE; none for the rest) notes that it started,
# exits with the status its environment names, and on SIGINT takes a moment to tear down
# (stop its workers, drop its test database) before noting that it did.
FAKE_PYTEST = """\
import os, sys, time
lane = os.environ.get("TEST_LANE") or "rest"
here = os.path.dirname(os.path.abspath(__file__))
open(os.path.join(here, lane + ".started"), "w").close()
try:
    time.sleep(float(os.environ.get("FAKE_RUN_SECONDS", "0")))
except KeyboardInterrupt:
    time.sleep(1.0 if lane == "processes" else 0.1)
    open(os.path.join(here, lane + ".torn-down"), "w").close()
    sys.exit(2)
print(lane, "lane output")
sys.exit(int(os.environ.get("FAKE_EXIT_" + lane.upper(), "0")))
"""


def _checkout(tmp_path: Path) -> Path:
    """The script in a directory of its own, with the stand-in as its .venv/bin/pytest."""
    (tmp_path / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "test-suite.sh", tmp_path / "scripts")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    fake = tmp_path / ".venv" / "bin" / "pytest"
    fake.write_text(f"#!{sys.executable}\n{FAKE_PYTEST}")
    fake.chmod(0o755)
    return fake.parent


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    _checkout(tmp_path)
    return subprocess.run(
        [str(tmp_path / "scripts" / "test-suite.sh")],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_it_fails_if_either_lane_fails_and_shows_the_failing_lanes_output(tmp_path):
    assert _run(tmp_path / "both").returncode == 0
    failed = _run(tmp_path / "slow", FAKE_EXIT_PROCESSES="1")
    assert failed.returncode != 0
    assert "processes lane output" in failed.stdout  # its log, printed in full
    assert "-m slow 1" in failed.stdout
    assert _run(tmp_path / "rest", FAKE_EXIT_REST="1").returncode != 0


def test_ctrl_c_lets_both_lanes_tear_down(tmp_path):
    """Ctrl-C reaches every process of the terminal's foreground group, both lanes among
    them: the script must not cut short the teardown of the lane that starts processes
    (its Celery workers and `make run` would be left running, on the lane's broker)."""
    bin_dir = _checkout(tmp_path)
    proc = subprocess.Popen(
        with_sigint(str(tmp_path / "scripts" / "test-suite.sh")),  # as from a terminal
        env={**os.environ, "FAKE_RUN_SECONDS": "30"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own group, as a terminal's foreground job
    )
    try:
        wait_for(
            lambda: all((bin_dir / f"{lane}.started").exists() for lane in ("rest", "processes")),
            message="both lanes started",
        )
        time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=20) == 130
        assert (bin_dir / "rest.torn-down").exists()
        assert (bin_dir / "processes.torn-down").exists()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
