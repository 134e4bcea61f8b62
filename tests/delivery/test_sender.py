"""The engine's HTTP sender (sender.py): many posts at once from one event loop per process,
against the sandbox over real HTTP."""

from __future__ import annotations

import json
import os
import socket
import time

import orjson
import pytest

from integrations.pagerduty.sender import Options, Sender, sender

HEADERS = (("Content-Type", "application/json"),)


def _options(concurrency: int = 4, read_timeout: float = 10.0) -> Options:
    return Options(concurrency, 5.0, read_timeout, HEADERS)


def _bodies(key: str, n: int, prefix: str) -> list[bytes]:
    return [
        orjson.dumps(
            {
                "routing_key": key,
                "event_action": "trigger",
                "dedup_key": f"{prefix}-{i}" if n > 1 else prefix,
                "payload": {"summary": "Disk full on db-1", "source": "db-1", "severity": "info"},
            }
        )
        for i in range(n)
    ]


@pytest.fixture
def key(pagerduty) -> str:
    service = pagerduty.account("us")["services"][0]
    return pagerduty.add_integration(service["id"])["integration_key"]


def test_answers_come_back_in_the_order_of_the_posts(pagerduty, key):
    url = f"{pagerduty.events_url('us')}/v2/enqueue"
    bodies = _bodies(key, 20, "order")
    future, done = sender(_options()).post_all([(url, body) for body in bodies])
    answers = future.result(timeout=30)
    assert all(done)
    assert [a.status for a in answers] == [202] * 20
    keys = [json.loads(a.body)["dedup_key"] for a in answers]
    assert keys == [f"order-{i}" for i in range(20)]
    assert all(a.latency_ms >= 0 and a.error == "" for a in answers)


def test_no_more_than_its_concurrency_in_flight(pagerduty, key):
    """Eight posts that take a second each, four at a time: about two seconds."""
    url = f"{pagerduty.events_url('us')}/v2/enqueue"
    pagerduty.fault("events-us", "hang", count=8, seconds=1)
    started = time.monotonic()
    future, _done = sender(_options(concurrency=4)).post_all(
        [(url, body) for body in _bodies(key, 8, "wave")]
    )
    answers = future.result(timeout=30)
    elapsed = time.monotonic() - started
    assert [a.status for a in answers] == [202] * 8
    assert 1.9 < elapsed < 4.5, f"{elapsed:.1f} s: not two waves of four"


def test_a_slow_answer_times_out_in_words(pagerduty, key):
    url = f"{pagerduty.events_url('us')}/v2/enqueue"
    pagerduty.fault("events-us", "hang", count=1, seconds=3)
    future, done = sender(_options(read_timeout=0.5)).post_all([(url, _bodies(key, 1, "slow")[0])])
    [answer] = future.result(timeout=30)
    assert answer.status is None and answer.error == "timeout"
    assert 400 <= answer.latency_ms < 2500
    assert done == [True]


def test_a_refused_connection_is_an_answer_not_an_exception():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    future, _done = sender(_options()).post_all([(f"http://127.0.0.1:{port}/v2/enqueue", b"{}")])
    [answer] = future.result(timeout=30)
    assert answer.status is None and answer.error == "ConnectionError"


def test_proxies_come_from_the_environment_once_per_url(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    fresh = Sender(_options())
    try:
        assert fresh._proxy("https://events.pagerduty.com/v2/enqueue") == (
            "http://proxy.internal:3128"
        )
        assert fresh._proxy("http://127.0.0.1:9/v2/enqueue") is None
        monkeypatch.setenv("HTTPS_PROXY", "http://elsewhere:1")
        assert fresh._proxy("https://events.pagerduty.com/v2/enqueue") == (
            "http://proxy.internal:3128"
        )
    finally:
        fresh.close()


def test_a_forked_process_gets_its_own_loop(pagerduty, key):
    """As a prefork Celery worker does: the parent's loop thread is not in the child."""
    url = f"{pagerduty.events_url('us')}/v2/enqueue"
    parent = sender(_options())
    parent.post_all([(url, _bodies(key, 1, "parent")[0])])[0].result(timeout=30)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: post once and report
        code = 1
        try:
            child = sender(_options())
            [answer] = child.post_all([(url, _bodies(key, 1, "child")[0])])[0].result(timeout=20)
            os.write(write, f"{answer.status} {child is parent}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    _pid, status = os.waitpid(pid, 0)
    report = os.read(read, 100).decode()
    os.close(read)
    assert os.waitstatus_to_exitcode(status) == 0
    assert report == "202 False"
    assert [e["body"]["dedup_key"] for e in pagerduty.events(dedup_key="child")] == ["child"]
