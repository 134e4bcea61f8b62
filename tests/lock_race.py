"""Two transactions after the same rows, one connection each, in the order that used to
deadlock: `race` runs `first` in a thread of its own until it reaches `owner.name` (having
taken its locks by then), runs `second` in this thread, and lets `first` go on only once
`second` waits for one of its locks, or is done. PostgreSQL's deadlock detection then
aborts one of them if their lock orders cross."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import close_old_connections, connection

PATIENCE = 10.0  # seconds a side waits for the other before the race gives up
FIRST = "first"


@dataclass
class Outcome:
    errors: list[str] = field(default_factory=list)  # each side's exception, as repr
    blocked: bool = False  # whether `second` waited for `first`'s locks


def blocking_another() -> bool:
    """Whether another connection waits for a lock this one holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
        )
        return bool(cursor.fetchone()[0])


def race(
    monkeypatch: Any,
    owner: object,
    name: str,
    first: Callable[[], object],
    second: Callable[[], object],
) -> Outcome:
    outcome, locked, done = Outcome(), threading.Event(), threading.Event()
    real = getattr(owner, name)

    def gated(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == FIRST and not locked.is_set():
            locked.set()
            deadline = time.monotonic() + PATIENCE
            while not (blocking_another() or done.is_set()) and time.monotonic() < deadline:
                time.sleep(0.02)
            outcome.blocked = blocking_another()
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, gated)

    def run_first() -> None:
        try:
            first()
        except Exception as exc:
            outcome.errors.append(f"first: {exc!r}")
        finally:
            close_old_connections()

    thread = threading.Thread(target=run_first, name=FIRST)
    thread.start()
    assert locked.wait(PATIENCE), "the first side never took its locks"
    try:
        second()
    except Exception as exc:
        outcome.errors.append(f"second: {exc!r}")
    finally:
        done.set()
        thread.join(PATIENCE * 2)
    return outcome
