"""On the embedded default (SQLite, `make run`), two transactions that read and then write
at the same moment both succeed, one after the other: before, the second failed at once
with "database is locked" (seen as an incident update from PagerDuty lost for a minute)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import threading
import django
django.setup()
from django.db import connection, transaction
from django.db.utils import OperationalError

with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE counted (n integer)")
ready = threading.Barrier(2)
failures = []

def read_then_write() -> None:
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM counted")
                try:
                    ready.wait(timeout=1)  # with IMMEDIATE the other waits at its BEGIN
                except threading.BrokenBarrierError:
                    pass
                cursor.execute("INSERT INTO counted VALUES (1)")
    except OperationalError as exc:
        failures.append(str(exc))

threads = [threading.Thread(target=read_then_write) for _ in range(2)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM counted")
    print(cursor.fetchone()[0], failures)
"""


def _run(tmp_path: Path, settings_module: str) -> str:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "VAR_DIR": str(tmp_path),
    }
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_two_writers_that_read_first_both_write(tmp_path: Path) -> None:
    assert _run(tmp_path, "alerts_saas.settings") == "2 []"
