"""The ingest API as production runs it: gunicorn (as in the Dockerfile) on production settings
(DJANGO_DEBUG=false). Bad input is a 4xx in JSON words, never a 500 or an HTML page, and
chunked bodies, which gunicorn decodes, are read within the size limit."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from cryptography.fernet import Fernet
from django.db import connection

from devtools.sandbox.testing import free_port
from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ERROR = {"app": "checkout", "level": "error", "message": "Payment failed", "source": "web-1"}
BODY_LIMIT = 256 * 1024


class Server:
    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.log = log

    def request(
        self, method: str, path: str, body: object = None, secret: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """One request through the TLS proxy production sits behind (X-Forwarded-Proto)."""
        headers = {"X-Forwarded-Proto": "https", "Content-Type": "application/json"}
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()


@pytest.fixture(scope="module")
def production_server(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """gunicorn on production settings, on the test database and Redis."""
    db = connection.settings_dict
    port = free_port()
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "alerts_saas.settings",
        "DJANGO_DEBUG": "false",
        "SECRET_KEY": "production-settings-test-" + "x" * 40,
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DATABASE_CONN_MAX_AGE": "0",
        "INGEST_MAX_BODY_BYTES": str(BODY_LIMIT),
        "VAR_DIR": str(log.parent),
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "alerts_saas.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn not up in 30 s: {log.read_text()}") from None
                time.sleep(0.2)
        yield Server(port, log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def pieces(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_chunked_batch_is_decoded_by_gunicorn_and_counted(
    production_server, ingest_secret, errors_alert, counted
):
    body = orjson.dumps([ERROR] * 5)
    status, _, answer = production_server.request(
        "POST", "/api/v1/events", pieces(body, 9), ingest_secret
    )
    assert status == 202, answer
    assert json.loads(answer) == {"accepted": 5, "rejected": 0, "errors": [], "notes": []}
    assert counted(errors_alert) == 5


def test_a_chunked_body_over_the_limit_is_413_in_words(
    production_server, ingest_secret, errors_alert, counted
):
    event = orjson.dumps({**ERROR, "message": "x" * 1000})
    body = b"[" + b",".join([event] * 300) + b"]"  # about 300 KB
    status, headers, answer = production_server.request(
        "POST", "/api/v1/events", pieces(body, 4096), ingest_secret
    )
    assert status == 413
    assert headers["Content-Type"] == "application/json"
    assert json.loads(answer)["message"].startswith("The body is over 256 KiB.")
    assert counted(errors_alert) == 0


def test_a_deeply_nested_event_is_refused_alone(
    production_server, ingest_secret, errors_alert, counted
):
    deep = b'{"context": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    body = b"[" + orjson.dumps(ERROR) + b"," + deep + b"]"
    status, _, answer = production_server.request("POST", "/api/v1/events", body, ingest_secret)
    assert status == 202, answer[:300]
    result = json.loads(answer)
    assert result["accepted"] == 1
    assert [(e["index"], e["field"]) for e in result["errors"]] == [(1, "context")]
    assert counted(errors_alert) == 1


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/api/v1/events", b"{not json", 400),
        ("POST", "/api/v1/events", b"[" * 100_000, 400),
        ("GET", "/api/v1/events", None, 405),
        ("POST", "/api/v1/nothing-here", b"[]", 404),
        ("GET", "/api/nothing-here", None, 404),
    ],
)
def test_errors_under_the_api_are_json_in_words(
    production_server, ingest_secret, method, path, body, status
):
    got, headers, answer = production_server.request(method, path, body, ingest_secret)
    assert got == status, answer[:300]
    assert headers["Content-Type"] == "application/json"
    assert json.loads(answer)["message"]
