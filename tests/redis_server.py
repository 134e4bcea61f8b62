"""A redis-server of a test's own, without persistence, that a test can restart empty."""

from __future__ import annotations

import subprocess
from pathlib import Path

import redis

from devtools.sandbox.testing import free_port
from tests.conftest import wait_for


class RedisServer:
    """redis-server on a free port of its own, without persistence, as a child process."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        wait_for(lambda: self._answers(client), timeout=10, message="redis-server to answer")

    @staticmethod
    def _answers(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    def shutdown(self) -> None:
        """What a crash or a restart without persistence does: everything in it is gone."""
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], check=False)
        if self.proc:
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart_empty(self) -> None:
        """A restart (or a failover to an empty node): everything in it is gone."""
        self.shutdown()
        self.start()
