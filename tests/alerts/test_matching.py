"""The matching index (matching.py) finds exactly the alerts whose rules an event meets, as
checking every alert would, while asking only the alerts that can match."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts_saas.alerts import evaluation, recording
from alerts_saas.alerts.conditions import Event, compile_matcher
from alerts_saas.alerts.matching import MatchIndex
from alerts_saas.alerts.models import Alert, Level

APPS = ["", "checkout", "search", "billing"]
SOURCES = ["", "web-1", "web-2", "db-1"]
WORDS = [
    "timeout",
    "Timeout",
    "disk full",
    "ß",
    "SS",
    "payment declined",
    "ok",
    "[a]",
    "\u212a",
    "K",
    "\u017ftop",
    "Stop",
]
REGEXES = [r"time(out|d out)", r"^disk", r"\d{3}", r"declined$", r"(?i)ERROR", r"a+b"]
LEVELS = [None, *Level.values]


@st.composite
def alerts(draw: st.DrawFn) -> Alert:
    message_kind = draw(st.sampled_from(["none", "contains", "regex"]))
    message = ""
    if message_kind == "contains":
        message = draw(st.sampled_from(WORDS))
    elif message_kind == "regex":
        message = draw(st.sampled_from(REGEXES))
    attribute = draw(st.sampled_from(["", "region", "zone"]))
    return Alert(
        match_app=draw(st.sampled_from(APPS)),
        match_source=draw(st.sampled_from(SOURCES)),
        match_level=draw(st.sampled_from(LEVELS)),
        match_message=message,
        match_message_regex=message_kind == "regex",
        match_attribute=attribute,
        match_attribute_value=draw(st.sampled_from(["eu", "us", "1", "true", "null", ""])),
    )


@st.composite
def events(draw: st.DrawFn) -> Event:
    words = draw(st.lists(st.sampled_from([*WORDS, "error 500", "disk", "aab", "timed out"])))
    attributes = draw(
        st.dictionaries(
            st.sampled_from(["region", "host", "zone"]),
            st.sampled_from(["eu", "us", "", 1, 1.0, True, None]),
            max_size=3,
        )
    )
    return Event(
        timestamp=time.time(),
        message=" ".join(words),
        app=draw(st.sampled_from(APPS)),
        source=draw(st.sampled_from(SOURCES)),
        level=draw(st.sampled_from(Level.values)),
        attributes=attributes,
    )


@settings(max_examples=400, deadline=None)
@given(rules=st.lists(alerts(), max_size=25), batch=st.lists(events(), min_size=1, max_size=8))
def test_the_index_matches_exactly_what_checking_every_alert_matches(rules, batch):
    index = MatchIndex((alert, i) for i, alert in enumerate(rules))
    brute = [compile_matcher(alert) for alert in rules]
    for event in batch:
        expected = [i for i, matches in enumerate(brute) if matches(event)]
        assert sorted(index.matches(event)) == expected


def test_an_event_asks_only_the_alerts_that_can_match_it():
    """2,000 alerts on 400 apps: an event of one app asks a handful, not 2,000."""
    rules = [
        Alert(match_app=f"app-{i % 400}", match_message=f"word{i}", match_level=Level.ERROR)
        for i in range(1_800)
    ]
    rules += [Alert(match_message=f"needle-{i}") for i in range(150)]
    rules += [Alert(match_message=rf"code-{i}\d+", match_message_regex=True) for i in range(50)]
    index = MatchIndex((alert, i) for i, alert in enumerate(rules))
    event = Event(timestamp=time.time(), app="app-7", message="word7 failed", level=Level.ERROR)
    asked = index.candidates(event)
    assert len(asked) <= 10
    assert index.matches(event) == [7]
    hit = Event(timestamp=time.time(), app="other", message="needle-3 and code-12345")
    # needle-3 (1,800 + 3); code-1\d+ and code-12\d+ (1,950 + 1 and + 12)
    assert sorted(index.matches(hit)) == [1_803, 1_951, 1_962]


def test_an_apps_alerts_on_an_attribute_are_asked_only_with_that_value():
    """120 alerts of one app, each on its own status code: an event of that app asks the
    one for its status, whatever type the sender gave the value."""
    rules = [
        Alert(match_app="api", match_attribute="status", match_attribute_value=str(500 + i))
        for i in range(120)
    ]
    rules.append(Alert(match_app="api", match_attribute="status", match_attribute_value="true"))
    index = MatchIndex((alert, i) for i, alert in enumerate(rules))
    for value, expected in [(503, [3]), ("503", [3]), (503.0, [3]), (True, [120]), (404, [])]:
        event = Event(timestamp=time.time(), app="api", attributes={"status": value})
        assert index.candidates(event) == expected
        assert index.matches(event) == expected
    assert index.matches(Event(timestamp=time.time(), app="api")) == []


@pytest.mark.django_db
def test_an_edit_reaches_matching_at_once(org):
    """A new alert, an edited rule: the next batch is matched against them."""
    alert = Alert.objects.create(organization=org, name="Errors", threshold=100, match_app="a")
    assert len(evaluation.compiled_alerts(org.pk)) == 1
    alert.match_app = "b"
    alert.save()
    Alert.objects.create(organization=org, name="Slow", threshold=100, match_app="c")
    index = evaluation.compiled_alerts(org.pk)
    assert len(index) == 2
    matched = index.matches(Event(timestamp=time.time(), app="b"))
    assert [c.counter.alert_id for c in matched] == [alert.pk]


@pytest.mark.django_db
def test_a_change_made_by_another_process_reaches_matching_within_a_second(org):
    """Another process's save sets the change token; this process reads it at most every
    TOKEN_TRUSTED_SECONDS (its own saves, at once: the test above)."""
    from alerts_saas.alerts import changes

    alert = Alert.objects.create(organization=org, name="Errors", threshold=100)
    assert len(evaluation.compiled_alerts(org.pk)) == 1
    Alert.objects.filter(pk=alert.pk).update(enabled=False)  # no signal here, as elsewhere
    changes._set_token(org.pk)  # what the other process's save does
    time.sleep(recording.TOKEN_TRUSTED_SECONDS + 0.05)
    assert len(evaluation.compiled_alerts(org.pk)) == 0


@pytest.mark.django_db
def test_a_change_that_left_no_token_is_caught_by_the_database_check(org, settings):
    """A bulk update sends no signal: the database check catches it within its interval."""
    settings.ALERTS_RECHECK_SECONDS = 1
    alert = Alert.objects.create(organization=org, name="Errors", threshold=100)
    assert len(evaluation.compiled_alerts(org.pk)) == 1
    Alert.objects.filter(pk=alert.pk).update(enabled=False, updated_at=timezone.now())
    assert len(evaluation.compiled_alerts(org.pk)) == 1  # compared less than a second ago
    time.sleep(1.05)
    assert len(evaluation.compiled_alerts(org.pk)) == 0
