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
from django.db import connection

from alerts_saas.accounts.models import Organization
from devtools.sandbox.testing import SandboxProcess
from integrations.pagerduty.models import PagerDutyService

REPO = Path(settings.BASE_DIR)
# Cores taken by processes not the bench's above which a run is flagged: the kernel and
# PostgreSQL's background writers take about 0.1 at these rates.
BUSY_MACHINE = 0.25


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
        replies = app.control.ping(timeout=0.5) or []
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


# -- Where the cores went ---------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its waited-for children, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _session_pids(sid: int) -> list[int]:
    """Processes in session `sid` (a child started with start_new_session and its forks)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid:
                pids.append(int(entry.name))
    return pids


def _busy_seconds() -> tuple[float, float]:
    """CPU seconds spent by the whole machine (all cores) that were not idle, and those of
    them spent in interrupts (mostly the network stack's softirqs: loopback traffic), which
    no process is charged with."""
    parts = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + parts[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(parts[:8]) - idle) / tick, (parts[5] + parts[6]) / tick


def _pids_named(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


class CpuMeter:
    """CPU per role over a phase: where the cores went. PostgreSQL is this database's
    backends only, and its background processes (WAL writer, checkpointer, autovacuum) are
    the server's; Redis is the whole server (shared); "other processes" is what the rest of
    the machine took meanwhile (loopback traffic's interrupts are shown apart): anything else
    running (another test run, say), which the figures then suffer from."""

    def __init__(self, children: Children, extra: dict[str, int | None] | None = None) -> None:
        self.children = children
        self.extra = extra or {}  # more processes by role (a sandbox not among children)

    def sample(self) -> tuple[dict[str, float], dict[int, float]]:
        # A session's processes: ours (gunicorn master and workers, celery and its pool).
        taken = {
            name: sum(_cpu_seconds(p) for p in _session_pids(proc.pid))
            for name, proc in self.children.procs
        }
        for name, pid in self.extra.items():
            if pid is not None:
                taken[name] = _cpu_seconds(pid)
        taken["load generator (this process)"] = _cpu_seconds(os.getpid())
        taken["Redis (shared)"] = sum(_cpu_seconds(p) for p in _pids_named("redis-server"))
        taken["machine"], taken["kernel interrupts (network)"] = _busy_seconds()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            backends = {pid: _cpu_seconds(pid) for (pid,) in cursor.fetchall()}
            # The WAL writer, checkpointer, background writer, autovacuum: the whole server's.
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE backend_type <> 'client backend'"
                " AND datname IS DISTINCT FROM current_database()"
            )
            shared = sum(_cpu_seconds(pid) for (pid,) in cursor.fetchall())
            # Backends that ended are charged to the postmaster, which reaped them.
            cursor.execute("SELECT pg_backend_pid()")
            shared += _cpu_seconds(_parent(cursor.fetchone()[0]))
            taken["PostgreSQL background and ended backends (shared)"] = shared
        return taken, backends

    @staticmethod
    def spent(
        before: tuple[dict[str, float], dict[int, float]],
        after: tuple[dict[str, float], dict[int, float]],
        seconds: float,
    ) -> dict[str, float]:
        """Cores used per role (1.0 is one core busy all the time)."""
        used = {k: (after[0][k] - before[0].get(k, 0.0)) / seconds for k in after[0]}
        # Backends that started during the phase count from zero.
        used["PostgreSQL (this database)"] = (
            sum(cpu - before[1].get(pid, 0.0) for pid, cpu in after[1].items()) / seconds
        )
        machine = used.pop("machine")
        used["other processes"] = max(0.0, machine - sum(used.values()))
        used["machine"] = machine
        return {k: round(v, 2) for k, v in used.items()}


def cores_line(used: dict[str, float]) -> str:
    return "cores used: " + ", ".join(f"{k} {v:.2f}" for k, v in used.items())


def production_env(**extra: str) -> dict[str, str]:
    """Production settings over plain http for a child process, on this run's database,
    Redis and secrets (so that it reads what this process encrypts)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "alerts_saas.settings",
        "DJANGO_DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        **extra,
    }
