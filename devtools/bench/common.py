"""What the benchmark commands share (`make bench`, `make bench-delivery`): the processes
they start, the Celery worker among them, the sandbox's PagerDuty services, the percentile
they report and where they save their results."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from alerts_saas.accounts.models import Organization
from devtools.sandbox.testing import SandboxProcess
from integrations.pagerduty.models import PagerDutyService

REPO = Path(settings.BASE_DIR)


class Children:
    """The processes a bench starts, each in its own session, all stopped on exit."""

    def __init__(self, prefix: str) -> None:
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.logs = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(  # noqa: S603 - our own fixed command lines
            argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs.append((name, proc))
        return proc

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop_all(self) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _, proc in reversed(self.procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.procs.clear()


def start_worker(
    children: Children, env: dict[str, str], concurrency: int, name: str, timeout: float = 60
) -> subprocess.Popen[bytes]:
    """A Celery worker, started as child "worker" and returned once it answers a ping. Its
    node name (`<name>-<our pid>@host`) tells it from any other worker on the broker."""
    node = f"{name}-{os.getpid()}@"
    proc = children.start(
        "worker",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "alerts_saas",
            "worker",
            "--loglevel",
            "WARNING",
            "--concurrency",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            f"{node}%h",
        ],
        env,
    )
    from alerts_saas.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        replies = app.control.ping(timeout=0.5)
        if any(node in host for reply in replies for host in reply):
            return proc
    raise CommandError(f"the worker did not start:\n{children.log('worker')}")


def sandbox_services(
    sandbox: SandboxProcess, organization: Organization, count: int
) -> list[PagerDutyService]:
    """A PagerDutyService, with an integration of its own, for each of the sandbox's first
    `count` US services."""
    return [
        PagerDutyService.objects.create(
            organization=organization,
            name=s["name"],
            region="us",
            integration_key=sandbox.add_integration(s["id"])["integration_key"],
        )
        for s in sandbox.account("us")["services"][:count]
    ]


def percentile(values: list[float], pct: float) -> float:
    """Nearest rank: with fewer than 100 samples, p99 is the highest."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def save_result(name: str, result: dict[str, Any]) -> Path:
    """`result` as JSON in VAR_DIR/bench/<name>.json; the file's path."""
    out = Path(settings.VAR_DIR) / "bench"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(result, indent=2))
    return path
