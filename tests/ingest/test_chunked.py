"""Chunked request bodies (Transfer-Encoding: chunked, no Content-Length) over real HTTP to
the live server: read whole, within the same size limit as any other body."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

import orjson
import pytest

pytestmark = pytest.mark.django_db(transaction=True)

ERROR = {"app": "checkout", "level": "error", "message": "Payment failed", "source": "web-1"}


def address(live_server) -> tuple[str, int]:
    url = urlsplit(live_server.url)
    return url.hostname, url.port


def pieces(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def raw_post(live_server, secret: str, framed: Iterable[bytes]) -> tuple[int, dict, bytes]:
    """POST /api/v1/events with `Transfer-Encoding: chunked` and the body bytes given
    (chunk framing included), over a plain socket; the answer's status, headers and body."""
    host, port = address(live_server)
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(
            f"POST /api/v1/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {secret}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        for data in framed:
            sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, dict(response.getheaders()), response.read()


def chunk(data: bytes, extension: bytes = b"") -> bytes:
    return b"%x%s\r\n%s\r\n" % (len(data), extension, data)


def test_a_chunked_batch_is_read_whole_and_counted(
    live_server, ingest_secret, errors_alert, counted
):
    body = orjson.dumps([ERROR] * 3 + [{**ERROR, "level": "info"}])
    host, port = address(live_server)
    connection = http.client.HTTPConnection(host, port, timeout=30)
    # A generator has no length: http.client sends it chunked, as curl does with a pipe.
    connection.request(
        "POST",
        "/api/v1/events",
        body=pieces(body, 7),
        headers={"Authorization": f"Bearer {ingest_secret}", "Content-Type": "application/json"},
    )
    response = connection.getresponse()
    assert response.status == 202, response.read()
    assert json.loads(response.read()) == {"accepted": 4, "rejected": 0, "errors": [], "notes": []}
    assert counted(errors_alert) == 3
    # The body was read to its end: the connection carries a second request.
    connection.request(
        "POST",
        "/api/v1/events",
        body=pieces(orjson.dumps([ERROR]), 5),
        headers={"Authorization": f"Bearer {ingest_secret}", "Content-Type": "application/json"},
    )
    assert connection.getresponse().status == 202
    connection.close()
    assert counted(errors_alert) == 4


def test_chunk_extensions_and_trailers_are_allowed(
    live_server, ingest_secret, errors_alert, counted
):
    body = orjson.dumps([ERROR, ERROR])
    framed = [chunk(body[:10], b";name=value"), chunk(body[10:]), b"0\r\nX-Checksum: 1\r\n\r\n"]
    status, _, answer = raw_post(live_server, ingest_secret, framed)
    assert status == 202, answer
    assert json.loads(answer)["accepted"] == 2
    assert counted(errors_alert) == 2


@pytest.mark.parametrize(
    ("framed", "words"),
    [
        ([b"zz\r\n[]\r\n0\r\n\r\n"], "not a hexadecimal number"),
        ([b"2\r\n[]]]\r\n0\r\n\r\n"], "longer than its size says"),
    ],
)
def test_a_malformed_chunked_body_is_refused_in_words(live_server, ingest_secret, framed, words):
    status, headers, answer = raw_post(live_server, ingest_secret, framed)
    assert status == 400
    assert headers["Content-Type"] == "application/json"
    assert words in json.loads(answer)["message"]


def test_a_chunked_body_over_the_limit_is_refused_without_waiting_for_its_end(
    live_server, ingest_secret, settings, errors_alert, counted
):
    """The answer comes once the limit is passed: the body's last chunk is never sent."""
    settings.INGEST_MAX_BODY_BYTES = 256 * 1024
    event = orjson.dumps({**ERROR, "message": "x" * 1000})
    body = b"[" + b",".join([event] * 300) + b"]"  # about 300 KB
    status, headers, answer = raw_post(live_server, ingest_secret, map(chunk, pieces(body, 4096)))
    assert status == 413
    assert headers["Content-Type"] == "application/json"
    assert json.loads(answer)["message"] == (
        "The body is over 256 KiB. Send fewer events per request."
    )
    assert counted(errors_alert) == 0


def test_a_chunked_body_within_the_limit_is_taken(
    live_server, ingest_secret, settings, errors_alert, counted
):
    settings.INGEST_MAX_BODY_BYTES = 256 * 1024
    event = orjson.dumps({**ERROR, "message": "x" * 1000})
    body = b"[" + b",".join([event] * 200) + b"]"  # about 200 KB
    framed = [*map(chunk, pieces(body, 4096)), b"0\r\n\r\n"]
    status, _, answer = raw_post(live_server, ingest_secret, framed)
    assert status == 202, answer[:300]
    assert json.loads(answer)["accepted"] == 200
    assert counted(errors_alert) == 200
