"""Redis CPU per batch of the counting script, for layouts side by side (`python -m
devtools.bench count-replay`).

`ingest-cpu` tells how much Redis a batch costs; this tells which layout costs less. It
posts batches of the bench's mix (`alert_mix`) through the ingest path at one alert count
(as `ingest-cpu` does, on the settings' database and Redis), captures each batch's call to
the counting script (keys and arguments), then replays those calls on a Redis server of
its own, which it empties, once per script: the product's and each `--script NAME=PATH`
(a Lua file taking the same keys and arguments). Rounds alternate between the scripts, and
each script's Redis CPU (INFO cpu) per batch is reported, best and median.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from alerts_saas.alerts import count_script, counting_redis
from alerts_saas.alerts.counting import counts
from devtools.bench import alert_mix, alert_set, ingest_cpu

Call = tuple[list[Any], list[Any]]


def capture(alerts: int, batches: int, batch: int) -> list[Call]:
    """The counting script's calls for `batches` POSTs of `batch` events at `alerts` alerts."""
    store = counts()
    if not isinstance(store, counting_redis.RedisCounts):
        raise CommandError("Counting is not in Redis here: set REDIS_URL.")
    calls: list[Call] = []
    real = store._add

    def spy(keys: list[Any], args: list[Any]) -> Any:
        calls.append((list(keys), list(args)))
        return real(keys=keys, args=args)

    with override_settings(DEBUG=False, INGEST_EVENTS_PER_MINUTE=10**12):
        org, user, secret, services = ingest_cpu._organization()
        alert_set.switch(org, user, services, alerts, 0)
        poster = ingest_cpu.Poster(secret)
        store._add = spy  # type: ignore[assignment]
        try:
            for body in alert_mix.make_batches(batches, batch):
                poster.post(body)
        finally:
            store._add = real
    # Reading the epoch alone (change checks, the beat) is not a batch.
    return [call for call in calls if len(call[0]) > 1]


def replay(
    server: redis.Redis, scripts: dict[str, str], calls: list[Call], rounds: int
) -> dict[str, list[float]]:
    """Each script's Redis CPU in ms per batch, per round."""

    def cpu() -> float:
        info = server.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    registered = {name: server.register_script(text) for name, text in scripts.items()}
    spent: dict[str, list[float]] = {name: [] for name in scripts}
    for _ in range(rounds):
        for name, script in registered.items():
            server.flushdb()
            for keys, args in calls[:3]:  # warm: the keys made, the script loaded
                script(keys=keys, args=args)
            before = cpu()
            for keys, args in calls:
                script(keys=keys, args=args)
            spent[name].append((cpu() - before) / len(calls) * 1000)
    return spent


class Command(BaseCommand):
    help = "Redis CPU per batch of the counting script, the product's and other layouts."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--alerts", type=int, default=2000, help="alerts in the organization")
        parser.add_argument("--batches", type=int, default=20, help="batches captured")
        parser.add_argument("--batch", type=int, default=500, help="events per batch")
        parser.add_argument("--rounds", type=int, default=6, help="replays per script")
        parser.add_argument(
            "--replay-redis",
            required=True,
            help="a Redis of its own to replay on (it is emptied), e.g. redis://127.0.0.1:6392/0",
        )
        parser.add_argument(
            "--script", action="append", default=[], help="NAME=PATH of a Lua layout to compare"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["replay_redis"].rstrip("/") == (settings.REDIS_URL or "").rstrip("/"):
            raise CommandError("--replay-redis must not be the settings' Redis: it is emptied.")
        scripts = {"product": count_script.ADD}
        for named in opts["script"]:
            name, _, path = named.partition("=")
            if not name or not path:
                raise CommandError(f"--script takes NAME=PATH, not {named!r}")
            scripts[name] = Path(path).read_text()
        calls = capture(opts["alerts"], opts["batches"], opts["batch"])
        keys = statistics.mean(len(k) for k, _ in calls)
        sent = statistics.mean(
            sum(len(a) for a in args if isinstance(a, bytes | str)) for _, args in calls
        )
        self.stdout.write(
            f"{opts['alerts']:,} alerts: {len(calls)} batches captured, {keys:.0f} keys and "
            f"{sent / 1000:.0f} KB of arguments a batch"
        )
        spent = replay(redis.Redis.from_url(opts["replay_redis"]), scripts, calls, opts["rounds"])
        for name, rounds in spent.items():
            self.stdout.write(
                f"  {name}: {min(rounds):.2f} ms best, {statistics.median(rounds):.2f} ms median "
                f"Redis CPU a batch (rounds: {', '.join(f'{r:.2f}' for r in rounds)})"
            )
