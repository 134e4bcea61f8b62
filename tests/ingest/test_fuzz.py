"""The ingest API fuzzed: whatever arrives, the answer is a 2xx or 4xx with JSON in words."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.ingest.schema import MAX_DEPTH

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

finite = st.floats(allow_nan=False, allow_infinity=False)
# Any code point JSON can carry, NUL and lone surrogates included (Hypothesis leaves
# surrogates out by default; PostgreSQL refuses NUL).
characters = st.characters(exclude_categories=()) | st.sampled_from(
    ["\x00", "\ud800", "\udfff", "\ufeff"]
)


def texts(max_size: int) -> st.SearchStrategy[str]:
    return st.text(characters, max_size=max_size)


scalars = st.none() | st.booleans() | st.integers() | finite | texts(40)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts(10), inner, max_size=4),
    max_leaves=12,
)
# Values that look nearly right: the edges of each field's type.
timestamps = (
    st.datetimes().map(lambda d: d.isoformat())
    | st.integers(min_value=-(10**15), max_value=10**15)
    | finite
    | texts(30)
    | json_values
)
levels = st.sampled_from(["error", "WARN", "fatal", "", " info ", "loud"]) | json_values
events = st.fixed_dictionaries(
    {},
    optional={
        "timestamp": timestamps,
        "source": texts(300) | json_values,
        "host": texts(20) | json_values,
        "app": texts(220) | json_values,
        "level": levels,
        "message": texts(500) | json_values,
        "attributes": st.dictionaries(texts(10), json_values, max_size=5) | json_values,
        "surprise": json_values,
    },
)
batches = (
    st.lists(events | json_values, max_size=20)
    | st.fixed_dictionaries({"events": st.lists(events, max_size=5)})
    | json_values
)


@pytest.fixture
def everything_alert(org, make_service) -> Alert:
    """An alert that fires on any event, so that accepted events run the whole path: counted,
    kept among the recent events, and written into a trigger for PagerDuty."""
    alert = Alert.objects.create(organization=org, name="Everything", threshold=1)
    alert.targets.add(make_service())
    return alert


def assert_answered_in_words(response) -> None:
    # Each example starts quiet, so that each one that is accepted opens a firing.
    Firing.objects.filter(cleared_at__isnull=True).update(cleared_at=timezone.now())
    assert response.status_code < 500, response.content[:500]
    assert response.status_code in (202, 400, 413), response.content[:500]
    body = response.json()
    assert "message" in body or "accepted" in body


@FUZZ
@given(batch=batches)
def test_any_json_gets_an_answer_in_words(post_events, everything_alert, batch):
    assert_answered_in_words(post_events(json.dumps(batch)))


@FUZZ
@given(body=st.binary(max_size=300))
def test_any_bytes_get_an_answer_in_words(post_events, everything_alert, body):
    assert_answered_in_words(post_events(body))


@FUZZ
@given(batch=st.lists(events, min_size=1, max_size=20))
def test_every_event_is_either_accepted_or_refused_by_index(post_events, everything_alert, batch):
    response = post_events(json.dumps(batch))
    assert_answered_in_words(response)
    body = response.json()
    assert body["accepted"] + body["rejected"] == len(batch)
    refused = {error["index"] for error in body["errors"]}
    assert len(refused) == body["rejected"]
    assert refused <= set(range(len(batch)))


def nested(levels: int, objects_every: int) -> str:
    """A JSON value `levels` deep: an object every `objects_every` levels, else an array."""
    kinds = ["{" if level % objects_every == 0 else "[" for level in range(levels)]
    opening = "".join('{"k":' if kind == "{" else "[" for kind in kinds)
    closing = "".join("}" if kind == "{" else "]" for kind in reversed(kinds))
    return opening + "0" + closing


@FUZZ
@given(
    depths=st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=6),
    objects_every=st.integers(min_value=1, max_value=4),
)
def test_any_nesting_refuses_only_the_events_nested_too_deep(
    post_events, everything_alert, depths, objects_every
):
    """An event is one level; its `context` adds `depth` more."""
    events = [f'{{"message": "m", "context": {nested(d, objects_every)}}}' for d in depths]
    response = post_events("[" + ",".join(events) + "]")
    assert_answered_in_words(response)
    body = response.json()
    too_deep = [index for index, depth in enumerate(depths) if depth + 1 > MAX_DEPTH]
    assert [error["index"] for error in body["errors"]] == too_deep
    assert body["accepted"] == len(depths) - len(too_deep)


# -- The clean body's fast path ---------------------------------------------------------------

storable = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
# orjson's integers: 64 bits, signed or not (those from 2**63 are kept as text).
clean_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | finite
    | st.text(storable, max_size=40)
)
clean_values = st.recursive(
    clean_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(storable, max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
# Times near now in the forms senders use, and the edges: other offsets, too old or ahead,
# impossible dates, numbers, other shapes of text.
recent_times = st.integers(-2 * 86400 * 10**6, 3600 * 10**6).map(
    lambda us: datetime.now(UTC) + timedelta(microseconds=us)
)
clean_timestamps = (
    st.builds(
        lambda moment, form: form(moment),
        recent_times,
        st.sampled_from(
            [
                lambda m: m.isoformat(),
                lambda m: m.isoformat().replace("+00:00", "Z"),
                lambda m: m.replace(tzinfo=None).isoformat(timespec="seconds"),
                lambda m: m.isoformat(timespec="milliseconds").replace("+00:00", "-03:30"),
                lambda m: m.isoformat(sep=" "),
                lambda m: str(int(m.timestamp())),
            ]
        ),
    )
    | st.sampled_from(
        [
            "2026-02-30T10:00:00Z",
            "2026-11-29T24:00:00Z",
            "2026-11-29T10:00:00+24:00",
            "2026-11-29T10:00:00.1234567Z",
            "2026-11-29",
            "soon",
            "",
        ]
    )
    | st.integers(0, 2 * 10**12)
    | finite
    | st.none()
)
limited_text = st.text(storable, max_size=20) | st.text("ab", min_size=199, max_size=257)
clean_events = st.fixed_dictionaries(
    {},
    optional={
        "timestamp": clean_timestamps,
        "message": st.text(storable, max_size=60) | clean_scalars,
        "source": limited_text | clean_scalars,
        "host": limited_text,
        "app": limited_text | clean_scalars,
        "level": st.sampled_from(["info", "ERROR", " warn ", "bogus"]) | clean_scalars,
        "attributes": st.dictionaries(st.text(storable, max_size=8), clean_values, max_size=4)
        | clean_values,
        "extra": clean_values,
        "region": clean_scalars,
        "context": st.integers(MAX_DEPTH - 3, MAX_DEPTH + 3).map(lambda depth: nested_value(depth)),
    },
)


def nested_value(depth: int) -> object:
    value: object = 0
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@FUZZ
@given(st.lists(clean_events, min_size=1, max_size=5))
@example([{"attributes": {"big": 2**64 - 1, "n": 2**63 - 1}, "huge": 2**63, "x": [1]}])
@example([{"level": "Error", "message": "é\u2028", "timestamp": "2000-01-01T00:00:00"}])
@example([{"timestamp": "2026-11-29T10:00:00.5+05:30", "app": "a" * 201, "context": [[[]]]}])
@example([{"message": "deep", "context": nested_value(MAX_DEPTH)}])
@example([{"source": "s" * 256}, {"host": "h" * 256}, {"app": "a" * 201}, {"app": "a" * 200}])
def test_a_clean_body_is_judged_as_the_careful_path_judges_it(events):
    """A body orjson parses with no escaped NUL skips repairing each string, and its plain
    events skip the model: what it keeps and refuses, and the words, must be exactly the
    careful path's (the model's, repairing every string)."""
    from alerts_saas.ingest.batch import judge
    from alerts_saas.ingest.parsing import Raw, parse

    raw = parse(json.dumps(events).encode())
    assert raw.clean
    now = timezone.now()
    fast, careful = judge(raw, now), judge(Raw(raw.items, clean=False), now)
    assert fast.events == careful.events
    assert fast.errors == careful.errors and fast.notes == careful.notes


def test_an_escaped_nul_or_a_lone_surrogate_takes_the_careful_path():
    from alerts_saas.ingest.parsing import parse

    assert not parse(b'[{"message": "a\\u0000b"}]').clean
    assert not parse(b'[{"message": "a\\ud800b"}]').clean
    assert parse(b'[{"message": "a\\u00e9b"}]').clean
