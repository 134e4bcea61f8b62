"""Several threads doing the same work at once, each on its own database connection, as
concurrent requests or batches would."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import close_old_connections


def run_at_once(work: Callable[[int], object], threads: int, timeout: float) -> list[BaseException]:
    """Run `work(0)` ... `work(threads - 1)` in threads at once; the errors they raised."""
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            work(n)
        except BaseException as error:  # the test reports it
            errors.append(error)
        finally:
            close_old_connections()

    started = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join(timeout)
    return errors
