"""The bench-delivery sink on its own: a process answering as PagerDuty's Events API v2,
counting what it receives, switchable to 500 and 429 (not the whole benchmark)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from devtools.bench import durable_loop
from devtools.bench.loops import post_all, sample_bodies
from devtools.bench.sink import Sink

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    with Sink() as running:
        yield running


def test_counts_every_event_of_the_plain_loop(sink: Sink) -> None:
    bodies = sample_bodies(200, "t", ["key-a", "key-b"])
    result = post_all(f"{sink.url}/v2/enqueue", bodies, 2, threads=2)

    assert result.statuses == {202: 200}
    keys = [f"t-{i}" for i in range(200)]
    assert sink.client.wait_for(lambda: all(k in sink.client.times for k in keys), 10)
    assert sink.client.duplicates(keys) == 0
    assert sink.client.routing["key-a"] == 100
    assert sink.client.routing["key-b"] == 100
    assert sink.client.distinct["key-a"] == {f"t-{i}" for i in range(0, 200, 2)}


@pytest.mark.django_db(transaction=True)
def test_the_durable_loop_sends_each_once_and_settles_its_row(sink: Sink) -> None:
    from django.db import connection

    bodies = sample_bodies(230, "d", ["key-d"])  # chunks of 50 and a short last one
    dsn = durable_loop.dsn()
    durable_loop.prepare(dsn)
    result = durable_loop.post_all(dsn, f"{sink.url}/v2/enqueue", bodies, 2, 4)

    assert result.statuses == {202: 230}
    keys = [f"d-{i}" for i in range(230)]
    assert sink.client.wait_for(lambda: all(k in sink.client.times for k in keys), 10)
    assert sink.client.duplicates(keys) == 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(claimed_at), count(settled_at), min(status), max(status) "
            "FROM bench_durable_loop"
        )
        assert cursor.fetchone() == (230, 230, 230, 202, 202)
        cursor.execute("DROP TABLE bench_durable_loop")


def test_answers_as_pagerduty(sink: Sink) -> None:
    url = f"{sink.url}/v2/enqueue"
    event = {"routing_key": "k", "event_action": "trigger", "dedup_key": "mine"}
    response = requests.post(url, json=event, timeout=5)

    assert response.status_code == 202
    assert response.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "mine",
    }
    generated = requests.post(url, json={"routing_key": "k"}, timeout=5).json()["dedup_key"]
    assert len(generated) == 32
    assert requests.post(url, data=b"not json", timeout=5).status_code == 400
    assert requests.get(url, timeout=5).status_code == 404
    assert sink.client.wait_for(lambda: "mine" in sink.client.times, 5)
    assert generated in sink.client.times


@pytest.mark.parametrize("status", [500, 429])
def test_switches_to_errors_and_back(sink: Sink, status: int) -> None:
    url = f"{sink.url}/v2/enqueue"
    before = sink.client.received()
    sink.client.set_mode(status)
    try:
        result = post_all(url, sample_bodies(10, f"fault-{status}", ["k"]), 1, client="requests")
        body = requests.post(url, json={"routing_key": "k"}, timeout=5)
    finally:
        sink.client.set_mode(202)

    assert result.statuses == {status: 10}
    assert body.status_code == status
    assert body.json()["status"] in {"error", "throttle event"}
    assert sink.client.wait_for(lambda: sink.client.received() == before + 11, 5)
    assert sink.client.statuses[status] == 11
    assert post_all(url, sample_bodies(5, f"after-{status}", ["k"]), 1).statuses == {202: 5}


@pytest.mark.django_db(transaction=True)
def test_the_history_it_inserts_is_rows_the_product_reads() -> None:
    """The history is written by hand-made SQL: every column the model requires is set."""
    from devtools.bench.history import insert_history
    from integrations.pagerduty.models import Delivery

    assert insert_history(40) == 40
    rows = list(Delivery.objects.all())
    assert len(rows) == 40 and {d.reason for d in rows} == {""}
    assert {d.status for d in rows} <= {Delivery.Status.DELIVERED, Delivery.Status.FAILED}
