"""The Celery app: `celery -A alerts_saas worker` and `celery -A alerts_saas beat`."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun
from celery.worker.consumer import Consumer as CeleryConsumer
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alerts_saas.settings")

log = logging.getLogger(__name__)


class Consumer(CeleryConsumer):
    """Celery's consumer, which survives the broker dropping while it holds messages.

    When Redis goes away, Celery (5.7) cleans up the broken connection twice: `collect()`
    closes its channels and detaches the transport, then `close()` closes them again. A
    channel that was waiting on BRPOP fails the first close with a connection error (which
    is ignored) before it restores its unacknowledged messages, so the second close tries
    to restore them through the detached transport: kombu raises AttributeError ("'NoneType'
    object has no attribute 'hostname'"), which is not a connection error, and the worker
    stops with "Unrecoverable error". It happens whenever the worker holds an unacknowledged
    message, such as a countdown (ETA) task or a task that is running.

    The same detached transport is hit once more when a task that was running as the
    connection dropped finishes after the worker reconnected: its message is acknowledged
    (or rejected) on the lost connection's channel.

    Here neither can stop the worker: the second close and a late acknowledgement on a lost
    channel log and go on. The messages it held stay unacknowledged in Redis (redelivered
    after CELERY_VISIBILITY) or, when Redis lost them, their deliveries are queued again by
    the sweeper; a delivery is claimed once, so a late copy sends nothing.
    """

    def on_connection_error_after_connected(self, exc: Exception) -> None:
        if self.connection is not None:
            _acknowledge_quietly(self.connection)
            _close_detached_quietly(self.connection)
        super().on_connection_error_after_connected(exc)


def _acknowledge_quietly(connection: Any) -> None:
    """A late ack or reject on one of the lost connection's channels logs, never raises."""
    transport = getattr(connection, "_transport", None)
    for channel in list(getattr(transport, "channels", None) or []):
        for name in ("basic_ack", "basic_reject"):
            _make_quiet(channel, name)


def _make_quiet(channel: Any, name: str) -> None:
    method = getattr(channel, name)

    def quiet(*args: Any, **kwargs: Any) -> None:
        try:
            method(*args, **kwargs)
        except Exception:
            log.warning(
                "A task finished after its broker connection was lost; its message is "
                "redelivered by the broker, or its deliveries queued again by the sweeper."
            )
            log.debug("Acknowledging on the lost broker connection failed", exc_info=True)

    setattr(channel, name, quiet)


def _close_detached_quietly(connection: Any) -> None:
    close = connection.close

    def quiet_close() -> None:
        try:
            close()
        except AttributeError:
            if connection._transport is not None:  # not the detached-transport case
                raise
            log.warning(
                "The lost broker connection could not hand back its unacknowledged "
                "messages; the broker redelivers them, or the sweeper queues their "
                "deliveries again."
            )
            log.debug("Closing the lost broker connection failed", exc_info=True)

    connection.close = connection.release = quiet_close


app = Celery("alerts_saas")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.worker_consumer = f"{__name__}:Consumer"
# Celery's Django fixup closes every database connection around every task unless this is
# set: a new PostgreSQL backend per task, with its set-up on every delivery's path. Keep
# connections as Django's request cycle does instead (below): reused up to CONN_MAX_AGE,
# and dropped when unusable.
app.conf["CELERY_DB_REUSE_MAX"] = 2**31
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _recycle_database_connections(**_: Any) -> None:
    close_old_connections()
