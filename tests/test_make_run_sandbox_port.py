"""`SANDBOX_PORT=8200 make run`: the PagerDuty sandbox listens on 8200, and every process
make run starts reaches PagerDuty there; without it, 8100 as before. What the run recipe
passes to honcho is read with `make -n` in a copy of the Makefile (`_run_env`); then honcho
starts the sandbox alone from Procfile.dev with that environment."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.sandbox.testing import SandboxClient
from tests.conftest import REPO, wait_for
from tests.test_make_run_port import _run_env

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")

BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def _none_of_ones_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SANDBOX_PORT", raising=False)
    monkeypatch.delenv("PAGERDUTY_SANDBOX_URL", raising=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pagerduty_hosts(env: dict[str, str], tmp_path: Path) -> list[str]:
    """Where the site (and its workers) reach PagerDuty with `env`, as settings read it."""
    code = (
        "from django.conf import settings as s\n"
        "print(s.PAGERDUTY_IDENTITY_URL)\n"
        "for region in s.PAGERDUTY_REGIONS.values():\n"
        "    print(region['rest_url']); print(region['events_url'])\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "alerts_saas.settings",
            "VAR_DIR": str(tmp_path / "var"),
            "PAGERDUTY_SANDBOX_URL": env["PAGERDUTY_SANDBOX_URL"],
        },
        capture_output=True,
        text=True,
        check=True,
    )
    return shown.stdout.split()


def test_another_sandbox_port_is_where_it_runs_and_where_pagerduty_is_reached(tmp_path):
    port = _free_port()
    sandbox_url = f"http://127.0.0.1:{port}"
    env = _run_env(tmp_path, f"SANDBOX_PORT={port}")
    assert env["SANDBOX_PORT"] == str(port)
    assert env["PAGERDUTY_SANDBOX_URL"] == sandbox_url
    assert _pagerduty_hosts(env, tmp_path) == [
        f"{sandbox_url}/identity",
        f"{sandbox_url}/rest/us",
        f"{sandbox_url}/events/us",
        f"{sandbox_url}/rest/eu",
        f"{sandbox_url}/events/eu",
    ]

    honcho = shutil.which("honcho", path=str(BIN))
    assert honcho, "honcho is not installed beside this Python (the dev extras)"
    log = tmp_path / "honcho.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [honcho, "-f", "Procfile.dev", "start", "sandbox"],
            cwd=REPO,
            # make run's PATH (its .venv first) is this Python's, not the Makefile copy's.
            env={**os.environ, **env, "PATH": f"{BIN}:{os.environ['PATH']}"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        client = SandboxClient(sandbox_url, timeout=2)
        wait_for(client.health, timeout=30, message=f"the sandbox on {port}")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def test_the_sandbox_stays_on_8100_unless_told(tmp_path):
    env = _run_env(tmp_path)
    assert (env["SANDBOX_PORT"], env["PAGERDUTY_SANDBOX_URL"]) == ("8100", "http://127.0.0.1:8100")
    line = next(
        line
        for line in (REPO / "Procfile.dev").read_text().splitlines()
        if line.startswith("sandbox:")
    )
    command = line.partition(":")[2]
    shown = subprocess.run(
        ["sh", "-c", f"echo {command}"],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--port 8100 " in shown

    # A sandbox URL of one's own (a sandbox run apart, say) is kept.
    env = _run_env(tmp_path, "PAGERDUTY_SANDBOX_URL=http://127.0.0.1:9100")
    assert env["PAGERDUTY_SANDBOX_URL"] == "http://127.0.0.1:9100"
