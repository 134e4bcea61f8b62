"""What `make bench` posts and what it alerts on: a team's event stream and alert set.

The events come from 120 apps (40 domains, each with an api, a worker and a cron job; some
far noisier than others), each app from its own 3 to 7 hosts, at the usual levels, with
messages and attributes that depend on the app and the level. The alerts are what such a
team sets up: a few organization-wide ones (two count each host on its own), then alerts
on one app or host each (errors, "message contains", regular expressions, attribute rules,
combinations, absence), spread evenly over the apps. So most alerts watch other apps than
an event's, and only a handful can match any one event, however many alerts there are.

The alert set grows by appending: the first n specs are the same for any larger count, so
the bench switches from one count to the next by adding or deleting the tail.

`matching` says which specs an event meets, by the rules' documented meaning (the alert
form's labels), without the product's matcher: the bench checks its own mix with it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import re2

from alerts_saas.alerts.conditions import attribute_text
from alerts_saas.alerts.models import ConditionKind, GroupBy, Level

Spec = dict[str, Any]  # Alert field values, as Alert(**spec) takes them
Event = dict[str, Any]  # one event as POST /api/v1/events takes it

DOMAINS = [
    "checkout", "payments", "search", "auth", "inventory", "shipping", "billing", "email",
    "sms", "catalog", "pricing", "recommendations", "reviews", "cart", "orders", "accounts",
    "media", "uploads", "reports", "analytics", "ledger", "fraud", "tax", "invoices",
    "subscriptions", "coupons", "loyalty", "warehouse", "fulfillment", "returns", "support",
    "chat", "geo", "ads", "feeds", "gateway", "webhooks", "exports", "imports", "sessions",
]  # fmt: skip
ROLES = ("api", "worker", "cron")
APPS = [f"{domain}-{role}" for domain in DOMAINS for role in ROLES]
HOSTS = {app: [f"{app}-{k}" for k in range(1, 3 + n % 5)] for n, app in enumerate(APPS)}
REGIONS = ["eu-west-1", "us-east-1", "us-west-2", "ap-southeast-2"]
TIERS = ["free", "team", "business", "enterprise"]
LEVELS = ["debug", "info", "notice", "warning", "error", "critical"]
LEVEL_WEIGHTS = [10, 60, 5, 12, 10, 3]
LEVEL_RANKS = {label: value for value, label in Level.choices}
DEPENDENCIES = ["postgres", "redis", "stripe", "s3", "elasticsearch", "kafka", "smtp", "twilio"]
TABLES = ["orders", "customers", "line_items", "events", "sessions", "invoices"]
JOBS = ["sync", "cleanup", "rollup", "export"]
ERROR_CODES = [f"E{code}" for code in (1001, 1002, 2001, 2002, 3001, 4001, 4002, 5001)]
VERSIONS = ["v4.1", "v4.2", "v4.3", "v5.0"]


def _app_weights() -> list[float]:
    """Some apps are far noisier than others (a Zipf-like spread over a fixed order)."""
    order = list(range(len(APPS)))
    random.Random(3).shuffle(order)
    return [1 / (1 + rank) ** 0.6 for rank in order]


APP_WEIGHTS = _app_weights()


# -- The events ---------------------------------------------------------------------------


def _error_text(rng: random.Random, app: str, n: int, ms: int) -> str:
    domain = app.rsplit("-", 1)[0]
    texts = [
        f"Timeout talking to {rng.choice(DEPENDENCIES)} after {ms} ms",
        f"Connection reset by peer while reading from {rng.choice(DEPENDENCIES)}",
        f"ERROR: deadlock detected while updating {rng.choice(TABLES)} {n}",
        f"Worker out of memory handling job {n}; restarting",
        f"Unhandled exception in request {n}: KeyError('{rng.choice(['customer_id', 'sku'])}')",
        f"GET /api/{domain}/{n} {rng.choice([500, 502, 503])} in {ms} ms",
        f"Certificate for {rng.choice(DEPENDENCIES)} expires in {rng.randint(1, 9)} days",
    ]
    if domain in ("payments", "checkout", "billing", "subscriptions"):
        texts.append(f"Payment failed: card declined for order {n}")
    return rng.choice(texts)


def _warning_text(rng: random.Random, app: str, n: int, ms: int) -> str:
    domain = app.rsplit("-", 1)[0]
    return rng.choice(
        [
            f"Retrying job {n} (attempt {rng.randint(1, 9)})",
            f"Slow query took {ms} ms on {rng.choice(TABLES)} for customer {n}",
            f"disk usage at {rng.randint(70, 99)}% on /var/lib/{app}",
            f"Cache miss storm for key {domain}:{n}",
            f"Rate limited by {rng.choice(DEPENDENCIES)}; backing off {rng.randint(1, 30)} s",
        ]
    )


def _routine_text(rng: random.Random, app: str, n: int, ms: int, status: int) -> str:
    domain, role = app.rsplit("-", 1)
    if role == "cron":
        return rng.choice(
            [
                f"heartbeat from {domain} {rng.choice(JOBS)} job",
                f"Job {domain}.{rng.choice(JOBS)} finished in {ms} ms",
            ]
        )
    if role == "worker":
        return rng.choice(
            [
                f"Processed job {domain}.{rng.choice(JOBS)} {n} in {ms} ms",
                f"Consumed {rng.randint(1, 500)} messages from {domain}-events",
                f"Cache miss for key {domain}:{n}",
            ]
        )
    return rng.choice(
        [
            f"GET /api/{domain}/{n} {status} in {ms} ms",
            f"POST /api/{domain}/{n}/items {status} in {ms} ms",
            f"User {n} signed in from {rng.choice(REGIONS)}",
            f"Indexed {rng.randint(1, 500)} documents in {ms} ms",
        ]
    )


def make_event(rng: random.Random, when: datetime) -> Event:
    """One event of the mix, stamped `when`."""
    app = rng.choices(APPS, APP_WEIGHTS)[0]
    level = rng.choices(LEVELS, LEVEL_WEIGHTS)[0]
    n, ms = rng.randint(1000, 999_999), rng.randint(2, 4000)
    status = rng.choice([200, 200, 200, 201, 204, 301, 400, 404])
    attributes: dict[str, Any] = {"region": rng.choice(REGIONS), "version": rng.choice(VERSIONS)}
    if level in ("error", "critical"):
        status = rng.choice([500, 502, 503])
        message = _error_text(rng, app, n, ms)
        attributes["error_code"] = rng.choice(ERROR_CODES)
    elif level == "warning":
        message = _warning_text(rng, app, n, ms)
    else:
        message = _routine_text(rng, app, n, ms, status)
    attributes.update(status=status, duration_ms=ms)
    attributes["env"] = "staging" if rng.random() < 0.1 else "production"
    if rng.random() < 0.5:
        attributes["customer_tier"] = rng.choice(TIERS)
    if rng.random() < 0.2:
        attributes["retry"] = rng.random() < 0.3
    if rng.random() < 0.3:
        attributes["trace_id"] = f"{rng.getrandbits(64):016x}"
    return {
        "timestamp": when.isoformat().replace("+00:00", "Z"),
        "source": rng.choice(HOSTS[app]),
        "app": app,
        "level": level,
        "message": message,
        "attributes": attributes,
    }


def make_events(count: int, seed: int = 7, now: float | None = None) -> list[Event]:
    """`count` events of the mix, stamped within the few seconds before `now` (as senders'
    clocks and buffers do)."""
    rng = random.Random(seed)
    now = datetime.now(UTC).timestamp() if now is None else now
    return [
        make_event(rng, datetime.fromtimestamp(now - rng.uniform(0, 5), UTC)) for _ in range(count)
    ]


def make_batches(count: int, size: int, seed: int = 7) -> list[bytes]:
    """`count` pre-serialised batches of `size` events of the mix, stamped now."""
    events = make_events(count * size, seed)
    return [orjson.dumps(events[i * size : (i + 1) * size]) for i in range(count)]


# -- The alerts ---------------------------------------------------------------------------

ERROR, WARNING, CRITICAL = Level.ERROR, Level.WARNING, Level.CRITICAL
FIVE_XX = r"\s5\d\d in \d+ ms$"


def global_specs() -> list[Spec]:
    """The organization-wide alerts every count starts with."""
    return [
        {"name": "critical anywhere", "match_level": CRITICAL},
        {"name": "payment failures", "match_message": "payment failed"},
        {
            "name": "deadlocks anywhere",
            "match_message": r"(?i)deadlock|lock wait timeout",
            "match_message_regex": True,
        },
        {
            "name": "eu-west-1 errors",
            "match_attribute": "region",
            "match_attribute_value": "eu-west-1",
            "match_level": ERROR,
        },
        {"name": "every event", "window_minutes": 1},
        {"name": "out of memory anywhere", "match_message": "out of memory", "window_minutes": 15},
        {"name": "certificates expiring", "window_minutes": 60, "match_message_regex": True,
         "match_message": r"^Certificate for \w+ expires in [1-3] days"},
        {"name": "staging criticals", "match_attribute": "env", "match_attribute_value": "staging",
         "match_level": CRITICAL},
        {"name": "errors per host", "match_level": ERROR, "group_by": GroupBy.SOURCE},
        {"name": "job heartbeat missing per host", "match_message": "heartbeat from",
         "kind": ConditionKind.ABSENCE, "threshold": 1, "window_minutes": 10,
         "group_by": GroupBy.SOURCE},
    ]  # fmt: skip


# Each rule set for one app: (what it is called, Alert fields). `a` is the app, `h` one of
# its hosts, `d` its domain, `r` the random source for the rest.
Template = Callable[[str, str, str, random.Random], tuple[str, Spec]]


def _t(label: str, **fields: Any) -> Template:
    def make(a: str, h: str, d: str, r: random.Random) -> tuple[str, Spec]:
        # Drawn once, so that the name and the rules speak of the same dependency, etc.
        values = {
            "app": a,
            "host": h,
            "domain": d,
            "dep": r.choice(DEPENDENCIES),
            "table": r.choice(TABLES),
            "job": r.choice(JOBS),
            "region": r.choice(REGIONS),
            "status": r.choice([500, 502, 503]),
            "code": r.choice(ERROR_CODES),
            "version": r.choice(VERSIONS),
        }
        spec = {k: v.format(**values) if isinstance(v, str) else v for k, v in fields.items()}
        return label.format(**values), spec

    return make


APP, SRC = "{app}", "{host}"
TEMPLATES: list[tuple[int, Template]] = [  # (weight, template)
    (10, _t("{app}: errors", match_app=APP, match_level=ERROR)),
    (4, _t("{app}: criticals", match_app=APP, match_level=CRITICAL)),
    (6, _t("{app}: timeouts to {dep}", match_app=APP, match_message="timeout talking to {dep}")),
    (5, _t("{app}: 5xx", match_app=APP, match_message=FIVE_XX, match_message_regex=True)),
    (5, _t("{app}: status {status}", match_app=APP, match_attribute="status",
           match_attribute_value="{status}")),
    (6, _t("{host}: warnings", match_source=SRC, match_level=WARNING)),
    (4, _t("{app}: enterprise customers", match_app=APP, match_attribute="customer_tier",
           match_attribute_value="enterprise", match_level=WARNING)),
    (5, _t("{app}: errors in {region}", match_app=APP, match_attribute="region",
           match_attribute_value="{region}", match_level=ERROR)),
    (3, _t("{app}: deadlocks", match_app=APP, match_message=r"(?i)deadlock|lock wait timeout",
           match_message_regex=True)),
    (3, _t("{app}: out of memory", match_app=APP, match_message="out of memory")),
    (4, _t("{app}: slow queries on {table}", match_app=APP,
           match_message=r"^Slow query took [1-9]\d{{3}} ms on {table}\b",
           match_message_regex=True, window_minutes=10)),
    (3, _t("{app}: retries exhausted", match_app=APP,
           match_message=r"^Retrying job \d+ \(attempt [7-9]\)", match_message_regex=True)),
    (3, _t("{host}: anything", match_source=SRC, window_minutes=60)),
    (4, _t("{app}: {code}", match_app=APP, match_attribute="error_code",
           match_attribute_value="{code}")),
    (1, _t("{app}: any event", match_app=APP, window_minutes=1)),
    (4, _t("{app} on {host}: resets from {dep}", match_app=APP, match_source=SRC,
           match_message="connection reset by peer while reading from {dep}")),
    (3, _t("{app}: staging errors", match_app=APP, match_attribute="env",
           match_attribute_value="staging", match_level=ERROR)),
    (3, _t("{app}: {version} warnings", match_app=APP, match_attribute="version",
           match_attribute_value="{version}", match_level=WARNING)),
    (3, _t("{app}: retried {dep} calls", match_app=APP, match_message="{dep}",
           match_attribute="retry", match_attribute_value="true")),
    (2, _t("{app}: disk nearly full", match_app=APP, match_message=r"disk usage at 9\d%",
           match_message_regex=True, window_minutes=15)),
    (2, _t("{app}: rate limited by {dep}", match_app=APP, match_level=WARNING,
           match_message=r"^Rate limited by {dep}; backing off [1-3]\d s$",
           match_message_regex=True)),
    (2, _t("{app}: {job} heartbeat stopped", kind=ConditionKind.ABSENCE, match_app=APP,
           match_message="heartbeat from {domain} {job} job", threshold=1)),
    (2, _t("{app}: silent", kind=ConditionKind.ABSENCE, match_app=APP, threshold=1,
           window_minutes=10)),
]  # fmt: skip


def _app_order() -> list[str]:
    """The apps in the order app-scoped alerts are spread over them: every app gets one
    before any gets a second."""
    order = list(APPS)
    random.Random(5).shuffle(order)
    return order


APP_ORDER = _app_order()


def app_spec(index: int) -> Spec:
    """The `index`-th app-scoped alert (0-based), the same whatever the count."""
    rng = random.Random(f"alert-{index}")
    app = APP_ORDER[index % len(APP_ORDER)]
    host = rng.choice(HOSTS[app])
    weights, templates = zip(*TEMPLATES, strict=True)
    label, spec = rng.choices(templates, weights)[0](app, host, app.rsplit("-", 1)[0], rng)
    return {"name": f"{label} #{index + 1}", **spec}


def alert_specs(count: int) -> list[Spec]:
    """`count` alerts of the mix (the globals first, then app-scoped ones); the first n for
    any larger count are the same. Thresholds and targets are the bench's to set."""
    specs = global_specs()[:count]
    specs += [app_spec(i) for i in range(count - len(specs))]
    return specs


# -- Which alerts an event meets -----------------------------------------------------------


def meets(spec: Spec, event: Event) -> bool:
    """Whether `event` meets every rule of `spec` (an alert with no rules counts all)."""
    if spec.get("match_app") and event.get("app") != spec["match_app"]:
        return False
    if spec.get("match_source") and event.get("source") != spec["match_source"]:
        return False
    level = spec.get("match_level")
    if level is not None and LEVEL_RANKS[event.get("level", "info")] < level:
        return False
    text = spec.get("match_message")
    message = event.get("message", "")
    if text and spec.get("match_message_regex"):
        if re2.search(text, message) is None:
            return False
    elif text and text.casefold() not in message.casefold():
        return False
    key = spec.get("match_attribute")
    attributes = event.get("attributes", {})
    wanted = spec.get("match_attribute_value", "")
    return not key or (key in attributes and attribute_text(attributes[key]) == wanted)


@dataclass(frozen=True)
class Index:
    """Specs by the app or host they are limited to, to find an event's candidates fast."""

    by_app: dict[str, list[int]]
    by_host: dict[str, list[int]]
    anywhere: list[int]

    @classmethod
    def of(cls, specs: Sequence[Spec]) -> Index:
        by_app: dict[str, list[int]] = {}
        by_host: dict[str, list[int]] = {}
        anywhere: list[int] = []
        for i, spec in enumerate(specs):
            if spec.get("match_app"):
                by_app.setdefault(spec["match_app"], []).append(i)
            elif spec.get("match_source"):
                by_host.setdefault(spec["match_source"], []).append(i)
            else:
                anywhere.append(i)
        return cls(by_app, by_host, anywhere)

    def candidates(self, event: Event) -> list[int]:
        """The specs whose app and host rules let the event through."""
        return (
            self.by_app.get(event.get("app", ""), [])
            + self.by_host.get(event.get("source", ""), [])
            + self.anywhere
        )


def matching(specs: Sequence[Spec], events: Iterable[Event]) -> list[list[int]]:
    """For each event, the indexes of the specs it meets."""
    index = Index.of(specs)
    return [[i for i in index.candidates(e) if meets(specs[i], e)] for e in events]


def describe_mix(specs: Sequence[Spec], events: Sequence[Event]) -> dict[str, Any]:
    """How the mix looks: rule kinds among the specs, how many of them each event meets."""
    matched = [len(m) for m in matching(specs, events)]
    ordered = sorted(matched)
    return {
        "specs": len(specs),
        "apps_watched": len({s["match_app"] for s in specs if s.get("match_app")}),
        "absence": sum(s.get("kind") == ConditionKind.ABSENCE for s in specs),
        "regex": sum(bool(s.get("match_message_regex")) for s in specs),
        "message_contains": sum(
            bool(s.get("match_message")) and not s.get("match_message_regex") for s in specs
        ),
        "attribute": sum(bool(s.get("match_attribute")) for s in specs),
        "combined": sum(rule_count(s) >= 2 for s in specs),
        "events_sampled": len(events),
        "matches_per_event_mean": round(sum(matched) / max(1, len(matched)), 2),
        "matches_per_event_p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        if ordered
        else 0,
        "matches_per_event_max": max(matched, default=0),
    }


def rule_count(spec: Spec) -> int:
    """How many rules the spec sets (a message rule counts once, regex or not)."""
    keys = ("match_app", "match_source", "match_message", "match_attribute")
    return sum(bool(spec.get(k)) for k in keys) + (spec.get("match_level") is not None)
