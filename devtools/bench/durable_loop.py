"""The durable loop: the plain loop's sends, each kept in a PostgreSQL row as Tripwire
keeps its deliveries, with nothing else (no broker, no rate limit, no retries, no order).

It answers the question the plain-loop target leaves open: what does it cost just to keep
every notification where a dead process cannot lose it? Each process of the loop inserts
its share as queued rows (in transactions of `BATCH`, as the bench queues Tripwire's), then
claims `CHUNK` at a time with one UPDATE ... RETURNING (SKIP LOCKED), posts them through the
engine's HTTP client with the worker's sends in flight, and settles them with one UPDATE
FROM unnest: the same three writes per notification, and the same round trips per chunk,
as Tripwire's engine. Its rows live in a table of its own (`TABLE`), emptied per round.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

TABLE = "bench_durable_loop"  # written out in the statements below
CHUNK = 50  # as integrations.pagerduty.delivery.CHUNK: one claim and one settle per chunk
BATCH = 500  # rows inserted per transaction, as the bench queues Tripwire's

CREATE = """
CREATE TABLE IF NOT EXISTS bench_durable_loop (
    id bigserial PRIMARY KEY,
    url text NOT NULL,
    body bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    claimed_at timestamptz,
    settled_at timestamptz,
    status integer
);
CREATE INDEX IF NOT EXISTS bench_durable_loop_queued ON bench_durable_loop (id)
    WHERE claimed_at IS NULL;
"""
INSERT = "INSERT INTO bench_durable_loop (url, body) SELECT * FROM unnest(%s::text[], %s::bytea[])"
CLAIM = """
UPDATE bench_durable_loop SET claimed_at = now()
WHERE id IN (
    SELECT id FROM bench_durable_loop WHERE claimed_at IS NULL ORDER BY id LIMIT %s
    FOR UPDATE SKIP LOCKED
)
RETURNING id, url, body
"""
SETTLE = """
UPDATE bench_durable_loop AS d SET settled_at = now(), status = a.status
FROM unnest(%s::bigint[], %s::integer[]) AS a(id, status)
WHERE d.id = a.id
"""


def dsn() -> str:
    """The benches' database, as Django's settings name it."""
    from django.db import connection
    from psycopg.conninfo import make_conninfo

    params = connection.get_connection_params()
    return make_conninfo(
        **{k: v for k, v in params.items() if k in ("dbname", "host", "port", "user", "password")}
    )


def prepare(dsn: str) -> None:
    """The loop's table, created if missing and emptied."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(CREATE)
        conn.execute("TRUNCATE bench_durable_loop")


def _run(dsn: str, url: str, bodies: list[bytes], go: Any, out: Any, concurrency: int) -> None:
    import psycopg

    from integrations.pagerduty.sender import Options, Sender

    sender = Sender(Options(concurrency, 5.0, 10.0, (("Content-Type", "application/json"),)))
    sender.post_all([(url, b"[]")] * concurrency)[0].result()  # connected before the start
    statuses: Counter[int] = Counter()
    with psycopg.connect(dsn) as conn:
        go.wait()
        for first in range(0, len(bodies), BATCH):
            share = bodies[first : first + BATCH]
            with conn.transaction():
                conn.execute(INSERT, ([url] * len(share), share))
        while True:
            with conn.transaction():
                claimed = conn.execute(CLAIM, (CHUNK,)).fetchall()
            if not claimed:
                break
            answers = sender.post_all([(row[1], row[2]) for row in claimed])[0].result()
            codes = [answer.status or 0 for answer in answers]
            with conn.transaction():
                conn.execute(SETTLE, ([row[0] for row in claimed], codes))
            statuses.update(codes)
    sender.close()
    out.put(dict(statuses))


def post_all(dsn: str, url: str, bodies: list[bytes], processes: int, concurrency: int) -> Any:
    """Post `bodies` through the durable loop from `processes` processes of `concurrency`
    sends in flight each; a `loops.LoopResult`, timed from when all are connected to when
    the last row is settled."""
    from devtools.bench.loops import run_processes

    shares = [(dsn, url, bodies[i::processes], concurrency) for i in range(processes)]
    return run_processes(_run, shares, before=3)
