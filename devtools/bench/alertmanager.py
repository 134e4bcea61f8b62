"""Prometheus Alertmanager as the yardstick for `make bench-delivery`.

Debian's `prometheus-alertmanager`, installed with apt-get when missing (as root), runs on
free ports with a storage directory of its own and one route: every alert its own group
(`group_by: ['...']`), sent at once (`group_wait: 0s`) to a PagerDuty receiver whose Events
API URL is the sink. Alerts go in through its API v2 in batches, each with distinct labels.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from devtools.bench.sink import free_port

PACKAGE = "prometheus-alertmanager"
BINARIES = ("prometheus-alertmanager", "alertmanager")


def find_or_install() -> tuple[str | None, str]:
    """The Alertmanager binary (installing Debian's package when missing), or None and why."""
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found, ""
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        return None, f"{PACKAGE} is not installed and apt-get cannot install it (not root?)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "install", "-y", "-q", "--no-install-recommends", PACKAGE]
    for attempt in range(2):
        if attempt:  # the first failure may be an old package list
            subprocess.run([apt, "update", "-q"], env=env, capture_output=True, check=False)  # noqa: S603
        done = subprocess.run(install, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode == 0:
            break
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found, ""
    tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["?"]
    return None, f"apt-get install {PACKAGE} failed: {tail[0]}"


def config(routing_key: str, events_url: str) -> dict[str, object]:
    """One notification per alert, at once, to PagerDuty (the sink); never repeated."""
    return {
        "global": {"resolve_timeout": "1h"},
        "route": {
            "receiver": "pagerduty",
            "group_by": ["..."],
            "group_wait": "0s",
            "group_interval": "1h",
            "repeat_interval": "24h",
        },
        "receivers": [
            {
                "name": "pagerduty",
                "pagerduty_configs": [
                    {
                        "routing_key": routing_key,
                        "url": f"{events_url}/v2/enqueue",
                        "send_resolved": False,
                    }
                ],
            }
        ],
    }


Launch = Callable[[str, list[str]], "subprocess.Popen[bytes]"]


class Alertmanager:
    """One Alertmanager process; `launch(name, argv)` starts it (the bench's Children)."""

    def __init__(self, binary: str, routing_key: str, events_url: str, launch: Launch) -> None:
        self.binary = binary
        self.routing_key = routing_key
        self.port = free_port()
        self.home = Path(tempfile.mkdtemp(prefix="bench-alertmanager-"))
        # YAML is a superset of JSON: the configuration is written as JSON.
        (self.home / "alertmanager.yml").write_text(json.dumps(config(routing_key, events_url)))
        self.launch = launch
        self.session = requests.Session()
        self.version = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        argv = [
            self.binary,
            f"--config.file={self.home / 'alertmanager.yml'}",
            f"--storage.path={self.home / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",  # no gossip: a single instance
            "--log.level=warn",
        ]
        proc = self.launch("alertmanager", argv)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"Alertmanager exited with {proc.returncode}")
            try:
                if self.session.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    status = self.session.get(f"{self.url}/api/v2/status", timeout=5).json()
                    self.version = status.get("versionInfo", {}).get("version", "")
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("Alertmanager did not become ready")

    def post_alerts(self, prefix: str, count: int, batch: int = 500) -> None:
        """`count` firing alerts, each with labels of its own, in batches of `batch`."""
        now = datetime.now(UTC)
        starts = now.isoformat().replace("+00:00", "Z")
        ends = (now + timedelta(hours=6)).isoformat().replace("+00:00", "Z")
        for first in range(0, count, batch):
            alerts = [
                {
                    "labels": {
                        "alertname": "BenchDelivery",
                        "instance": f"{prefix}-{i}",
                        "severity": "info",
                    },
                    "annotations": {"summary": f"bench {prefix} {i}"},
                    "startsAt": starts,
                    "endsAt": ends,
                    "generatorURL": "http://127.0.0.1/bench",
                }
                for i in range(first, min(count, first + batch))
            ]
            response = self.session.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=60)
            response.raise_for_status()
