"""An event as a trigger's custom details and the alert page show it (`Event.summary`,
kept, then `shown`): small and bounded, whatever the sender sent."""

from __future__ import annotations

import orjson

from alerts_saas.alerts.conditions import (
    SUMMARY_ATTRIBUTES,
    SUMMARY_MESSAGE_CHARS,
    SUMMARY_TEXT_CHARS,
    SUMMARY_WHOLE_BYTES,
    Event,
)
from alerts_saas.alerts.conditions import shown as shown_kept
from alerts_saas.alerts.models import Level


def shown(event: Event) -> dict[str, object]:
    return shown_kept(orjson.loads(event.summary()))


def test_a_usual_event_is_shown_whole():
    attributes = {"region": "eu-west-1", "status": 503, "retry": True, "ratio": 0.5, "x": None}
    event = Event(
        timestamp=1_796_000_000.25,
        message="Timeout talking to postgres",
        source="web-1",
        app="checkout",
        level=Level.ERROR,
        attributes=attributes,
    )
    assert shown(event) == {
        "timestamp": "2026-11-30T00:53:20.250000+00:00",
        "level": "error",
        "message": "Timeout talking to postgres",
        "source": "web-1",
        "app": "checkout",
        "attributes": attributes,
    }


def test_a_large_event_is_cut_names_texts_and_message_and_only_its_first_attributes_kept():
    long_name, long_text = "k" * 150, "v" * 150
    event = Event(
        timestamp=1_796_000_000.0,
        message="m" * 900,
        attributes={long_name: "short", "note": long_text, "count": 7},
    )
    summary = shown(event)
    assert summary["message"] == "m" * SUMMARY_MESSAGE_CHARS + "…"
    assert summary["attributes"] == {
        "k" * SUMMARY_TEXT_CHARS: "short",
        "note": "v" * SUMMARY_TEXT_CHARS,
        "count": 7,
    }
    assert "source" not in summary and "app" not in summary

    many = {f"attribute-{n:03}": "x" * 20 for n in range(SUMMARY_ATTRIBUTES + 40)}
    summary = shown(Event(timestamp=1_796_000_000.0, attributes=many))
    assert summary["attributes"] == {
        f"attribute-{n:03}": "x" * 20 for n in range(SUMMARY_ATTRIBUTES)
    }


def test_a_small_event_is_kept_whole_even_with_a_long_text():
    """Up to SUMMARY_WHOLE_BYTES nothing is cut: a 150-character text fits in full."""
    attributes = {"query": "q" * 150, **{f"a{n}": n for n in range(SUMMARY_ATTRIBUTES + 2)}}
    event = Event(timestamp=1_796_000_000.5, message="m" * 400, attributes=attributes)
    assert len(event.summary()) <= SUMMARY_WHOLE_BYTES
    summary = shown(event)
    assert summary["message"] == "m" * 400
    assert summary["attributes"] == attributes


def test_what_is_kept_stays_bounded_whatever_was_sent():
    huge = {"k" * 5000 + str(n): "v" * 5000 for n in range(100)}
    event = Event(timestamp=1_796_000_000.0, message="m" * 20_000, attributes=huge)
    bound = SUMMARY_MESSAGE_CHARS + SUMMARY_ATTRIBUTES * (2 * SUMMARY_TEXT_CHARS + 8) + 200
    assert len(event.summary()) < bound


def test_an_event_kept_as_an_object_before_is_shown_as_it_was():
    """Latest events written before the array form (they live for a window) still show."""
    old = {"timestamp": "2026-11-30T00:53:20+00:00", "level": "error", "message": "x"}
    assert shown_kept(old) == old


def test_texts_of_exactly_the_limit_are_kept_whole():
    edge = {"n" * SUMMARY_TEXT_CHARS: "t" * SUMMARY_TEXT_CHARS}
    assert shown(Event(timestamp=1_796_000_000.0, attributes=edge))["attributes"] == edge
